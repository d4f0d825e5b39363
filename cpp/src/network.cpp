#include "eigennet/network.hpp"

#include <algorithm>
#include <stdexcept>

namespace eigennet {

template <class T>
Network<T>::Network(const std::vector<std::shared_ptr<Layer<T>>>& layers) {
  if (layers.empty()) throw std::invalid_argument("a network needs at least one layer");
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i] || !layers[i]->built())
      throw std::invalid_argument("every layer must be built before the network");
    if (i > 0 && layers[i]->input_shape() != layers[i - 1]->output_shape())
      throw std::invalid_argument("layer " + std::to_string(i) +
                                  "'s input shape does not match the previous output");
    layers_.push_back(layers[i]->clone());
  }
  adds_gradient_.assign(layers_.size(), false);
  for (size_t i = 0; i < layers_.size(); ++i)
    for (size_t j = i + 1; j < layers_.size(); ++j)
      if (layers_[j]->same_parameters(*layers_[i])) adds_gradient_[i] = true;
  input_size_ = shape_size(layers_.front()->input_shape());
  output_size_ = shape_size(layers_.back()->output_shape());
  outputs_.resize(layers_.size());
}

template <class T>
ConstMatrixMap<T> Network<T>::forward(ConstMatrixMap<T> x, bool training) {
  if (x.cols() != input_size_)
    throw std::invalid_argument("network expects " + std::to_string(input_size_) +
                                " features per sample, got " + std::to_string(x.cols()));
  rows_ = x.rows();
  activity_penalty_ = 0;
  const T* in = x.data();
  Index in_cols = input_size_;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Index out_cols = shape_size(layers_[i]->output_shape());
    MatrixMap<T> y = outputs_[i].view(rows_, out_cols);
    layers_[i]->forward(ConstMatrixMap<T>(in, rows_, in_cols), y, training);
    const auto& activity = layers_[i]->activity_regularizer();
    if (activity.active())
      activity_penalty_ +=
          activity.apply(y.data(), y.size(), static_cast<T*>(nullptr), 1.0 / rows_);
    in = y.data();
    in_cols = out_cols;
  }
  return ConstMatrixMap<T>(in, rows_, output_size_);
}

template <class T>
void Network<T>::backward(ConstMatrixMap<T> x, MatrixMap<T> grad_output,
                          const std::vector<T*>& param_grads) {
  if (param_grads.size() != layers_.size())
    throw std::logic_error("one gradient slice per layer expected");
  if (x.rows() != rows_ || grad_output.rows() != rows_)
    throw std::logic_error("backward batch differs from forward");
  MatrixMap<T> grad_y = grad_output;
  Workspace<T>* spare[2] = {&grad_a_, &grad_b_};
  for (size_t k = layers_.size(); k-- > 0;) {
    auto& layer = *layers_[k];
    const Index in_cols = shape_size(layer.input_shape());
    const T* in = k == 0 ? x.data() : outputs_[k - 1].data();
    ConstMatrixMap<T> layer_x(in, rows_, in_cols);
    ConstMatrixMap<T> layer_y(outputs_[k].data(), rows_, grad_y.cols());
    const auto& activity = layer.activity_regularizer();
    if (activity.active())
      activity.apply(layer_y.data(), layer_y.size(), grad_y.data(), 1.0 / rows_);
    // dL/dx is not needed below the lowest layer that has something to learn.
    bool below_needs_grad = false;
    for (size_t j = 0; j < k; ++j) below_needs_grad |= param_grads[j] != nullptr;
    if (!below_needs_grad) {
      backward_place(k, layer_x, layer_y, grad_y, param_grads[k], nullptr);
      return;
    }
    MatrixMap<T> grad_x = spare[k % 2]->view(rows_, in_cols);
    backward_place(k, layer_x, layer_y, grad_y, param_grads[k], &grad_x);
    new (&grad_y) MatrixMap<T>(grad_x.data(), rows_, in_cols);
  }
}

template <class T>
void Network<T>::backward_place(size_t k, ConstMatrixMap<T> x, ConstMatrixMap<T> y,
                                MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* grad_x) {
  auto& layer = *layers_[k];
  if (!param_grad || !adds_gradient_[k]) {
    layer.backward(x, y, grad_y, param_grad, grad_x);
    return;
  }
  const Index n = layer.param_count();
  T* own = shared_grad_.view(1, n).data();
  std::fill_n(own, n, T(0));
  layer.backward(x, y, grad_y, own, grad_x);
  for (Index i = 0; i < n; ++i) param_grad[i] += own[i];
}

template class Network<float>;
template class Network<double>;

}  // namespace eigennet
