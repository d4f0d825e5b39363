// Ops that read elements at positions given by a tensor of indices: take, take_along_axis,
// one_hot. Indices are floats holding integers; negative ones count from the end (NumPy); an
// index out of range throws std::out_of_range when the op runs.
#pragma once

#include "eigennet/ops/op.hpp"
#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

// take(x, indices, axis): x.shape[:axis] + indices.shape + x.shape[axis + 1:]. The gradient is
// scatter-added into x; indices get none.
template <class T>
class TakeOp : public Op<T> {
 public:
  TakeOp(const Shape& x, const Shape& indices, Index axis);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<TakeOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index axis_;
};

// take_along_axis(x, indices, axis): indices has x's rank; the other axes broadcast (NumPy).
template <class T>
class TakeAlongAxisOp : public Op<T> {
 public:
  TakeAlongAxisOp(const Shape& x, const Shape& indices, Index axis);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<TakeAlongAxisOp>(*this);
  }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  StridedLoop<3> loop() const;  // over the output: (y, indices, x without the axis)
  Index axis_;
};

// one_hot(indices, num_classes): a new last axis; an index outside [0, num_classes) gives a
// row of zeros (as jax and TensorFlow). No gradient.
template <class T>
class OneHotOp : public Op<T> {
 public:
  OneHotOp(const Shape& input, Index num_classes);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<OneHotOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index classes_;
};

}  // namespace eigennet
