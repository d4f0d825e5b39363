#include "eigennet/ops/mode_select.hpp"

#include <algorithm>
#include <stdexcept>

namespace eigennet {

namespace {
Shape same_shape(const Shape& training, const Shape& inference) {
  if (training != inference)
    throw std::invalid_argument(
        "call() returns " + full_shape_string(training) + " in training but " +
        full_shape_string(inference) +
        " in inference: a layer's output shape must not depend on the mode");
  return training;
}
}  // namespace

template <class T>
ModeSelectOp<T>::ModeSelectOp(const Shape& training, const Shape& inference)
    : Op<T>("mode_select", {training, inference}, same_shape(training, inference)) {}

template <class T>
void ModeSelectOp<T>::compute(const T* const* xs, T* y, bool training) {
  training_ = training;
  std::copy_n(xs[training ? 0 : 1], element_count(this->out_shape()), y);
}

template <class T>
void ModeSelectOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  const Index n = element_count(this->out_shape());
  for (int i = 0; i < 2; ++i) {
    if (!grad_xs[i]) continue;
    if ((i == 0) == training_)
      std::copy_n(grad_y, n, grad_xs[i]);
    else
      std::fill_n(grad_xs[i], n, T(0));
  }
}

template class ModeSelectOp<float>;
template class ModeSelectOp<double>;

}  // namespace eigennet
