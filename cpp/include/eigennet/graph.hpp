// Graph: the network of a model, a directed acyclic graph of layer calls (nodes) over tensors,
// with the activation and gradient workspaces of a whole batch. A Sequential model is the
// chain case; a functional model has several inputs, merges and several outputs.
//
// Tensors 0 .. inputs-1 are the graph's inputs; node k reads earlier tensors and writes tensor
// inputs + k. Nodes come in topological order. Forward runs them in order; backward in
// reverse, summing gradients where a tensor feeds several nodes (fan-out) and where one layer
// is called at several nodes (shared weights: one parameter slice). The graph runs its own copy
// of each node's layer (Layer::clone), so every per-batch buffer, the layers' own included,
// belongs to the graph that runs it: a layer called twice, or shared by two models running in
// two threads, keeps each call's state apart.
//
// Tensors without a batch axis (a weight read by ops, a constant, a reduction over the batch)
// have a fixed number of rows (Layer::fixed_rows); a node with no inputs is a source (a
// weight or a constant). A layer node's inputs are all batched or all of one fixed row count.
// The graph's inputs and outputs are batched.
//
// Batches cross the graph packed: x is (batch, sum of the inputs' sizes), the inputs side by
// side in order; predict's output is packed the same way. One input is used in place.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
struct GraphNode {
  std::shared_ptr<Layer<T>> layer;  // the original, built for the shapes of `inputs`
  std::vector<Index> inputs;        // tensor ids
  // Keras's `training` given at the call: -1 follows the graph's mode (fit trains,
  // predict infers); 0 or 1 fixes it (a base model called with training=False keeps its
  // BatchNormalization in inference mode while the head trains).
  int mode = -1;
};

template <class T>
class Graph {
 public:
  // Throws std::invalid_argument when a node reads a tensor that is not computed before it,
  // a layer was built for other shapes, or an output id is out of range.
  // A loss graph (GraphLoss) may have outputs without a batch axis: batched_outputs false.
  // loss_terms: tensors without a batch axis whose sum is added to the loss (a custom layer's
  // add_loss), with their gradients.
  Graph(std::vector<Shape> input_shapes, const std::vector<GraphNode<T>>& nodes,
        std::vector<Index> outputs, bool batched_outputs = true,
        std::vector<Index> loss_terms = {});
  // The chain of `layers`, each reading the previous one's output.
  static std::shared_ptr<Graph<T>> chain(const std::vector<std::shared_ptr<Layer<T>>>& layers);

  size_t input_count() const { return input_sizes_.size(); }
  size_t output_count() const { return outputs_.size(); }
  Index input_size() const { return input_size_; }  // packed x's columns
  Index output_size() const { return output_size_; }
  const std::vector<Index>& input_sizes() const { return input_sizes_; }
  const std::vector<Index>& output_sizes() const { return output_sizes_; }
  // Whether every input is read whole, as its first input, by a layer that checks it for NaN
  // and inf (Layer::checks_input_finite): a forward then throws NonFiniteRows for any.
  bool checks_inputs_finite() const;
  // The node's copies of the layers, one per node, in order.
  const std::vector<std::shared_ptr<Layer<T>>>& layers() const { return layers_; }

  // Runs the batch through every node; outputs stay valid until the next forward.
  void forward(ConstMatrixMap<T> x, bool training);
  ConstMatrixMap<T> output(size_t k) const;
  // Any tensor's values in the last forward (the trainer reads an output's Keras mask there).
  ConstMatrixMap<T> tensor(Index t) const;
  bool output_batched(size_t k) const { return fixed_rows_[size_t(outputs_.at(k))] == 0; }

  // The activity regularizers' penalty and the loss terms of the last forward (0 when there
  // are none).
  double activity_penalty() const { return activity_penalty_; }
  // Whether scalars added to the loss (add_loss) are among its tensors.
  bool has_loss_terms() const { return !loss_terms_.empty(); }

  // Backpropagates through the batch of the last forward. output_grads[k] holds dL/d output k
  // (read only), or is null when output k has no loss. param_grads[k] is node k's gradient
  // slice, or null when its layer is frozen; nodes of one layer get the same slice, which then
  // holds the sum of their gradients.
  // With to_inputs, also dL/d input i, read with input_gradient(i) (zeros when input i does
  // not reach a loss).
  void backward(const std::vector<const T*>& output_grads, const std::vector<T*>& param_grads,
                bool to_inputs = false);
  ConstMatrixMap<T> input_gradient(size_t i);

  // Held by every entry point that runs batches: the workspaces serve one call at a time.
  // Recursive because a callback may call predict from inside fit on the same thread.
  std::recursive_mutex& mutex() { return mutex_; }

 private:
  struct Node {
    std::shared_ptr<Layer<T>> layer;
    std::vector<Index> inputs;
    int mode = -1;                           // see GraphNode
    bool adds_gradient = false;              // a later node runs the same layer (see backward_node)
    std::vector<ConstMatrixMap<T>> xs;       // the inputs' batches (capacity kept per batch)
    std::vector<MatrixMap<T>> grad_maps;     // their gradients' buffers
    std::vector<MatrixMap<T>*> grad_ptrs;    // into grad_maps, or null when not needed
    std::vector<bool> grad_added;            // input i's gradient went to a scratch buffer
    std::vector<Workspace<T>> grad_scratch;  // per input: its gradient, when added
  };
  const T* value(Index tensor) const { return values_[size_t(tensor)]; }
  // A tensor's rows in the current batch.
  Index rows_of(Index tensor) const {
    const Index fixed = fixed_rows_[size_t(tensor)];
    return fixed > 0 ? fixed : rows_;
  }
  void backward_node(Node& node, Index tensor, T* param_grad);
  // dL/d tensor's buffer: the producing weight's parameter gradient when it is written in
  // place (in_place_), else the tensor's own.
  MatrixMap<T> grad_buffer(Index tensor);

  std::recursive_mutex mutex_;
  std::vector<Node> nodes_;
  std::vector<std::shared_ptr<Layer<T>>> layers_;
  std::vector<Index> outputs_, tensor_sizes_, input_sizes_, output_sizes_;
  std::vector<Index> fixed_rows_;  // per tensor: 0 when batched, else its rows
  std::vector<Index> loss_terms_;
  Index input_size_ = 0, output_size_ = 0, rows_ = 0;
  std::vector<Workspace<T>> storage_;  // per tensor: node outputs, inputs copied from packed x
  std::vector<const T*> values_;       // per tensor: its batch in the last forward
  std::vector<Workspace<T>> grads_;    // per tensor: dL/d tensor
  std::vector<bool> has_grad_, needs_grad_;
  // Per tensor: its gradient's destination when the consumers write it straight into its
  // producer's parameter gradient (a weight source called once), else null.
  std::vector<T*> in_place_;
  Workspace<T> shared_grad_;  // a node's own parameter gradient before it is added
  double activity_penalty_ = 0;
};

}  // namespace eigennet
