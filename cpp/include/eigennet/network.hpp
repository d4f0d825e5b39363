// Network: an ordered chain of layers (a Sequential model, nested models flattened) with the
// activation and gradient workspaces of a whole batch. Layers are shared_ptrs because one
// layer may belong to several networks (a discriminator inside a GAN): parameters live in the
// layer, per-batch buffers in the network.
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
  explicit Network(std::vector<std::shared_ptr<Layer<T>>> layers);

  Index input_size() const { return input_size_; }
  Index output_size() const { return output_size_; }
  const std::vector<std::shared_ptr<Layer<T>>>& layers() const { return layers_; }

  // Runs the batch through every layer; the result stays valid until the next forward.
  ConstMatrixMap<T> forward(ConstMatrixMap<T> x, bool training);

  // Activity-regularizer penalty of the last forward (0 when no layer has one).
  double activity_penalty() const { return activity_penalty_; }

  // Backpropagates grad_output (dL/d output, overwritten) through the batch of the last
  // forward. param_grads[i] is layer i's gradient slice, or null when it is frozen.
  void backward(ConstMatrixMap<T> x, MatrixMap<T> grad_output, const std::vector<T*>& param_grads);

  // Held by every entry point that runs batches: the workspaces serve one call at a time.
  // Recursive because a callback may call predict from inside fit on the same thread.
  std::recursive_mutex& mutex() { return mutex_; }

 private:
  std::recursive_mutex mutex_;
  std::vector<std::shared_ptr<Layer<T>>> layers_;
  std::vector<Workspace<T>> outputs_;
  Workspace<T> grad_a_, grad_b_;
  Index input_size_ = 0, output_size_ = 0, rows_ = 0;
  double activity_penalty_ = 0;
};

}  // namespace eigennet
