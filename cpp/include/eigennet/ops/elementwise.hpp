// Element-wise ops: one input (negative, exp, relu, ...), two broadcast inputs (add, maximum,
// less, ...), and where(condition, x, y). Booleans are 0/1 in the float dtype.
#pragma once

#include <string>

#include "eigennet/ops/op.hpp"
#include "eigennet/ops/strided_loop.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

enum class UnaryKind {
  Negative,
  Abs,
  Square,
  Sqrt,
  Rsqrt,
  Reciprocal,
  Exp,
  Log,
  Log1p,
  Expm1,
  Sin,
  Cos,
  Tanh,
  Sigmoid,
  Relu,
  Relu6,
  LeakyRelu,
  Elu,
  Selu,
  Gelu,
  GeluTanh,
  Silu,
  Softplus,
  Softsign,
  HardSigmoid,
  HardSilu,
  LogSigmoid,
  Erf,
  Sign,
  Floor,
  Ceil,
  Round,
  LogicalNot,
  IsNan,
  IsFinite,
  Identity,
  Clip,
  PowerScalar,
  Tan,
  Arcsin,
  Arccos,
  Arctan,
  Sinh,
  Cosh,
  Arcsinh,
  Arccosh,
  Arctanh,
  Log2,
  Log10,
  Exp2,
  Trunc
};

// kind names as in keras.ops (also tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh
// log2 log10 exp2 trunc); alpha and beta are the parameters of leaky_relu (negative
// slope), elu (alpha), clip (min, max) and power_scalar (x ** alpha).
template <class T>
class UnaryOp : public Op<T> {
 public:
  UnaryOp(const std::string& kind, const Shape& input, double alpha = 0, double beta = 0);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<UnaryOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  UnaryKind kind_;
  T alpha_, beta_;
};

enum class BinaryKind {
  Add,
  Subtract,
  Multiply,
  Divide,
  Power,
  Maximum,
  Minimum,
  FloorDivide,
  Mod,
  Equal,
  NotEqual,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  LogicalAnd,
  LogicalOr,
  LogicalXor,
  Arctan2
};

// NumPy broadcasting (broadcast_full_shapes); gradients are summed over broadcast axes.
// maximum/minimum split the gradient equally between tied inputs, as torch does.
template <class T>
class BinaryOp : public Op<T> {
 public:
  BinaryOp(const std::string& kind, const Shape& a, const Shape& b);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<BinaryOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  const StridedLoop<3>& loop();  // over the output: (y, a, b) strides, cached per batch size

  BinaryKind kind_;
  StridedLoop<3> loop_;
  Shape loop_shape_;
  Workspace<T> scratch_a_, scratch_b_;
};

// where(condition, x, y): x where condition is nonzero, else y; three-way broadcasting.
// Gradients flow to x and y, never to the condition.
template <class T>
class WhereOp : public Op<T> {
 public:
  WhereOp(const Shape& condition, const Shape& x, const Shape& y);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<WhereOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Workspace<T> scratch_;
};

}  // namespace eigennet
