#include "eigennet/layers/sources.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/layers/window.hpp"

namespace eigennet {

namespace {
void check_source_shape(const Shape& shape, const char* what) {
  double size = 1;
  for (Index d : shape) {
    if (d <= 0)
      throw std::invalid_argument(std::string(what) + " dimensions must be positive, got " +
                                  shape_string(shape));
    size *= double(d);
  }
  check_allocation(size, 8, what);
}
Index first_axis(const Shape& shape) { return shape.empty() ? 1 : shape[0]; }
Shape rest(const Shape& shape) {
  return shape.empty() ? Shape{} : Shape(shape.begin() + 1, shape.end());
}
}  // namespace

template <class T>
VariableSource<T>::VariableSource(Shape shape, std::string name, bool trainable)
    : shape_(std::move(shape)), name_(std::move(name)), weight_trainable_(trainable) {
  check_source_shape(shape_, "a weight's");
  this->build_inputs({});
}

template <class T>
Index VariableSource<T>::fixed_rows() const {
  return first_axis(shape_);
}

template <class T>
Shape VariableSource<T>::do_build(const Shape&) {
  throw std::invalid_argument("a weight takes no input");
}

template <class T>
Shape VariableSource<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  if (!input_shapes.empty()) throw std::invalid_argument("a weight takes no input");
  this->add_weight(name_, shape_, weight_trainable_);
  return rest(shape_);
}

template <class T>
void VariableSource<T>::forward(ConstMatrixMap<T>, MatrixMap<T> y, bool) {
  std::copy_n(this->params(), y.size(), y.data());
}

template <class T>
void VariableSource<T>::forward_inputs(const ConstMatrixMap<T>*, size_t, MatrixMap<T> y, bool) {
  std::copy_n(this->params(), y.size(), y.data());
}

template <class T>
void VariableSource<T>::backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                                 T* param_grad, MatrixMap<T>*) {
  if (param_grad) std::copy_n(grad_y.data(), grad_y.size(), param_grad);
}

template <class T>
void VariableSource<T>::backward_inputs(const ConstMatrixMap<T>*, size_t, ConstMatrixMap<T>,
                                        MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const*) {
  if (param_grad) std::copy_n(grad_y.data(), grad_y.size(), param_grad);
}

template <class T>
ConstantSource<T>::ConstantSource(Shape shape, std::vector<T> values) : shape_(std::move(shape)) {
  check_source_shape(shape_, "a constant's");
  if (Index(values.size()) != shape_size(shape_))
    throw std::invalid_argument("a constant of shape " + shape_string(shape_) + " needs " +
                                std::to_string(shape_size(shape_)) + " values, got " +
                                std::to_string(values.size()));
  values_ = std::make_shared<const AlignedVector<T>>(values.begin(), values.end());
  this->build_inputs({});
}

template <class T>
Index ConstantSource<T>::fixed_rows() const {
  return first_axis(shape_);
}

template <class T>
Shape ConstantSource<T>::do_build(const Shape&) {
  throw std::invalid_argument("a constant takes no input");
}

template <class T>
Shape ConstantSource<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  if (!input_shapes.empty()) throw std::invalid_argument("a constant takes no input");
  return rest(shape_);
}

template <class T>
void ConstantSource<T>::forward(ConstMatrixMap<T>, MatrixMap<T> y, bool) {
  std::copy_n(values_->data(), y.size(), y.data());
}

template <class T>
void ConstantSource<T>::forward_inputs(const ConstMatrixMap<T>*, size_t, MatrixMap<T> y, bool) {
  std::copy_n(values_->data(), y.size(), y.data());
}

template class VariableSource<float>;
template class VariableSource<double>;
template class ConstantSource<float>;
template class ConstantSource<double>;

}  // namespace eigennet
