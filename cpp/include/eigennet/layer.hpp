// Layer contract.
//
// build(input_shape) is called once; it fixes the sample shape, sizes the layer's parameter
// block (zero-filled) and returns the output sample shape. Parameters live in one contiguous
// block per layer, described by weights() in Keras order (e.g. kernel then bias); the block
// never moves after build, so optimizers and Python views may hold pointers into it.
//
// forward(x, y, training): x is (batch, input size), y is (batch, output size), both row-major.
// backward(x, y, grad_y, param_grad, grad_x): x and y are the same batch as the last forward;
// grad_y holds dL/dy and may be overwritten; param_grad (the layer's slice of the trainer's
// flat gradient buffer, same layout as the parameter block) is null when the layer is frozen;
// grad_x is null when nobody needs dL/dx (the first layer).
//
// Several inputs (merge layers): build_inputs(shapes), forward_inputs(xs, n, y, training) and
// backward_inputs(xs, n, y, grad_y, param_grad, grad_xs) take one shape, batch and gradient
// (null when not needed) per input; a one-input layer gets them from the forms above, and a
// merge layer overrides them (its one-input forms are never called).
//
// A layer keeps no per-batch allocation: its scratch buffers are Workspaces.
//
// Rows. A layer's output has as many rows as its inputs (a batch in, a batch out). Ops
// (ops/op.hpp) and sources override fixed_rows(): kRowsOfBatch for a tensor with a batch
// axis, or a fixed count for one without (a weight, a constant). A source (a weight read by
// ops, a constant) has no inputs; when source_values() is non-null the graph reads its output
// there instead of calling forward.
//
// Calls and state. What a forward leaves for its backward (scratch, dropout masks, pooling
// argmax, normalization statistics) belongs to one call of the layer, not to the layer: a
// network runs its own copy of each layer (clone()), and every copy shares the original's
// parameter block, trainable flag and regularizers (LayerParameters). So a layer used at two
// places of one model, or by two models running in two threads, keeps each call's state
// apart. The object Python holds is the original; it is never run by a network itself.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "eigennet/constraints.hpp"
#include "eigennet/memory.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/regularizers.hpp"
#include "eigennet/tensor.hpp"

namespace eigennet {

struct WeightSpec {
  std::string name;
  Shape shape;
  Index offset;  // into the layer's parameter block
  Index size;
  bool trainable;  // false for state the layer updates itself (batch-norm moving statistics)
};

// What every copy of one layer shares (see clone()).
template <class T>
struct LayerParameters {
  AlignedVector<T> values;  // the parameter block
  std::atomic<bool> trainable{true};
  std::atomic<ProductPrecision> product_precision{ProductPrecision::Float32};
  // The format the weights are kept in (Keras's "bfloat16"/"float16" policies: 16-bit
  // variables): float32 values rounded to it after every optimizer step.
  std::atomic<ProductPrecision> storage_precision{ProductPrecision::Float32};
  // Counts writes from outside the training step (Python assigning weights), for layers that
  // keep a derived copy of their parameters (a packed int8 kernel).
  std::atomic<std::uint64_t> version{0};
  std::vector<Regularizer> weight_regularizers;
  Regularizer activity_regularizer;
  std::vector<Constraint> weight_constraints;
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  // A copy for another call of this layer: the same configuration and shared parameters
  // (LayerParameters), its own per-call state, empty. Only built layers are cloned.
  virtual std::shared_ptr<Layer<T>> clone() const = 0;
  // Whether `other` is a copy of this layer (they share one parameter block).
  bool same_parameters(const Layer<T>& other) const { return shared_ == other.shared_; }
  // A copy of this built layer for inputs of other shapes (an axis of variable length): the
  // same configuration and shared parameters. Throws std::invalid_argument when the weights
  // would have other shapes there (e.g. a Dense after a Flatten of a variable axis).
  std::shared_ptr<Layer<T>> for_input_shapes(const std::vector<Shape>& input_shapes) const {
    if (!built_) throw std::logic_error("only a built layer has copies for other shapes");
    auto copy = clone();
    copy->rebuild(input_shapes, weights_);
    return copy;
  }

  Shape build(const Shape& input_shape) { return build_inputs({input_shape}); }
  Shape build_inputs(const std::vector<Shape>& input_shapes) {
    if (built_) throw std::logic_error("layer is already built");
    if (input_shapes.empty() && fixed_rows() <= 0)
      throw std::invalid_argument("a layer needs at least one input");
    input_shapes_ = input_shapes;
    output_shape_ = do_build_inputs(input_shapes);
    double total_checked = 0;  // in double: a product of absurd sizes must not wrap around
    for (const auto& w : weights_) {
      double size = 1;
      for (Index d : w.shape) size *= double(d);
      total_checked += size;
    }
    check_allocation(total_checked, sizeof(T), "its weights");
    Index total = 0;
    for (auto& w : weights_) {
      w.offset = total;
      w.size = shape_size(w.shape);
      total += w.size;
    }
    shared_->values.assign(static_cast<size_t>(total), T(0));
    built_ = true;
    return output_shape_;
  }

  static constexpr Index kRowsOfInputs = -1;
  static constexpr Index kRowsOfBatch = 0;
  virtual Index fixed_rows() const { return kRowsOfInputs; }
  virtual const T* source_values() const { return nullptr; }
  // Whether the layer's parameter gradient is dL/dy itself (a weight read as a tensor): the
  // graph then has the consumers write it into the parameter gradient in place.
  virtual bool output_is_parameters() const { return false; }
  // Whether forward() throws NonFiniteRows for any NaN or inf in its (first) input: predict()
  // then skips its own pass over an input every consumer of which checks it.
  virtual bool checks_input_finite() const { return false; }

  virtual void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) = 0;
  virtual void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                        T* param_grad, MatrixMap<T>* grad_x) = 0;
  virtual void forward_inputs(const ConstMatrixMap<T>* xs, size_t, MatrixMap<T> y, bool training) {
    forward(xs[0], y, training);
  }
  virtual void backward_inputs(const ConstMatrixMap<T>* xs, size_t, ConstMatrixMap<T> y,
                               MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) {
    backward(xs[0], y, grad_y, param_grad, grad_xs[0]);
  }

  // Penalty of the weights' regularizers; adds their gradient to param_grad when non-null.
  double regularization(T* param_grad) const {
    double penalty = 0;
    const auto& regularizers = shared_->weight_regularizers;
    for (size_t i = 0; i < weights_.size() && i < regularizers.size(); ++i) {
      if (!regularizers[i].active()) continue;
      const auto& w = weights_[i];
      penalty += regularizers[i].apply(params() + w.offset, w.size,
                                       param_grad ? param_grad + w.offset : nullptr);
    }
    return penalty;
  }
  // One regularizer per weight, in weights() order (missing ones are inactive).
  void set_weight_regularizers(std::vector<Regularizer> r) {
    shared_->weight_regularizers = std::move(r);
  }
  void set_activity_regularizer(Regularizer r) { shared_->activity_regularizer = r; }

  // One constraint per weight, in weights() order (missing ones are inactive); an axis out
  // of a weight's range throws std::invalid_argument and leaves the constraints as they were.
  void set_weight_constraints(std::vector<Constraint> constraints) {
    for (size_t i = 0; i < weights_.size() && i < constraints.size(); ++i)
      constraints[i].check_rank(static_cast<Index>(weights_[i].shape.size()));
    shared_->weight_constraints = std::move(constraints);
  }
  // After an optimizer step: applies the constraints of the trainable weights, then rounds
  // every weight to the storage format (a 16-bit variable dtype).
  void constrain() {
    const auto& constraints = shared_->weight_constraints;
    for (size_t i = 0; i < weights_.size() && i < constraints.size(); ++i)
      if (constraints[i].active() && weights_[i].trainable)
        constraints[i].apply(params() + weights_[i].offset, weights_[i].shape);
    if constexpr (std::is_same_v<T, float>) {
      const ProductPrecision storage = storage_precision();
      if (storage != ProductPrecision::Float32)
        for (const auto& w : weights_) round_to_precision(storage, params() + w.offset, w.size);
    }
  }
  const Regularizer& activity_regularizer() const { return shared_->activity_regularizer; }

  // Keras's layer.trainable (the layer's own flag; containers combine theirs in Python). A
  // frozen BatchNormalization runs in inference mode even when training.
  bool trainable() const { return shared_->trainable; }
  void set_trainable(bool trainable) { shared_->trainable = trainable; }

  bool built() const { return built_; }
  const Shape& input_shape() const {
    if (input_shapes_.empty()) throw std::logic_error("this layer has no input");
    return input_shapes_.front();
  }
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }
  const Shape& output_shape() const { return output_shape_; }
  const std::vector<WeightSpec>& weights() const { return weights_; }
  // The precision of this layer's matrix products (product_precision.hpp), shared by its
  // copies: the graph runs the layer's forward and backward in it.
  ProductPrecision product_precision() const { return shared_->product_precision.load(); }
  void set_product_precision(ProductPrecision precision) {
    shared_->product_precision.store(precision);
  }
  // The format of the weights (LayerParameters::storage_precision); a 16-bit one only for
  // float32 layers. Does not round the current values (Python assigns them rounded).
  ProductPrecision storage_precision() const { return shared_->storage_precision.load(); }
  void set_storage_precision(ProductPrecision precision) {
    if (!std::is_same_v<T, float> && precision != ProductPrecision::Float32)
      throw std::invalid_argument("16-bit weights are kept by float32 layers only");
    shared_->storage_precision.store(precision);
  }
  void params_changed() { ++shared_->version; }
  std::uint64_t params_version() const { return shared_->version.load(); }
  T* params() { return shared_->values.data(); }
  const T* params() const { return shared_->values.data(); }
  Index param_count() const { return static_cast<Index>(shared_->values.size()); }

 protected:
  // Validates the input shape, declares weights with add_weight, returns the output shape.
  virtual Shape do_build(const Shape& input_shape) = 0;
  // The same for several inputs; one-input layers refuse more than one.
  virtual Shape do_build_inputs(const std::vector<Shape>& input_shapes) {
    if (input_shapes.size() != 1)
      throw std::invalid_argument("this layer takes one input, got " +
                                  std::to_string(input_shapes.size()));
    return do_build(input_shapes.front());
  }
  void add_weight(const std::string& name, Shape shape, bool trainable = true) {
    weights_.push_back({name, std::move(shape), 0, 0, trainable});
  }
  const T* weight(size_t i) const { return params() + weights_[i].offset; }
  // Makes this layer another view of `other`'s parameter block and weights (WeightView).
  void share_parameters(const Layer<T>& other) {
    shared_ = other.shared_;
    weights_ = other.weights_;
  }

 private:
  // Re-runs do_build_inputs on a copy for other input shapes; its weights must stay `expected`.
  void rebuild(const std::vector<Shape>& input_shapes, const std::vector<WeightSpec>& expected) {
    weights_.clear();
    input_shapes_ = input_shapes;
    output_shape_ = do_build_inputs(input_shapes);
    bool same = weights_.size() == expected.size();
    for (size_t i = 0; same && i < expected.size(); ++i)
      same = weights_[i].shape == expected[i].shape;
    if (!same)
      throw std::invalid_argument(
          "its weights would need other shapes for these inputs (an axis of variable "
          "length must not decide a weight's shape)");
    weights_ = expected;
  }

  bool built_ = false;
  std::vector<Shape> input_shapes_;
  Shape output_shape_;
  std::vector<WeightSpec> weights_;
  std::shared_ptr<LayerParameters<T>> shared_ = std::make_shared<LayerParameters<T>>();
};

}  // namespace eigennet
