// Ops that move or select elements without arithmetic: reshape, ...
#pragma once

#include "eigennet/ops/op.hpp"

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

}  // namespace eigennet
