// Ops that move or select elements without arithmetic: reshape, transpose, concatenate, slice,
// pad, slice_update.
#pragma once

#include "eigennet/ops/op.hpp"
#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

// The same elements in another shape (row-major order kept). A batched input stays batched:
// both shapes then start with kBatch and the rest must hold as many elements.
template <class T>
class ReshapeOp : public Op<T> {
 public:
  ReshapeOp(const Shape& input, const Shape& target);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<ReshapeOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;
};

// Axes permuted; a batched input keeps its batch axis first (perm[0] == 0).
template <class T>
class TransposeOp : public Op<T> {
 public:
  TransposeOp(const Shape& input, const Shape& perm);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<TransposeOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  void view(Dims& dims, Dims& in_strides) const;  // over the output
  Shape perm_;
};

// Inputs joined along an axis: all batched (axis > 0) or all batchless.
template <class T>
class ConcatenateOp : public Op<T> {
 public:
  ConcatenateOp(const std::vector<Shape>& inputs, Index axis);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ConcatenateOp>(*this);
  }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index axis_;
};

// x[start:stop:step] on every axis (non-negative starts and stops, clamped to the axis as NumPy
// does; steps >= 1). A batched input's axis 0 must be the full range: start 0, step 1, stop -1
// (or any stop >= 2^31 - 1).
template <class T>
class SliceOp : public Op<T> {
 public:
  SliceOp(const Shape& input, const Shape& starts, const Shape& stops, const Shape& steps);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<SliceOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index view(Dims& dims, Dims& in_strides) const;  // returns the first element's offset
  Shape starts_, steps_;
};

// Constant padding: pad_width holds (before, after) per axis; the batch axis is not padded.
template <class T>
class PadOp : public Op<T> {
 public:
  PadOp(const Shape& input, const std::vector<std::vector<Index>>& pad_width, double value);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<PadOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index region(Dims& out_strides) const;  // where the input sits in the output
  Shape before_;
  T value_;
};

// input with `update` written at `start` (update fits inside). A batched input needs a batched
// update and start[0] == 0.
template <class T>
class SliceUpdateOp : public Op<T> {
 public:
  SliceUpdateOp(const Shape& input, const Shape& update, const Shape& start);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<SliceUpdateOp>(*this);
  }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index region(Dims& strides) const;  // the update's place in the input: offset, strides
  Shape start_;
};

}  // namespace eigennet
