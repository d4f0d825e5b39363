// Merge layers: layers of several inputs (Keras's Add, Subtract, Multiply, Average, Maximum,
// Minimum, Concatenate, Dot). They have no weights; each input is a row-major
// (batch, sample size) matrix, as every batch in the core.
#pragma once

#include <string>
#include <vector>

#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// The base of every merge layer: the one-input forms run the several-input ones with one
// input (Keras merges accept a list of one).
template <class T>
class MergeLayer : public Layer<T> {
 public:
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override {
    this->forward_inputs(&x, 1, y, training);
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override {
    this->backward_inputs(&x, 1, y, grad_y, param_grad, &grad_x);
  }

 protected:
  Shape do_build(const Shape& input_shape) override { return do_build_inputs({input_shape}); }
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override = 0;
};

enum class MergeOp { Add, Subtract, Multiply, Average, Maximum, Minimum };

// "add", "subtract", "multiply", "average", "maximum", "minimum".
MergeOp merge_op_from_name(const std::string& name);

// y = x0 op x1 op ... (Subtract: exactly two inputs). Sample shapes broadcast as NumPy's
// (Keras's rule): aligned on their last axes, missing leading axes and axes of size 1
// repeat to the output's size.
template <class T>
class ElementwiseMerge : public MergeLayer<T> {
 public:
  explicit ElementwiseMerge(MergeOp op) : op_(op) {}
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ElementwiseMerge>(*this);
  }
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                      bool training) override;
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) override;

 protected:
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  // out[j] = f(out[j], input i's value at output position j), every row.
  template <class F>
  void combine(T* out, const ConstMatrixMap<T>& x, size_t i, F f) const;
  // grad_x = scale * contribution (a batch of output size), summed over the repeated
  // positions when input i is broadcast.
  void reduce_into(MatrixMap<T>& grad_x, const T* contribution, size_t i, T scale) const;

  MergeOp op_;
  Index size_ = 0;  // output sample size
  // Per input: empty when it has the output's shape, else the input position read at each
  // output position (built once; the batch loops only look it up).
  std::vector<std::vector<Index>> index_;
  Workspace<T> scratch_;  // backward: one input's contribution (or the winners of max/min)
};

// Concatenation along one sample axis; the inputs' shapes agree on every other axis.
template <class T>
class Concatenate : public MergeLayer<T> {
 public:
  explicit Concatenate(Index axis) : axis_(axis) {}  // a sample axis (0 = first after batch)
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Concatenate>(*this); }
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                      bool training) override;
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) override;

 protected:
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  Index axis_;
  // A sample is `outer_` blocks; input i gives each block `inner_[i]` consecutive values.
  Index outer_ = 1, total_inner_ = 0;
  std::vector<Index> inner_;
};

// Keras's batch dot product of two inputs, contracting axis a of the first with axis b of the
// second (sample axes): per sample, out[p, q, r, s] = sum_k x[p, k, q] * y[r, k, s], where p
// and q are the first input's axes before and after a, r and s the second's around b. The
// output's axes are x's remaining ones, then y's; a sample with none is (1,). With
// `normalize`, each input is first L2-normalized along its contracted axis, as Keras:
// v / max(||v||, 1e-7).
template <class T>
class Dot : public MergeLayer<T> {
 public:
  Dot(Index axis_a, Index axis_b, bool normalize)
      : axis_a_(axis_a), axis_b_(axis_b), normalize_(normalize) {}
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Dot>(*this); }
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                      bool training) override;
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) override;

 protected:
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  // One operand of the contraction: a sample is (before, k, after) around the contracted
  // axis; `inv_norm_` holds, per (row, before, after), the factor normalize multiplied by.
  struct Operand {
    Index before = 1, k = 1, after = 1;
    Workspace<T> normalized;  // the normalized batch (normalize only)
    Workspace<T> inv_norm;
    Workspace<T> grad;  // normalize's backward: the gradient of the normalized batch
  };
  void normalize_operand(const ConstMatrixMap<T>& x, Operand& op);
  void normalize_backward(Operand& op, const T* grad_normalized, MatrixMap<T>& grad_x);

  Index axis_a_, axis_b_;
  bool normalize_;
  Operand a_, b_;
};

}  // namespace eigennet
