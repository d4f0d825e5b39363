// Network: an ordered chain of layers (a Sequential model, nested models flattened) with the
// activation and gradient workspaces of a whole batch. One layer may belong to several
// networks (a discriminator inside a GAN) or come twice in one: the network runs its own copy
// of the layer at each place (Layer::clone), so parameters are shared and every per-batch
// buffer, the layers' own included, belongs to the network that runs it. Gradients of a
// layer that comes more than once are summed into its one slice.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class Network {
 public:
  // `layers` are the originals (built); the network keeps a copy of each.
  explicit Network(const std::vector<std::shared_ptr<Layer<T>>>& layers);

  Index input_size() const { return input_size_; }
  Index output_size() const { return output_size_; }
  const std::vector<std::shared_ptr<Layer<T>>>& layers() const { return layers_; }

  // Runs the batch through every layer; the result stays valid until the next forward.
  ConstMatrixMap<T> forward(ConstMatrixMap<T> x, bool training);

  // Activity-regularizer penalty of the last forward (0 when no layer has one).
  double activity_penalty() const { return activity_penalty_; }

  // Backpropagates grad_output (dL/d output, overwritten) through the batch of the last
  // forward. param_grads[i] is layer i's gradient slice, or null when it is frozen; places
  // of one layer get the same slice, which then holds the sum of their gradients.
  void backward(ConstMatrixMap<T> x, MatrixMap<T> grad_output, const std::vector<T*>& param_grads);

  // Held by every entry point that runs batches: the workspaces serve one call at a time.
  // Recursive because a callback may call predict from inside fit on the same thread.
  std::recursive_mutex& mutex() { return mutex_; }

 private:
  // Layer k's backward; adds its parameter gradient to param_grad when adds_gradient_[k].
  void backward_place(size_t k, ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                      T* param_grad, MatrixMap<T>* grad_x);

  std::recursive_mutex mutex_;
  std::vector<std::shared_ptr<Layer<T>>> layers_;
  std::vector<Workspace<T>> outputs_;
  Workspace<T> grad_a_, grad_b_;
  // Per place: whether a later place runs the same layer (backward reaches that one first,
  // so this place adds its parameter gradient to the slice instead of writing it).
  std::vector<bool> adds_gradient_;
  Workspace<T> shared_grad_;  // such a place's own parameter gradient, before it is added
  Index input_size_ = 0, output_size_ = 0, rows_ = 0;
  double activity_penalty_ = 0;
};

}  // namespace eigennet
