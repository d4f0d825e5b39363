#include "eigennet/ops/dense_op.hpp"

#include <stdexcept>

#include "eigennet/layers/dense.hpp"

namespace eigennet {

namespace {
std::vector<Shape> operands(const Shape& x, const Shape& kernel, const Shape* bias) {
  std::vector<Shape> shapes{x, kernel};
  if (bias) shapes.push_back(*bias);
  return shapes;
}

Shape dense_shape(const Shape& x, const Shape& kernel, const Shape* bias) {
  const std::string what = "dense: " + full_shape_string(x) + " @ " + full_shape_string(kernel);
  if (!is_batched(x) || x.size() < 2 || kernel.size() != 2 || is_batched(kernel))
    throw std::invalid_argument(what + ": needs a batched x of rank >= 2 and a 2-D kernel");
  if (x.back() != kernel[0]) throw std::invalid_argument(what + ": the inner sizes differ");
  if (bias && (bias->size() != 1 || (*bias)[0] != kernel[1]))
    throw std::invalid_argument(what + ": the bias " + full_shape_string(*bias) +
                                " does not match the kernel's columns");
  Shape out = x;
  out.back() = kernel[1];
  return out;
}
}  // namespace

template <class T>
DenseOp<T>::DenseOp(const Shape& x, const Shape& kernel, const Shape* bias, Activation activation)
    : Op<T>("dense", operands(x, kernel, bias), dense_shape(x, kernel, bias)),
      in_(kernel[0]),
      units_(kernel[1]),
      bias_(bias != nullptr),
      activation_(activation) {}

template <class T>
void DenseOp<T>::compute(const T* const* xs, T* y, bool) {
  const Index rows = element_count(this->in_shape(0)) / in_;
  dense_forward<T>(ConstMatrixMap<T>(xs[0], rows, in_), xs[1], bias_ ? xs[2] : nullptr, units_,
                   activation_, MatrixMap<T>(y, rows, units_), preactivation_);
}

template <class T>
void DenseOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  const Index rows = element_count(this->in_shape(0)) / in_;
  dense_backward<T>(ConstMatrixMap<T>(xs[0], rows, in_), ConstMatrixMap<T>(y, rows, units_),
                    MatrixMap<T>(grad_y, rows, units_), xs[1], activation_, preactivation_,
                    grad_xs[1], bias_ ? grad_xs[2] : nullptr, grad_xs[0]);
}

template class DenseOp<float>;
template class DenseOp<double>;

}  // namespace eigennet
