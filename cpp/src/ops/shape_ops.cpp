#include "eigennet/ops/shape_ops.hpp"

#include <algorithm>
#include <stdexcept>

namespace eigennet {

namespace {
Shape checked_reshape(const Shape& input, const Shape& target) {
  const bool batched = is_batched(input);
  if (batched != is_batched(target))
    throw std::invalid_argument("reshape: cannot reshape " + full_shape_string(input) + " to " +
                                full_shape_string(target) +
                                " (the batch axis must stay the first axis)");
  if (element_count(row_shape(input)) * (batched ? 1 : row_count(input)) !=
      element_count(row_shape(target)) * (batched ? 1 : row_count(target)))
    throw std::invalid_argument("reshape: cannot reshape " + full_shape_string(input) + " to " +
                                full_shape_string(target) + " (different sizes)");
  return target;
}
}  // namespace

template <class T>
ReshapeOp<T>::ReshapeOp(const Shape& input, const Shape& target)
    : Op<T>("reshape", {input}, checked_reshape(input, target)) {}

template <class T>
void ReshapeOp<T>::compute(const T* const* xs, T* y, bool) {
  std::copy_n(xs[0], element_count(this->out_shape()), y);
}

template <class T>
void ReshapeOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[0]) std::copy_n(grad_y, element_count(this->out_shape()), grad_xs[0]);
}

template class ReshapeOp<float>;
template class ReshapeOp<double>;

}  // namespace eigennet
