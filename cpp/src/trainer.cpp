#include "eigennet/trainer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/checks.hpp"
#include "eigennet/interrupt.hpp"
#include "eigennet/parallel_passes.hpp"
#include "eigennet/subnormals.hpp"

namespace eigennet {
namespace {

// A callback into Python (progress, Keras callbacks), run in the caller's float environment.
// (BatchCallback and EpochCallback have this one signature.)
bool python_callback(const BatchCallback& callback, Index step, const std::vector<double>& logs) {
  const CallerFloatEnvironment python;
  return callback(step, logs);
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Fisher-Yates with splitmix64 and an explicit unbiased bounded draw: a seed gives the same
// order on every platform (std:: distributions are implementation-defined), and seeding
// costs nothing, which matters for one-sample epochs.
void shuffle_indices(std::vector<Index>& order, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = order.size(); i > 1; --i) {
    const uint64_t bound = i, limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = splitmix64(state);
    while (r >= limit);
    std::swap(order[i - 1], order[static_cast<size_t>(r % bound)]);
  }
}

// The seed of one epoch: a pure function of (fit seed, epoch), so running epochs one call at a
// time gives the same shuffles as one call for all of them (splitmix64 finaliser).
uint64_t epoch_seed(uint64_t seed, Index epoch) {
  uint64_t state = seed ^ (0xD1B54A32D192ED03ULL * static_cast<uint64_t>(epoch + 1));
  return splitmix64(state);
}

template <class T>
void gather_rows(ConstMatrixMap<T> src, const Index* rows, Index n, T* dst) {
  const Index cols = src.cols();
  for (Index i = 0; i < n; ++i) std::copy_n(src.data() + rows[i] * cols, cols, dst + i * cols);
}

template <class T>
void gather_rows(const std::vector<const T*>& src, Index cols, const Index* rows, Index n, T* dst) {
  for (Index i = 0; i < n; ++i)
    std::copy_n(src[static_cast<size_t>(rows[i])], cols, dst + i * cols);
}

}  // namespace

template <class T>
Dataset<T> blocked_dataset(std::vector<ConstMatrixMap<T>> x_blocks, ConstMatrixMap<T> y,
                           const T* sample_weight) {
  if (x_blocks.empty()) throw std::invalid_argument("x needs at least one block of rows");
  Index rows = 0;
  for (const auto& block : x_blocks) {
    if (block.cols() != x_blocks.front().cols())
      throw std::invalid_argument(
          "the blocks of x differ in features per sample: " + std::to_string(block.cols()) +
          " and " + std::to_string(x_blocks.front().cols()));
    rows += block.rows();
  }
  if (y.rows() != rows)
    throw std::invalid_argument("x has " + std::to_string(rows) + " samples but y has " +
                                std::to_string(y.rows()));
  ConstMatrixMap<T> shape(nullptr, rows, x_blocks.front().cols());
  return {shape, y, sample_weight, std::move(x_blocks)};
}

template <class T>
Trainer<T>::Trainer(std::shared_ptr<Graph<T>> graph, const std::vector<OutputLoss<T>>& losses,
                    std::shared_ptr<Optimizer<T>> optimizer, std::vector<OutputMetric<T>> metrics,
                    const std::vector<bool>& trainable)
    : graph_(std::move(graph)),
      output_losses_(losses),
      optimizer_(std::move(optimizer)),
      metrics_(std::move(metrics)) {
  const size_t outputs = graph_->output_count();
  if (losses.size() != outputs)
    throw std::invalid_argument("one loss per model output expected: the model has " +
                                std::to_string(outputs) + " outputs, got " +
                                std::to_string(losses.size()) + " losses");
  for (size_t k = 0; k < outputs; ++k) {
    losses_.emplace_back(losses[k].config, losses[k].custom);
    target_offsets_.push_back(target_size_);
    if (!losses[k].active) continue;
    const Index steps = losses[k].steps, size = graph_->output_sizes()[k];
    if (steps < 1 || size % steps != 0 || (losses[k].custom && steps != 1))
      throw std::invalid_argument("output " + std::to_string(k) + " of " + std::to_string(size) +
                                  " values per sample cannot be read as " + std::to_string(steps) +
                                  " time steps by its loss");
    target_size_ += steps * losses_[k].target_cols(size / steps);
    ++loss_outputs_;
  }
  // Without an output loss the model trains on its add_loss terms alone (Keras's endpoint
  // layers); y then holds no values.
  if (loss_outputs_ == 0 && !graph_->has_loss_terms())
    throw std::invalid_argument("at least one output needs a loss");
  for (const auto& m : metrics_)
    if (m.output >= outputs || !losses[m.output].active)
      throw std::invalid_argument("a metric's output must be a model output with a loss");
  if (outputs > 1) output_trackers_.resize(outputs);
  grad_outputs_.resize(outputs);
  target_copies_.resize(outputs);
  loss_weights_.resize(outputs);
  metric_weights_.resize(outputs);
  grad_pointers_.assign(outputs, nullptr);
  // The gradient buffer covers every layer once (a layer at several places has one slice),
  // so freezing or unfreezing one later only changes which slices are filled and which
  // segments the optimizer sees.
  const auto& layers = graph_->layers();
  Index total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    first_place_.push_back(i);
    for (size_t j = 0; j < i; ++j)
      if (layers[j]->same_parameters(*layers[i])) {
        first_place_.back() = j;
        break;
      }
    layer_offsets_.push_back(first_place_[i] == i ? total : layer_offsets_[first_place_[i]]);
    if (first_place_[i] == i) total += layers[i]->param_count();
  }
  grads_.assign(static_cast<size_t>(total), T(0));
  set_trainable(trainable);
  if (!optimizer_->built()) optimizer_->build(segments_);
}

template <class T>
void Trainer<T>::set_graph(std::shared_ptr<Graph<T>> graph) {
  const std::shared_ptr<Graph<T>> current = graph_;              // outlives the lock on its mutex
  std::lock_guard<std::recursive_mutex> lock(current->mutex());  // not during a running step
  const auto &now = current->layers(), &next = graph->layers();
  bool same = now.size() == next.size() && graph->input_count() == current->input_count() &&
              graph->output_sizes() == current->output_sizes();
  for (size_t i = 0; same && i < now.size(); ++i)  // (a layer without weights may be remade)
    same = now[i]->same_parameters(*next[i]) ||
           (now[i]->param_count() == 0 && next[i]->param_count() == 0);
  if (!same)
    throw std::invalid_argument(
        "the trainer can only switch to a graph of the same layers with outputs of the same "
        "sizes");
  graph_ = std::move(graph);
}

template <class T>
void Trainer<T>::set_trainable(const std::vector<bool>& trainable) {
  // The segments are what a running fit iterates: change them only between steps.
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const auto& layers = graph_->layers();
  if (trainable.size() != layers.size())
    throw std::invalid_argument("one trainable flag per layer expected");
  segments_.clear();
  layer_grads_.clear();
  for (size_t i = 0; i < layers.size(); ++i) {
    // A layer at several places learns as its first place says (Python's weights order).
    const size_t first = first_place_[i];
    const bool learns = trainable[first] && layers[i]->param_count() > 0;
    layer_grads_.push_back(learns ? grads_.data() + layer_offsets_[i] : nullptr);
    if (!learns || first != i) continue;
    for (const auto& w : layers[i]->weights())
      if (w.trainable)
        segments_.push_back({layers[i]->params() + w.offset, w.size, layer_offsets_[i] + w.offset});
  }
  trainable_ = trainable;
}

template <class T>
void Trainer<T>::check(const Dataset<T>& data) const {
  if (data.x.cols() != graph_->input_size())
    throw std::invalid_argument("x has " + std::to_string(data.x.cols()) +
                                " features per sample, the model expects " +
                                std::to_string(graph_->input_size()));
  if (data.x.rows() == 0) throw std::invalid_argument("no samples: x is empty");
  if (loss_outputs_ == 1 && graph_->output_count() == 1) {
    check_targets(0, data.y, data.x.rows());
    return;
  }
  if (data.y.cols() != target_size_)
    throw std::invalid_argument("y has " + std::to_string(data.y.cols()) +
                                " values per sample, the outputs' losses expect " +
                                std::to_string(target_size_));
  for (size_t k = 0; k < losses_.size(); ++k) {
    if (!output_losses_[k].active) continue;
    const Index steps = output_losses_[k].steps;
    const Index cols = steps * losses_[k].target_cols(graph_->output_sizes()[k] / steps);
    const Matrix<T> targets = data.y.middleCols(target_offsets_[k], cols);
    check_targets(k, ConstMatrixMap<T>(targets.data(), targets.rows(), cols), data.x.rows());
  }
}

template <class T>
void Trainer<T>::check_targets(size_t k, ConstMatrixMap<T> y_k, Index rows) const {
  const Index steps = output_losses_[k].steps, size = graph_->output_sizes()[k];
  if (steps == 1 || y_k.cols() % steps != 0) {
    losses_[k].check_targets(y_k, rows, size);
    return;
  }
  losses_[k].check_targets(step_rows(y_k, k), rows * steps, size / steps);
}

template <class T>
void Trainer<T>::step_weights(size_t k, const T* sw, Index rows, const T** loss_w,
                              const T** metric_w) {
  const Index steps = output_losses_[k].steps, mask_id = output_losses_[k].mask;
  *loss_w = *metric_w = nullptr;
  if (mask_id < 0 && !sw) return;
  T* lw = loss_weights_[k].view(rows, steps).data();
  T* mw = metric_weights_[k].view(rows, steps).data();
  const T* mask = nullptr;
  T scale = T(1);
  if (mask_id >= 0) {
    const ConstMatrixMap<T> m = graph_->tensor(mask_id);
    if (m.rows() != rows || m.cols() != steps)
      throw std::logic_error("an output's mask does not match its time steps");
    mask = m.data();
    double valid = 0;  // Keras: each unmasked step weighs total / valid (0 when none is)
    for (Index i = 0; i < rows * steps; ++i) valid += mask[i] != T(0);
    scale = valid > 0 ? T(double(rows * steps) / valid) : T(0);
  }
  for (Index b = 0; b < rows; ++b)
    for (Index t = 0; t < steps; ++t) {
      const T w = sw ? sw[b] : T(1);
      const T kept = !mask || mask[b * steps + t] != T(0) ? T(1) : T(0);
      mw[b * steps + t] = w * kept;
      lw[b * steps + t] = w * kept * scale;
    }
  *loss_w = lw;
  *metric_w = mw;
}

template <class T>
void Trainer<T>::reset_metrics() {
  loss_tracker_.reset();
  for (auto& t : output_trackers_) t.reset();
  for (auto& m : metrics_) m.metric->reset();
}

template <class T>
std::vector<double> Trainer<T>::logs() const {
  std::vector<double> out{loss_tracker_.result()};
  for (size_t k = 0; k < output_trackers_.size(); ++k)
    if (output_losses_[k].active) out.push_back(output_trackers_[k].result());
  for (const auto& m : metrics_) m.metric->append_result(out);
  return out;
}

template <class T>
ConstMatrixMap<T> Trainer<T>::targets(ConstMatrixMap<T> y, size_t k) {
  const Index steps = output_losses_[k].steps;
  const Index cols = steps * losses_[k].target_cols(graph_->output_sizes()[k] / steps);
  if (cols == y.cols()) return y;
  MatrixMap<T> copy = target_copies_[k].view(y.rows(), cols);
  copy = y.middleCols(target_offsets_[k], cols);
  return ConstMatrixMap<T>(copy.data(), copy.rows(), cols);
}

template <class T>
double Trainer<T>::forward_loss(ConstMatrixMap<T> x, ConstMatrixMap<T> y, const T* sw,
                                bool training, bool track, double grad_scale) {
  graph_->forward(x, training);
  double total = penalties(nullptr);
  for (size_t k = 0; k < losses_.size(); ++k) {
    if (!output_losses_[k].active) continue;
    const ConstMatrixMap<T> out = graph_->output(k), y_k = targets(y, k);
    MatrixMap<T> grad = grad_outputs_[k].view(out.rows(), out.cols());
    const T *loss_w = sw, *metric_w = sw;
    const bool stepped = output_losses_[k].steps > 1 || output_losses_[k].mask >= 0;
    if (stepped) step_weights(k, sw, out.rows(), &loss_w, &metric_w);
    // (each time step a row: a view of the same memory)
    const ConstMatrixMap<T> pred = stepped ? step_rows(out, k) : out;
    const ConstMatrixMap<T> yk = stepped ? step_rows(y_k, k) : y_k;
    const double loss = losses_[k].value_and_grad(
        yk, pred, loss_w, MatrixMap<T>(grad.data(), pred.rows(), pred.cols()));
    const double weight = output_losses_[k].weight;
    if (weight * grad_scale != 1.0) grad *= T(weight * grad_scale);
    grad_pointers_[k] = grad.data();
    total += weight * loss;
    if (!track) continue;
    if (!output_trackers_.empty()) output_trackers_[k].add(loss, double(x.rows()));
    for (auto& m : metrics_)
      if (m.output == k) m.metric->update(yk, pred, metric_w);
  }
  if (track) loss_tracker_.add(total, double(x.rows()));
  return total;
}

template <class T>
double Trainer<T>::step(ConstMatrixMap<T> x, ConstMatrixMap<T> y, const T* sw, bool learn) {
  // Loss scaling (Optimizer::enable_loss_scale): the backward pass runs on the scaled loss,
  // so that small gradients survive float16 products; the weight gradients are unscaled
  // before the penalties, the gradient hook and the step.
  const double scale = learn ? optimizer_->loss_scale() : 1.0;
  const double loss = forward_loss(x, y, sw, learn, true, scale);
  if (learn && !segments_.empty()) {
    graph_->backward(grad_pointers_, layer_grads_);
    if (scale != 1.0) parallel_scale(grads_.data(), Index(grads_.size()), T(1.0 / scale));
    penalties(&layer_grads_);
    if (gradient_hook_) {
      const CallerFloatEnvironment python;
      gradient_hook_(grads_.data(), static_cast<Index>(grads_.size()));
    }
    const int64_t steps = optimizer_->iterations();
    optimizer_->step(segments_, grads_.data());
    if (optimizer_->iterations() != steps) constrain();  // (not after a skipped step)
  }
  return loss;
}

template <class T>
void Trainer<T>::constrain() {
  const auto& layers = graph_->layers();
  for (size_t i = 0; i < layers.size(); ++i)
    if (first_place_[i] == i && layer_grads_[i]) layers[i]->constrain();  // each layer once
}

template <class T>
double Trainer<T>::penalties(const std::vector<T*>* grads) const {
  // Keras adds every layer's regularization loss, trainable or not; gradients go to the
  // trainable ones only.
  double total = graph_->activity_penalty();
  const auto& layers = graph_->layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (first_place_[i] != i || (grads && !(*grads)[i])) continue;  // each layer once
    const double p = layers[i]->regularization(grads ? (*grads)[i] : nullptr);
    if (!grads) total += p;
  }
  return total;
}

template <class T>
bool Trainer<T>::run_batches(const Dataset<T>& data, Index batch_size, bool shuffle, uint64_t seed,
                             Index first_batch, bool learn, const BatchCallback& on_batch,
                             double report_every, bool report_last) {
  const Index n = data.x.rows(), xc = data.x.cols(), yc = data.y.cols();
  if (on_batch && first_batch == 0) reports_.start(report_every, report_last);
  const bool blocked = !data.x_blocks.empty();
  const bool gather = shuffle || blocked;  // a blocked x is gathered even in order
  if (gather) {
    order_.resize(static_cast<size_t>(n));
    for (Index i = 0; i < n; ++i) order_[static_cast<size_t>(i)] = i;
    if (shuffle) shuffle_indices(order_, seed);
  }
  if (blocked) {
    x_rows_.clear();
    for (const auto& block : data.x_blocks)
      for (Index r = 0; r < block.rows(); ++r) x_rows_.push_back(block.data() + r * xc);
  }
  Index batch = first_batch;
  for (Index start = 0; start < n; start += batch_size, ++batch) {
    const Index rows = std::min(batch_size, n - start);
    if (gather) {
      const Index* idx = order_.data() + start;
      MatrixMap<T> bx = batch_x_.view(rows, xc), by = batch_y_.view(rows, yc);
      if (blocked)
        gather_rows(x_rows_, xc, idx, rows, bx.data());
      else
        gather_rows(data.x, idx, rows, bx.data());
      gather_rows(data.y, idx, rows, by.data());
      const T* sw = nullptr;
      if (data.sample_weight) {
        T* w = batch_w_.view(rows, 1).data();
        for (Index i = 0; i < rows; ++i) w[i] = data.sample_weight[idx[i]];
        sw = w;
      }
      step(ConstMatrixMap<T>(bx.data(), rows, xc), ConstMatrixMap<T>(by.data(), rows, yc), sw,
           learn);
    } else {
      step(ConstMatrixMap<T>(data.x.data() + start * xc, rows, xc),
           ConstMatrixMap<T>(data.y.data() + start * yc, rows, yc),
           data.sample_weight ? data.sample_weight + start : nullptr, learn);
    }
    if (on_batch && reports_.due(start + rows >= n) && python_callback(on_batch, batch, logs()))
      return true;
    poll_interrupt();
  }
  return false;
}

template <class T>
bool Trainer<T>::run_chunk(const Dataset<T>& data, Index batch_size, bool shuffle, uint64_t seed,
                           Index first_batch, bool learn, const BatchCallback& on_batch,
                           double report_every) {
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const FlushSubnormalsScope flush;
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be a positive integer");
  check(data);
  return run_batches(data, batch_size, shuffle, seed, first_batch, learn, on_batch, report_every);
}

template <class T>
std::vector<double> Trainer<T>::run_epoch(const Dataset<T>& data, Index batch_size, bool shuffle,
                                          uint64_t seed, const BatchCallback& on_batch,
                                          double report_every, bool report_last) {
  reset_metrics();
  run_batches(data, batch_size, shuffle, seed, 0, true, on_batch, report_every, report_last);
  return logs();
}

template <class T>
std::vector<std::vector<double>> Trainer<T>::fit(const Dataset<T>& data, Index batch_size,
                                                 Index initial_epoch, Index epochs, bool shuffle,
                                                 uint64_t seed, const EpochCallback& on_epoch,
                                                 const BatchCallback& on_batch,
                                                 double report_every) {
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const FlushSubnormalsScope flush;
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be a positive integer");
  check(data);
  std::vector<std::vector<double>> history;
  for (Index epoch = initial_epoch; epoch < epochs; ++epoch) {
    history.push_back(run_epoch(data, batch_size, shuffle, epoch_seed(seed, epoch), on_batch,
                                report_every,
                                /*report_last=*/!on_epoch));
    if (on_epoch && python_callback(on_epoch, epoch, history.back())) break;
  }
  return history;
}

template <class T>
std::vector<double> Trainer<T>::evaluate(const Dataset<T>& data, Index batch_size,
                                         const BatchCallback& on_batch, double report_every) {
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const FlushSubnormalsScope flush;
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be a positive integer");
  check(data);
  reset_metrics();
  run_batches(data, batch_size, false, 0, 0, false, on_batch, report_every);
  return logs();
}

template <class T>
void predict(Graph<T>& graph, ConstMatrixMap<T> x, Index batch_size, MatrixMap<T> out,
             const BatchCallback& on_batch, bool training, double report_every) {
  std::lock_guard<std::recursive_mutex> lock(graph.mutex());
  const FlushSubnormalsScope flush;
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be a positive integer");
  if (x.cols() != graph.input_size() || out.cols() != graph.output_size() || out.rows() != x.rows())
    throw std::invalid_argument("predict: input or output shape does not match the model");
  const Index n = x.rows(), xc = x.cols(), oc = out.cols();
  BatchReports reports;
  reports.start(report_every);
  Index batch = 0;
  for (Index start = 0; start < n; start += batch_size, ++batch) {
    const Index rows = std::min(batch_size, n - start);
    try {
      graph.forward(ConstMatrixMap<T>(x.data() + start * xc, rows, xc), training);
    } catch (const NonFiniteRows&) {
      // The input itself (which the caller may have left to the graph to check) or a value
      // computed from it.
      const Index bad = first_non_finite(x.data() + start * xc, rows * xc);
      if (bad < 0) throw;
      throw std::invalid_argument("x contains NaN or inf (first at sample " +
                                  std::to_string(start + bad / xc) +
                                  "); clean or impute the data before predicting");
    }
    MatrixMap<T> block(out.data() + start * oc, rows, oc);
    Index col = 0;
    for (size_t k = 0; k < graph.output_count(); ++k) {
      ConstMatrixMap<T> y = graph.output(k);
      block.middleCols(col, y.cols()) = y;
      col += y.cols();
    }
    if (on_batch && reports.due(start + rows >= n) && python_callback(on_batch, batch, {})) break;
    poll_interrupt();
  }
}

template <class T>
std::vector<double> Trainer<T>::train_on_batch(const Dataset<T>& data) {
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const FlushSubnormalsScope flush;
  check(data);
  reset_metrics();
  step(data.x, data.y, data.sample_weight, true);
  return logs();
}

template <class T>
std::vector<double> Trainer<T>::test_on_batch(const Dataset<T>& data) {
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const FlushSubnormalsScope flush;
  check(data);
  reset_metrics();
  step(data.x, data.y, data.sample_weight, false);
  return logs();
}

template <class T>
double Trainer<T>::compute_gradients(const Dataset<T>& data) {
  std::lock_guard<std::recursive_mutex> lock(graph_->mutex());
  const FlushSubnormalsScope flush;
  check(data);
  const double loss = forward_loss(data.x, data.y, data.sample_weight, true, false);
  std::fill(grads_.begin(), grads_.end(), T(0));
  graph_->backward(grad_pointers_, layer_grads_);
  penalties(&layer_grads_);
  return loss;
}

template Dataset<float> blocked_dataset(std::vector<ConstMatrixMap<float>>, ConstMatrixMap<float>,
                                        const float*);
template Dataset<double> blocked_dataset(std::vector<ConstMatrixMap<double>>,
                                         ConstMatrixMap<double>, const double*);
template class Trainer<float>;
template class Trainer<double>;
template void predict<float>(Graph<float>&, ConstMatrixMap<float>, Index, MatrixMap<float>,
                             const BatchCallback&, bool, double);
template void predict<double>(Graph<double>&, ConstMatrixMap<double>, Index, MatrixMap<double>,
                              const BatchCallback&, bool, double);

}  // namespace eigennet
