// Sorting along the last axis: the positions of the values in order (argsort), or of the k
// largest (top_k). Sorted values are take_along_axis of these positions, so their gradient is
// that op's scatter.
#pragma once

#include "eigennet/ops/op.hpp"

namespace eigennet {

// The positions (floats holding integers) of the first k values of each row of the last axis
// in ascending order, or descending when `descending` (top_k). NaN counts as the largest
// value (NumPy's and torch's order); equal values keep their order (a stable sort). Output
// shape: the input's with its last axis k. No gradient (positions are constant).
template <class T>
class ArgSortOp : public Op<T> {
 public:
  ArgSortOp(const Shape& input, Index k, bool descending);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<ArgSortOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index k_;
  bool descending_;
};

}  // namespace eigennet
