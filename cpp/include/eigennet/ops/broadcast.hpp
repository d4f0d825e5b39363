// Ops that repeat a tensor's elements over a larger shape: broadcast_to, tile, repeat; and the
// broadcasting rule that element-wise ops share.
#pragma once

#include <string>

#include "eigennet/ops/op.hpp"
#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

// NumPy broadcasting of full shapes. The batch axis stays axis 0: a batched operand must have
// the result's rank, and every other operand must broadcast against the batch (size 1 there,
// or fewer axes). Throws std::invalid_argument "<name>: cannot broadcast (None, 3) and (4, 3)".
Shape broadcast_full_shapes(const std::string& name, const std::vector<Shape>& shapes);

// An input without the batch axis broadcasts to a batched target when a batched
// `batch_reference` is given (a second input read for its batch size only, no gradient): the
// constant causal mask of a traced call() tiled to the batch, as Keras programs write it.
template <class T>
class BroadcastToOp : public Op<T> {
 public:
  BroadcastToOp(const Shape& input, const Shape& target);
  BroadcastToOp(const Shape& input, const Shape& target, const Shape& batch_reference);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<BroadcastToOp>(*this);
  }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;
};

// NumPy tile: reps shorter than the rank are padded with leading 1s (and the shape when longer).
template <class T>
class TileOp : public Op<T> {
 public:
  TileOp(const Shape& input, const Shape& reps);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<TileOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  // The output seen as (r0, d0, r1, d1, ...) with the input's strides 0 on the r axes.
  void view(Dims& dims, Dims& in_strides) const;
  Shape reps_;
};

// NumPy repeat along one axis: every element `repeats` times in a row.
template <class T>
class RepeatOp : public Op<T> {
 public:
  RepeatOp(const Shape& input, Index repeats, Index axis);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<RepeatOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  void view(Dims& dims, Dims& in_strides) const;
  Index repeats_, axis_;
};

}  // namespace eigennet
