// Trainer: a network compiled with a loss, an optimizer and metrics. It owns the flat
// gradient buffer and runs whole epochs natively: shuffle with a seeded generator, slice
// batches (the last partial one included), forward, loss, backward, one optimizer step, and
// native metric accumulation. Callbacks, when given, are the only calls back into Python.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "eigennet/losses.hpp"
#include "eigennet/metrics.hpp"
#include "eigennet/network.hpp"
#include "eigennet/optimizers.hpp"

namespace eigennet {

// Logs are [loss, metric results...], metric_sizes() values per metric (one unless a metric
// reports per class or per threshold). A callback returns true to stop training.
// A gradient hook sees the flat gradient buffer of every training step between backward and
// the optimizer step (data-parallel training averages it across processes there).
template <class T>
using GradientHook = std::function<void(T* grads, Index size)>;
using BatchCallback = std::function<bool(Index batch, const std::vector<double>& logs)>;
using EpochCallback = std::function<bool(Index epoch, const std::vector<double>& logs)>;

template <class T>
struct Dataset {
  ConstMatrixMap<T> x;
  ConstMatrixMap<T> y;
  const T* sample_weight;  // may be null
  // When not empty, x's rows lie in these blocks of consecutive rows, in order (a streamed
  // window of chunks used where they are mapped, which saves copying them into one buffer);
  // `x` then only gives the shape and its data pointer is null.
  std::vector<ConstMatrixMap<T>> x_blocks{};
};

// A Dataset over x given as blocks of rows (see Dataset::x_blocks); throws when the blocks are
// empty or disagree in width.
template <class T>
Dataset<T> blocked_dataset(std::vector<ConstMatrixMap<T>> x_blocks, ConstMatrixMap<T> y,
                           const T* sample_weight);

template <class T>
class Trainer {
 public:
  // trainable[i] tells whether layer i of the network learns. The optimizer, when not built
  // yet, is built for the trainable weights (Keras builds it when training starts).
  Trainer(std::shared_ptr<Network<T>> network, const LossConfig& loss,
          std::shared_ptr<Optimizer<T>> optimizer, std::vector<std::unique_ptr<Metric<T>>> metrics,
          const std::vector<bool>& trainable);

  // Runs epochs [initial_epoch, epochs); returns one row of logs per epoch run.
  std::vector<std::vector<double>> fit(const Dataset<T>& data, Index batch_size,
                                       Index initial_epoch, Index epochs, bool shuffle,
                                       uint64_t seed, const EpochCallback& on_epoch,
                                       const BatchCallback& on_batch);
  std::vector<double> evaluate(const Dataset<T>& data, Index batch_size,
                               const BatchCallback& on_batch);
  // One step on one batch; logs of that batch alone (Keras resets metrics first).
  std::vector<double> train_on_batch(const Dataset<T>& data);
  std::vector<double> test_on_batch(const Dataset<T>& data);
  // Streaming: the batches of one chunk of an epoch (training when `learn`, else evaluating),
  // accumulating into the running logs; batch numbers start at first_batch. Returns true when
  // a callback asked to stop. reset_metrics() starts an epoch, logs() reads it.
  bool run_chunk(const Dataset<T>& data, Index batch_size, bool shuffle, uint64_t seed,
                 Index first_batch, bool learn, const BatchCallback& on_batch);
  void reset_metrics();
  std::vector<double> logs() const;
  void set_gradient_hook(GradientHook<T> hook) { gradient_hook_ = std::move(hook); }

  // Loss of the batch and its gradients (training-mode forward, no update).
  double compute_gradients(const Dataset<T>& data);

  // Changes which layers learn (Keras reads `trainable` at every step); the optimizer must
  // know every weight that becomes trainable.
  void set_trainable(const std::vector<bool>& trainable);
  std::vector<bool> trainable() {
    std::lock_guard<std::recursive_mutex> lock(network_->mutex());
    return trainable_;
  }

  // The flat gradient buffer and the trainable weight tensors' places in it.
  const AlignedVector<T>& gradients() const { return grads_; }
  const std::vector<Segment<T>>& segments() const { return segments_; }
  Optimizer<T>& optimizer() { return *optimizer_; }
  Network<T>& network() { return *network_; }
  size_t metric_count() const { return metrics_.size(); }
  std::vector<Index> metric_sizes() const {
    std::vector<Index> sizes;
    for (const auto& m : metrics_) sizes.push_back(m->size());
    return sizes;
  }

 private:
  void check(const Dataset<T>& data) const;
  std::vector<double> run_epoch(const Dataset<T>& data, Index batch_size, bool shuffle,
                                uint64_t seed, const BatchCallback& on_batch);
  bool run_batches(const Dataset<T>& data, Index batch_size, bool shuffle, uint64_t seed,
                   Index first_batch, bool learn, const BatchCallback& on_batch);
  // Forward, loss, metrics; with `learn` also backward and an optimizer step.
  double step(ConstMatrixMap<T> x, ConstMatrixMap<T> y, const T* sw, bool learn);
  // The regularization penalties of the last forward; with grads, adds the weight penalties'
  // gradients to the trainable layers' slices instead (and returns 0).
  double penalties(const std::vector<T*>* grads) const;

  std::shared_ptr<Network<T>> network_;
  Loss<T> loss_;
  std::shared_ptr<Optimizer<T>> optimizer_;
  std::vector<std::unique_ptr<Metric<T>>> metrics_;
  MeanTracker loss_tracker_;

  AlignedVector<T> grads_;            // flat gradient buffer, laid out like the layers' params
  std::vector<size_t> first_place_;   // per layer place: the first place of the same layer
  std::vector<Index> layer_offsets_;  // per layer place: where its slice of grads_ starts
  std::vector<T*> layer_grads_;       // per layer: its slice of grads_, or null when frozen
  std::vector<Segment<T>> segments_;  // per trainable weight tensor
  std::vector<bool> trainable_;
  GradientHook<T> gradient_hook_;
  Workspace<T> batch_x_, batch_y_, batch_w_, grad_output_;
  std::vector<Index> order_;
  std::vector<const T*> x_rows_;  // row pointers of a blocked x
};

// Forward passes in batches into out (rows of x, network output size); needs no trainer.
// training=true runs training-mode layers (dropout masks), as Keras's model(x, training=True).
template <class T>
void predict(Network<T>& network, ConstMatrixMap<T> x, Index batch_size, MatrixMap<T> out,
             const BatchCallback& on_batch, bool training = false);

}  // namespace eigennet
