// Ops that combine elements along axes: reductions (sum, max, var, argmax, ...), softmax and
// log_softmax along one axis, cumulative sum and product.
#pragma once

#include <string>

#include "eigennet/ops/op.hpp"
#include "eigennet/ops/strided_loop.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

enum class ReduceKind {
  Sum,
  Mean,
  Max,
  Min,
  Prod,
  Var,
  Std,
  LogSumExp,
  Norm,
  ArgMax,
  ArgMin,
  All,
  Any
};

// Reduces the axes (non-negative; empty = all axes), keeping them as size 1 when keepdims.
// Reducing axis 0 of a batched input gives a batchless result. var/std divide by the count
// (ddof 0, as Keras); norm is the L2 (Frobenius) norm over the axes; argmax/argmin take one
// axis (or all, flattened), give the first extremum's index as a float and no gradient, as
// all/any. max/min split the gradient equally between tied extrema (torch's amax/amin).
template <class T>
class ReduceOp : public Op<T> {
 public:
  ReduceOp(const std::string& kind, const Shape& input, const Shape& axes, bool keepdims);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<ReduceOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  // The input as a (kept, reduced) matrix: the input itself when the reduced axes are the
  // trailing ones, else gathered into scratch_.
  const T* as_matrix(const T* x, Index& kept, Index& reduced);
  void layout(Dims& dims, Dims& in_strides) const;  // (kept axes..., reduced axes...)

  ReduceKind kind_;
  std::vector<bool> reduced_;
  bool trailing_;
  Workspace<T> scratch_, grad_scratch_;
};

// softmax / log_softmax along one axis.
template <class T>
class SoftmaxOp : public Op<T> {
 public:
  SoftmaxOp(const std::string& kind, const Shape& input, Index axis);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<SoftmaxOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  bool log_;
  Index axis_;
  Workspace<T> scratch_;
};

// cumsum / cumprod along one axis.
template <class T>
class CumulativeOp : public Op<T> {
 public:
  CumulativeOp(const std::string& kind, const Shape& input, Index axis);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<CumulativeOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  bool prod_;
  Index axis_;
};

// (outer, n, inner) around one axis of a concrete shape.
void split_at_axis(const Shape& shape, Index axis, Index& outer, Index& n, Index& inner);

}  // namespace eigennet
