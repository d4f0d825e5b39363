// Op: a node of the graph that computes a function of whole tensors (an element-wise sum, a
// reduction, a product, a reshape...) and has no parameters; keras.ops functions applied to
// symbolic tensors become ops.
//
// Shapes. Unlike a layer, which sees one sample per row, an op sees full shapes: a tensor that
// has a batch axis has kBatch (-1) at axis 0; one without it (a weight, a constant, a
// reduction over the batch) has a fixed shape. The graph stores a tensor as a row-major
// (rows, rest) matrix: rows is the batch for a batched tensor, else its first axis (1 for a
// scalar); an op's data pointers are the whole contiguous tensors.
//
// A derived op computes its output shape in its constructor from the input shapes and its
// attributes, throwing std::invalid_argument with a message that names the op and the shapes
// (Python shows it to the user while tracing), and passes both to Op's constructor. It then
// implements compute() and gradient() on the concrete shapes of the current batch (in_shape(i),
// out_shape(): kBatch replaced by the batch size). gradient() writes (not adds) dL/dx_i into
// each non-null grad_xs[i]; grad_y may be overwritten. Scratch memory lives in Workspaces, so
// nothing allocates per batch once the shapes repeat.
#pragma once

#include <string>
#include <vector>

#include "eigennet/layer.hpp"

namespace eigennet {

constexpr Index kBatch = -1;

// "(None, 3, 4)" style text for messages.
std::string full_shape_string(const Shape& shape);
// Whether the shape has a batch axis (kBatch at axis 0); no other axis may be kBatch.
bool is_batched(const Shape& shape);
// The number of elements of a concrete shape (1 for a scalar).
Index element_count(const Shape& shape);

// In a target shape (reshape, broadcast_to): an entry at or below kInputAxis stands for the
// length of input axis kInputAxis - entry, an axis of variable length known only per batch
// (kept while size-1 axes come or go: a causal mask (T, T) made (1, T, T)).
constexpr Index kInputAxis = -3;
// `target` with those entries replaced by the input's lengths; std::invalid_argument naming
// the op when an entry names an axis `input` does not have (or its batch axis).
Shape with_input_lengths(const std::string& op, const Shape& target, const Shape& input);

template <class T>
class Op : public Layer<T> {
 public:
  const std::string& op_name() const { return name_; }
  const std::vector<Shape>& full_input_shapes() const { return full_inputs_; }
  const Shape& full_output_shape() const { return full_output_; }
  Index fixed_rows() const override;

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) final {
    forward_inputs(&x, 1, y, training);
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) final {
    backward_inputs(&x, 1, y, grad_y, param_grad, &grad_x);
  }
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y, bool training) final;
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) final;

 protected:
  // Builds the op for these full shapes (checked: kBatch only at axis 0).
  Op(std::string name, std::vector<Shape> inputs, Shape output);

  virtual void compute(const T* const* xs, T* y, bool training) = 0;
  virtual void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) = 0;

  // Concrete shapes of the current batch.
  const Shape& in_shape(size_t i) const { return inputs_[i]; }
  const Shape& out_shape() const { return output_; }
  size_t input_count() const { return full_inputs_.size(); }

  Shape do_build(const Shape& input_shape) final { return do_build_inputs({input_shape}); }
  Shape do_build_inputs(const std::vector<Shape>& row_shapes) final;

 private:
  void set_batch(Index batch);

  std::string name_;
  std::vector<Shape> full_inputs_, inputs_;
  Shape full_output_, output_;
  std::vector<const T*> x_ptrs_;
  std::vector<T*> grad_ptrs_;
};

// A tensor as the graph stores it: (rows, the rest); rows is kBatch for a batched tensor.
Shape row_shape(const Shape& full);
Index row_count(const Shape& full);

}  // namespace eigennet
