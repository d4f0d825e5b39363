// Bidirectional: a forward and a backward recurrent cell over the same sequence, merged as
// Keras 3 does. The backward cell's outputs are flipped back to input order when sequences are
// returned. Parameters: the forward cell's weights, then the backward cell's (Keras's order).
#pragma once

#include <memory>
#include <string>

#include "eigennet/layers/recurrent.hpp"

namespace eigennet {

enum class MergeMode { Concat, Sum, Mul, Ave };

// Parses "concat", "sum", "mul" or "ave"; throws std::invalid_argument otherwise.
MergeMode merge_mode_from_name(const std::string& name);

template <class T>
class Bidirectional : public Layer<T> {
 public:
  Bidirectional(const RecurrentConfig& forward, const RecurrentConfig& backward, MergeMode merge);
  Bidirectional(const Bidirectional& other);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<Bidirectional>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;
  // A second input, when given, is Keras's mask (batch, T) (see RecurrentCell::set_step_mask).
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                      bool training) override;
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) override;
  RecurrentCell<T>& forward_cell() { return *fwd_; }
  RecurrentCell<T>& backward_cell() { return *bwd_; }

 protected:
  Shape do_build(const Shape& input_shape) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  void run(ConstMatrixMap<T> x, const T* mask, MatrixMap<T> y, bool training);
  std::unique_ptr<RecurrentCell<T>> fwd_, bwd_;
  MergeMode merge_;
  Index split_ = 0;  // offset of the backward cell's weights
  Index steps_ = 1;  // output steps (1 without return_sequences)
  Index fwd_units_ = 0, bwd_units_ = 0;
  Workspace<T> y_fwd_, y_bwd_;    // the cells' outputs
  Workspace<T> dy_fwd_, dy_bwd_;  // their gradients
  Workspace<T> dx_;               // the backward cell's input gradient
};

}  // namespace eigennet
