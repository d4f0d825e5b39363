#include "eigennet/graph.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/layers/window.hpp"

namespace eigennet {

template <class T>
Graph<T>::Graph(std::vector<Shape> input_shapes, const std::vector<GraphNode<T>>& nodes,
                std::vector<Index> outputs, bool batched_outputs, std::vector<Index> loss_terms)
    : outputs_(std::move(outputs)), loss_terms_(std::move(loss_terms)) {
  if (input_shapes.empty()) throw std::invalid_argument("a graph needs at least one input");
  if (nodes.empty()) throw std::invalid_argument("a graph needs at least one layer");
  if (outputs_.empty()) throw std::invalid_argument("a graph needs at least one output");
  std::vector<Shape> shapes = std::move(input_shapes);
  fixed_rows_.assign(shapes.size(), 0);
  for (const auto& shape : shapes) {
    input_sizes_.push_back(shape_size(shape));
    input_size_ += input_sizes_.back();
  }
  for (size_t k = 0; k < nodes.size(); ++k) {
    const auto& n = nodes[k];
    const std::string where = "node " + std::to_string(k);
    if (!n.layer || !n.layer->built())
      throw std::invalid_argument(where + ": every layer must be built before the graph");
    if (n.inputs.size() != n.layer->input_shapes().size())
      throw std::invalid_argument(where + ": the layer was built for " +
                                  std::to_string(n.layer->input_shapes().size()) +
                                  " input(s), the node gives " + std::to_string(n.inputs.size()));
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Index t = n.inputs[i];
      if (t < 0 || t >= Index(shapes.size()))
        throw std::invalid_argument(where + " reads tensor " + std::to_string(t) +
                                    ", which is not computed before it");
      if (shapes[size_t(t)] != n.layer->input_shapes()[i])
        throw std::invalid_argument(where + ": the layer was built for inputs of shape " +
                                    shape_string(n.layer->input_shapes()[i]) + ", tensor " +
                                    std::to_string(t) + " has shape " +
                                    shape_string(shapes[size_t(t)]));
    }
    Index rows = n.layer->fixed_rows();
    if (rows == Layer<T>::kRowsOfInputs) {
      if (n.inputs.empty()) throw std::invalid_argument(where + ": a layer without inputs");
      rows = fixed_rows_[size_t(n.inputs[0])];
      for (Index t : n.inputs)
        if (fixed_rows_[size_t(t)] != rows)
          throw std::invalid_argument(where +
                                      ": the layer's inputs must all have a batch axis, or none");
    }
    fixed_rows_.push_back(rows);
    shapes.push_back(n.layer->output_shape());
    Node node;
    node.layer = n.layer->clone();
    node.inputs = n.inputs;
    node.mode = n.mode;
    node.grad_added.assign(n.inputs.size(), false);
    node.grad_scratch.resize(n.inputs.size());
    nodes_.push_back(std::move(node));
    layers_.push_back(nodes_.back().layer);
  }
  for (size_t k = 0; k < nodes_.size(); ++k)
    for (size_t j = k + 1; j < nodes_.size(); ++j)
      if (nodes_[j].layer->same_parameters(*nodes_[k].layer)) nodes_[k].adds_gradient = true;
  for (const auto& shape : shapes) tensor_sizes_.push_back(shape_size(shape));
  for (Index t : outputs_) {
    if (t < 0 || t >= Index(shapes.size()))
      throw std::invalid_argument("graph output " + std::to_string(t) + " is not a tensor");
    if (batched_outputs && fixed_rows_[size_t(t)] != 0)
      throw std::invalid_argument("graph output " + std::to_string(t) +
                                  " has no batch axis (a model's outputs have one row per sample)");
    output_sizes_.push_back(tensor_sizes_[size_t(t)]);
    output_size_ += output_sizes_.back();
  }
  for (Index t : loss_terms_)
    if (t < 0 || t >= Index(shapes.size()) || fixed_rows_[size_t(t)] == 0)
      throw std::invalid_argument("a loss term must be a tensor without a batch axis");
  storage_.resize(shapes.size());
  values_.assign(shapes.size(), nullptr);
  grads_.resize(shapes.size());
  has_grad_.assign(shapes.size(), false);
  needs_grad_.assign(shapes.size(), false);
}

template <class T>
std::shared_ptr<Graph<T>> Graph<T>::chain(const std::vector<std::shared_ptr<Layer<T>>>& layers) {
  if (layers.empty() || !layers.front())
    throw std::invalid_argument("a network needs at least one layer");
  std::vector<GraphNode<T>> nodes;
  for (size_t i = 0; i < layers.size(); ++i) nodes.push_back({layers[i], {Index(i)}});
  return std::make_shared<Graph<T>>(std::vector<Shape>{layers.front()->input_shape()}, nodes,
                                    std::vector<Index>{Index(layers.size())});
}

template <class T>
void Graph<T>::forward(ConstMatrixMap<T> x, bool training) {
  if (x.cols() != input_size_)
    throw std::invalid_argument("network expects " + std::to_string(input_size_) +
                                " features per sample, got " + std::to_string(x.cols()));
  rows_ = x.rows();
  activity_penalty_ = 0;
  if (input_sizes_.size() == 1) {
    values_[0] = x.data();
  } else {  // each input's columns of the packed x, as its own row-major batch
    Index offset = 0;
    for (size_t i = 0; i < input_sizes_.size(); ++i) {
      const Index cols = input_sizes_[i];
      MatrixMap<T> in = storage_[i].view(rows_, cols);
      in = x.middleCols(offset, cols);
      values_[i] = in.data();
      offset += cols;
    }
  }
  const size_t first = input_sizes_.size();
  for (size_t k = 0; k < nodes_.size(); ++k) {
    Node& node = nodes_[k];
    const Index out = Index(first + k);
    if (const T* source = node.layer->source_values()) {  // read in place, nothing to compute
      values_[size_t(out)] = source;
      continue;
    }
    node.xs.clear();
    for (Index t : node.inputs)
      node.xs.emplace_back(value(t), rows_of(t), tensor_sizes_[size_t(t)]);
    MatrixMap<T> y = storage_[size_t(out)].view(rows_of(out), tensor_sizes_[size_t(out)]);
    const ProductPrecisionScope precision(node.layer->product_precision());
    node.layer->forward_inputs(node.xs.data(), node.xs.size(), y,
                               node.mode < 0 ? training : node.mode == 1);
    values_[size_t(out)] = y.data();
    const auto& activity = node.layer->activity_regularizer();
    if (activity.active())
      activity_penalty_ +=
          activity.apply(y.data(), y.size(), static_cast<T*>(nullptr), 1.0 / y.rows());
  }
  for (Index t : loss_terms_) {
    ConstMatrixMap<T> term(value(t), rows_of(t), tensor_sizes_[size_t(t)]);
    activity_penalty_ += double(term.sum());
  }
}

template <class T>
ConstMatrixMap<T> Graph<T>::output(size_t k) const {
  const Index t = outputs_.at(k);
  return ConstMatrixMap<T>(value(t), rows_of(t), tensor_sizes_[size_t(t)]);
}

template <class T>
ConstMatrixMap<T> Graph<T>::tensor(Index t) const {
  if (t < 0 || size_t(t) >= values_.size()) throw std::out_of_range("no such tensor in the graph");
  return ConstMatrixMap<T>(value(t), rows_of(t), tensor_sizes_[size_t(t)]);
}

template <class T>
void Graph<T>::backward(const std::vector<const T*>& output_grads,
                        const std::vector<T*>& param_grads, bool to_inputs) {
  if (param_grads.size() != nodes_.size())
    throw std::logic_error("one gradient slice per node expected");
  if (output_grads.size() != outputs_.size())
    throw std::logic_error("one output gradient per output expected");
  const size_t first = input_sizes_.size();
  // A tensor needs its gradient when something learns at or below it.
  std::fill(needs_grad_.begin(), needs_grad_.end(), false);
  if (to_inputs) std::fill_n(needs_grad_.begin(), first, true);
  for (size_t k = 0; k < nodes_.size(); ++k) {
    bool needs = param_grads[k] != nullptr;
    for (Index t : nodes_[k].inputs) needs = needs || needs_grad_[size_t(t)];
    needs_grad_[first + k] = needs;
  }
  std::fill(has_grad_.begin(), has_grad_.end(), false);
  // A weight read as a tensor (a custom layer's add_weight) gets its gradient written in place
  // by its consumers: no copy of a kernel-sized gradient per batch.
  in_place_.assign(values_.size(), nullptr);
  for (size_t k = 0; k < nodes_.size(); ++k)
    if (param_grads[k] && nodes_[k].layer->output_is_parameters() && !nodes_[k].adds_gradient)
      in_place_[first + k] = param_grads[k];
  for (size_t k = 0; k < outputs_.size(); ++k) {
    const Index t = outputs_[k];
    if (!output_grads[k] || !needs_grad_[size_t(t)]) continue;
    MatrixMap<T> g = grad_buffer(t);
    ConstMatrixMap<T> given(output_grads[k], g.rows(), g.cols());
    if (has_grad_[size_t(t)])
      g += given;  // one tensor given as two outputs
    else
      g = given;
    has_grad_[size_t(t)] = true;
  }
  for (Index t : loss_terms_) {  // d(sum of the term)/d(term) = 1
    if (!needs_grad_[size_t(t)]) continue;
    MatrixMap<T> g = grad_buffer(t);
    if (has_grad_[size_t(t)])
      g.array() += T(1);
    else
      g.setOnes();
    has_grad_[size_t(t)] = true;
  }
  for (size_t k = nodes_.size(); k-- > 0;) {
    const Index t = Index(first + k);
    if (!has_grad_[size_t(t)] || in_place_[size_t(t)]) continue;  // in place: already written
    backward_node(nodes_[k], t, param_grads[k]);
  }
}

template <class T>
MatrixMap<T> Graph<T>::grad_buffer(Index t) {
  const Index rows = rows_of(t), cols = tensor_sizes_[size_t(t)];
  if (T* in_place = in_place_[size_t(t)]) return MatrixMap<T>(in_place, rows, cols);
  return grads_[size_t(t)].view(rows, cols);
}

template <class T>
void Graph<T>::backward_node(Node& node, Index tensor, T* param_grad) {
  auto& layer = *node.layer;
  MatrixMap<T> grad_y = grads_[size_t(tensor)].view(rows_of(tensor), tensor_sizes_[size_t(tensor)]);
  ConstMatrixMap<T> y(value(tensor), grad_y.rows(), grad_y.cols());
  const auto& activity = layer.activity_regularizer();
  if (activity.active()) activity.apply(y.data(), y.size(), grad_y.data(), 1.0 / y.rows());
  // Each input's gradient goes straight to its tensor's buffer when it is the first to
  // reach it, else to a scratch buffer added afterwards (fan-out, or the same tensor twice).
  node.xs.clear();
  node.grad_maps.clear();
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const Index t = node.inputs[i], cols = tensor_sizes_[size_t(t)];
    node.xs.emplace_back(value(t), rows_of(t), cols);
    node.grad_added[i] = needs_grad_[size_t(t)] && has_grad_[size_t(t)];
    node.grad_maps.push_back(node.grad_added[i] ? node.grad_scratch[i].view(rows_of(t), cols)
                                                : grad_buffer(t));
    if (needs_grad_[size_t(t)]) has_grad_[size_t(t)] = true;
  }
  node.grad_ptrs.clear();
  for (size_t i = 0; i < node.inputs.size(); ++i)
    node.grad_ptrs.push_back(needs_grad_[size_t(node.inputs[i])] ? &node.grad_maps[i] : nullptr);
  // A layer called at several nodes: every node but the last (which backward reaches first)
  // adds its parameter gradient to the slice instead of writing it.
  T* own = param_grad;
  const Index n = layer.param_count();
  if (param_grad && node.adds_gradient) {
    own = shared_grad_.view(1, n).data();
    std::fill_n(own, n, T(0));
  }
  const ProductPrecisionScope precision(layer.product_precision());
  layer.backward_inputs(node.xs.data(), node.xs.size(), y, grad_y, own, node.grad_ptrs.data());
  if (own != param_grad)
    for (Index i = 0; i < n; ++i) param_grad[i] += own[i];
  for (size_t i = 0; i < node.inputs.size(); ++i)
    if (node.grad_added[i]) grad_buffer(node.inputs[i]) += node.grad_maps[i];
}

template <class T>
bool Graph<T>::checks_inputs_finite() const {
  for (size_t i = 0; i < input_count(); ++i) {
    bool checked = false;
    for (const Node& node : nodes_)
      checked = checked || (!node.inputs.empty() && node.inputs[0] == Index(i) &&
                            node.layer->checks_input_finite());
    if (!checked) return false;
  }
  return input_count() > 0;
}

template <class T>
ConstMatrixMap<T> Graph<T>::input_gradient(size_t i) {
  MatrixMap<T> g = grads_.at(i).view(rows_, input_sizes_.at(i));
  if (!has_grad_[i]) g.setZero();
  return ConstMatrixMap<T>(g.data(), g.rows(), g.cols());
}

template class Graph<float>;
template class Graph<double>;

}  // namespace eigennet
