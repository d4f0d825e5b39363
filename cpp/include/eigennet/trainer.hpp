// Trainer: a graph compiled with a loss per output, an optimizer and metrics. It owns the flat
// gradient buffer and runs whole epochs natively: shuffle with a seeded generator, slice
// batches (the last partial one included), forward, loss, backward, one optimizer step, and
// native metric accumulation. Callbacks, when given, are the only calls back into Python.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "eigennet/graph.hpp"
#include "eigennet/graph_loss.hpp"
#include "eigennet/losses.hpp"
#include "eigennet/metrics.hpp"
#include "eigennet/optimizers.hpp"

namespace eigennet {

// Logs are [loss, then with several outputs each loss-bearing output's own loss, metric
// results...], metric_sizes() values per metric (one unless a metric reports per class or per
// threshold). The loss is the sum of the outputs' losses times their weights, plus penalties.
// y is packed like x: the targets of each output that has a loss, side by side in output
// order; one sample weight per sample serves every output. A callback returns true to stop
// training. A gradient hook sees the flat gradient buffer of every training step between backward
// and the optimizer step (data-parallel training averages it across processes there).
template <class T>
using GradientHook = std::function<void(T* grads, Index size)>;
using BatchCallback = std::function<bool(Index batch, const std::vector<double>& logs)>;
using EpochCallback = std::function<bool(Index epoch, const std::vector<double>& logs)>;

// When a batch callback runs. With interval 0: after every batch. With interval > 0 (seconds)
// the callback only reports progress: at most once per interval (the clock restarts with each
// pass over the data) and always after the last batch of a call, so a progress bar ends on the
// exact count (unless an epoch callback that reports it follows: `report_last` false). The
// loop decides natively: batches between reports cost no call into Python.
class BatchReports {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts a pass with this interval.
  void start(double interval, bool report_last = true) {
    report_last_ = report_last;
    interval_ =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
    if (interval > 0) due_ = Clock::now() + interval_;
  }
  // Whether the batch just run is reported (`last`: the call's last batch).
  bool due(bool last) {
    if (interval_.count() <= 0) return true;
    if (last && !report_last_) return false;
    const Clock::time_point now = Clock::now();
    if (!last && now < due_) return false;
    due_ = now + interval_;
    return true;
  }

 private:
  Clock::duration interval_{0};
  Clock::time_point due_{};
  bool report_last_ = true;
};

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

// The loss of one output (an output without a loss is not trained and takes no targets).
template <class T>
struct OutputLoss {
  bool active = true;
  LossConfig config{};
  double weight = 1.0;
  std::shared_ptr<GraphLoss<T>> custom;  // a traced Python loss instead of `config`
  // Time steps per sample (Keras's loss of a (batch, steps, ..., features) output is the mean
  // over batch and steps): the loss and the metrics see each step as a row. The graph tensor
  // holding the output's Keras mask (batch, steps), or -1: masked steps weigh 0 and the loss
  // is the weighted sum over the unmasked steps only (Keras's apply_mask).
  Index steps = 1;
  Index mask = -1;
};

// A metric of one output (which must have a loss: its targets are that loss's).
template <class T>
struct OutputMetric {
  size_t output = 0;
  std::unique_ptr<Metric<T>> metric;
};

template <class T>
class Trainer {
 public:
  // losses: one per graph output. trainable[i] tells whether node i's layer learns. The
  // optimizer, when not built yet, is built for the trainable weights (Keras builds it when
  // training starts).
  Trainer(std::shared_ptr<Graph<T>> graph, const std::vector<OutputLoss<T>>& losses,
          std::shared_ptr<Optimizer<T>> optimizer, std::vector<OutputMetric<T>> metrics,
          const std::vector<bool>& trainable);

  // Runs epochs [initial_epoch, epochs); returns one row of logs per epoch run. With progress
  // reports (report_every > 0) and on_epoch, on_epoch also reports each epoch's last batch
  // (its logs are the epoch's): on_batch does not get it.
  std::vector<std::vector<double>> fit(const Dataset<T>& data, Index batch_size,
                                       Index initial_epoch, Index epochs, bool shuffle,
                                       uint64_t seed, const EpochCallback& on_epoch,
                                       const BatchCallback& on_batch, double report_every = 0);
  std::vector<double> evaluate(const Dataset<T>& data, Index batch_size,
                               const BatchCallback& on_batch, double report_every = 0);
  // One step on one batch; logs of that batch alone (Keras resets metrics first).
  std::vector<double> train_on_batch(const Dataset<T>& data);
  std::vector<double> test_on_batch(const Dataset<T>& data);
  // Streaming: the batches of one chunk of an epoch (training when `learn`, else evaluating),
  // accumulating into the running logs; batch numbers start at first_batch. Returns true when
  // a callback asked to stop. reset_metrics() starts an epoch, logs() reads it. report_every:
  // see BatchReports (its clock restarts when first_batch is 0).
  bool run_chunk(const Dataset<T>& data, Index batch_size, bool shuffle, uint64_t seed,
                 Index first_batch, bool learn, const BatchCallback& on_batch,
                 double report_every = 0);
  void reset_metrics();
  std::vector<double> logs() const;
  void set_gradient_hook(GradientHook<T> hook) { gradient_hook_ = std::move(hook); }

  // Loss of the batch and its gradients (training-mode forward, no update).
  double compute_gradients(const Dataset<T>& data);

  // Runs `graph` from now on: the same layers in the same places (copies sharing each
  // node's parameters: the model for another length of a variable axis) with outputs of the
  // same sizes. Gradients, metrics and the optimizer's state carry on.
  void set_graph(std::shared_ptr<Graph<T>> graph);

  // Changes which layers learn (Keras reads `trainable` at every step); the optimizer must
  // know every weight that becomes trainable.
  void set_trainable(const std::vector<bool>& trainable);
  std::vector<bool> trainable() {
    std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
    return trainable_;
  }

  // The flat gradient buffer and the trainable weight tensors' places in it.
  const AlignedVector<T>& gradients() const { return grads_; }
  const std::vector<Segment<T>>& segments() const { return segments_; }
  Optimizer<T>& optimizer() { return *optimizer_; }
  Graph<T>& graph() { return *graph_; }
  size_t metric_count() const { return metrics_.size(); }
  std::vector<Index> metric_sizes() const {
    std::vector<Index> sizes;
    for (const auto& m : metrics_) sizes.push_back(m.metric->size());
    return sizes;
  }
  // Columns of y: the targets of every output with a loss.
  Index target_size() const { return target_size_; }

 private:
  void check(const Dataset<T>& data) const;
  std::vector<double> run_epoch(const Dataset<T>& data, Index batch_size, bool shuffle,
                                uint64_t seed, const BatchCallback& on_batch, double report_every,
                                bool report_last);
  bool run_batches(const Dataset<T>& data, Index batch_size, bool shuffle, uint64_t seed,
                   Index first_batch, bool learn, const BatchCallback& on_batch,
                   double report_every, bool report_last = true);
  // Forward, loss, metrics; with `learn` also backward and an optimizer step.
  double step(ConstMatrixMap<T> x, ConstMatrixMap<T> y, const T* sw, bool learn);
  // Forward and the losses of every output, their gradients (times grad_scale) in
  // grad_outputs_; with `track` also the loss trackers and metrics. Returns the total loss.
  double forward_loss(ConstMatrixMap<T> x, ConstMatrixMap<T> y, const T* sw, bool training,
                      bool track, double grad_scale = 1.0);
  // Output k's targets in y (a copy when y packs several outputs).
  ConstMatrixMap<T> targets(ConstMatrixMap<T> y, size_t k);
  // Output k's rows as its loss sees them: one per time step (OutputLoss::steps).
  ConstMatrixMap<T> step_rows(ConstMatrixMap<T> m, size_t k) const {
    const Index steps = output_losses_[k].steps;
    return ConstMatrixMap<T>(m.data(), m.rows() * steps, m.cols() / steps);
  }
  void check_targets(size_t k, ConstMatrixMap<T> y_k, Index rows) const;
  // The per-step weights of output k's loss and metrics for a batch of `rows` samples (the
  // sample weights times the output's mask, the loss's scaled by steps / unmasked steps as
  // Keras does), or sw itself when each step weighs as its sample.
  void step_weights(size_t k, const T* sw, Index rows, const T** loss_w, const T** metric_w);
  // The regularization penalties of the last forward; with grads, adds the weight penalties'
  // gradients to the trainable layers' slices instead (and returns 0).
  double penalties(const std::vector<T*>* grads) const;
  // Applies the weight constraints of the layers that train (after an optimizer step).
  void constrain();

  std::shared_ptr<Graph<T>> graph_;
  std::vector<OutputLoss<T>> output_losses_;
  std::vector<Loss<T>> losses_;        // per output (a placeholder where inactive)
  std::vector<Index> target_offsets_;  // per output: its first column in y
  Index target_size_ = 0;
  size_t loss_outputs_ = 0;  // outputs with a loss
  std::shared_ptr<Optimizer<T>> optimizer_;
  std::vector<OutputMetric<T>> metrics_;
  MeanTracker loss_tracker_;
  std::vector<MeanTracker> output_trackers_;  // per output with a loss, when several outputs

  AlignedVector<T> grads_;            // flat gradient buffer, laid out like the layers' params
  std::vector<size_t> first_place_;   // per layer place: the first place of the same layer
  std::vector<Index> layer_offsets_;  // per layer place: where its slice of grads_ starts
  std::vector<T*> layer_grads_;       // per layer: its slice of grads_, or null when frozen
  std::vector<Segment<T>> segments_;  // per trainable weight tensor
  std::vector<bool> trainable_;
  GradientHook<T> gradient_hook_;
  Workspace<T> batch_x_, batch_y_, batch_w_;
  std::vector<Workspace<T>> grad_outputs_, target_copies_;   // per output
  std::vector<Workspace<T>> loss_weights_, metric_weights_;  // per output: per-step weights
  std::vector<const T*> grad_pointers_;                      // per output, for Graph::backward
  std::vector<Index> order_;
  std::vector<const T*> x_rows_;  // row pointers of a blocked x
  BatchReports reports_;          // spans the chunks of a streamed pass
};

// Forward passes in batches into out (rows of x, the packed outputs); needs no trainer.
// training=true runs training-mode layers (dropout masks), as Keras's model(x, training=True).
template <class T>
void predict(Graph<T>& graph, ConstMatrixMap<T> x, Index batch_size, MatrixMap<T> out,
             const BatchCallback& on_batch, bool training = false, double report_every = 0);

}  // namespace eigennet
