#include "eigennet/layers/sources.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/layers/window.hpp"

namespace eigennet {

template <class T>
Source<T>::Source(Shape shape, const char* what) : shape_(std::move(shape)), what_(what) {
  double size = 1;
  for (Index d : shape_) {
    if (d <= 0)
      throw std::invalid_argument(std::string(what) + " dimensions must be positive, got " +
                                  shape_string(shape_));
    size *= double(d);
  }
  check_allocation(size, sizeof(T), what);
}

template <class T>
Shape Source<T>::do_build(const Shape&) {
  throw std::invalid_argument(std::string(what_) + " source takes no input");
}

template <class T>
Shape Source<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  if (!input_shapes.empty())
    throw std::invalid_argument(std::string(what_) + " source takes no input");
  declare_weights();
  return shape_.empty() ? Shape{} : Shape(shape_.begin() + 1, shape_.end());
}

template <class T>
void Source<T>::copy_to(MatrixMap<T> y) const {
  std::copy_n(this->source_values(), y.size(), y.data());
}

template <class T>
VariableSource<T>::VariableSource(Shape shape, std::string name, bool trainable)
    : Source<T>(std::move(shape), "a weight's"),
      name_(std::move(name)),
      weight_trainable_(trainable) {
  this->build_inputs({});
}

template <class T>
void VariableSource<T>::backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                                 T* param_grad, MatrixMap<T>*) {
  if (param_grad) std::copy_n(grad_y.data(), grad_y.size(), param_grad);
}

template <class T>
ConstantSource<T>::ConstantSource(Shape shape, std::vector<T> values)
    : Source<T>(std::move(shape), "a constant's") {
  if (Index(values.size()) != shape_size(this->shape()))
    throw std::invalid_argument("a constant of shape " + shape_string(this->shape()) + " needs " +
                                std::to_string(shape_size(this->shape())) + " values, got " +
                                std::to_string(values.size()));
  values_ = std::make_shared<const AlignedVector<T>>(values.begin(), values.end());
  this->build_inputs({});
}

namespace {
template <class T>
Shape viewed_shape(const std::shared_ptr<Layer<T>>& layer, size_t index) {
  if (!layer || !layer->built() || index >= layer->weights().size())
    throw std::invalid_argument("a weight view needs a built layer and one of its weights");
  return layer->weights()[index].shape;
}
}  // namespace

template <class T>
WeightView<T>::WeightView(const std::shared_ptr<Layer<T>>& layer, size_t index)
    : Source<T>(viewed_shape(layer, index), "a weight view's"),
      offset_(layer->weights()[index].offset) {
  this->build_inputs({});  // an empty block of its own, replaced by the layer's
  this->share_parameters(*layer);
}

template <class T>
void WeightView<T>::backward(ConstMatrixMap<T>, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                             T* param_grad, MatrixMap<T>*) {
  if (!param_grad) return;
  std::fill_n(param_grad, this->param_count(), T(0));
  std::copy_n(grad_y.data(), grad_y.size(), param_grad + offset_);
}

template class Source<float>;
template class Source<double>;
template class VariableSource<float>;
template class VariableSource<double>;
template class ConstantSource<float>;
template class ConstantSource<double>;
template class WeightView<float>;
template class WeightView<double>;

}  // namespace eigennet
