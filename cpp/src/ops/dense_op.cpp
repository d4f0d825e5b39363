#include "eigennet/ops/dense_op.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/layers/dense.hpp"

namespace eigennet {

namespace {
std::vector<Shape> operands(const Shape& x, const Shape& kernel, const Shape* bias) {
  std::vector<Shape> shapes{x, kernel};
  if (bias) shapes.push_back(*bias);
  return shapes;
}

Shape dense_shape(const Shape& x, const Shape& kernel, const Shape* bias, Index contracted) {
  const std::string what = "dense: " + full_shape_string(x) + " @ " + full_shape_string(kernel);
  const size_t c = contracted > 0 ? size_t(contracted) : 0;
  if (c < 1 || !is_batched(x) || x.size() < c + 1 || kernel.size() < c + 1 || is_batched(kernel))
    throw std::invalid_argument(what + ": needs a batched x of rank > " + std::to_string(c) +
                                " and a kernel of rank > " + std::to_string(c));
  if (!std::equal(x.end() - long(c), x.end(), kernel.begin()))
    throw std::invalid_argument(what + ": the inner sizes differ");
  const Shape free(kernel.begin() + long(c), kernel.end());
  if (bias && *bias != free)
    throw std::invalid_argument(what + ": the bias " + full_shape_string(*bias) +
                                " does not match the kernel's output axes");
  Shape out(x.begin(), x.end() - long(c));
  out.insert(out.end(), free.begin(), free.end());
  return out;
}

}  // namespace

template <class T>
DenseOp<T>::DenseOp(const Shape& x, const Shape& kernel, const Shape* bias, Activation activation,
                    Index contracted)
    : Op<T>("dense", operands(x, kernel, bias), dense_shape(x, kernel, bias, contracted)),
      in_(shape_size(Shape(kernel.begin(), kernel.begin() + long(contracted)))),
      units_(shape_size(Shape(kernel.begin() + long(contracted), kernel.end()))),
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
