// ModeSelectOp: the output of a custom layer whose call() computes something else in training
// than in inference (`if training: ...`). Its call is traced once per mode; this op passes on
// the training trace's tensor when the graph runs in training, the inference trace's
// otherwise, and sends the gradient to the one it passed on.
#pragma once

#include "eigennet/ops/op.hpp"

namespace eigennet {

template <class T>
class ModeSelectOp : public Op<T> {
 public:
  // Throws std::invalid_argument unless the two shapes are the same.
  ModeSelectOp(const Shape& training, const Shape& inference);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<ModeSelectOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  bool training_ = false;  // the mode of the last forward (backward follows it)
};

}  // namespace eigennet
