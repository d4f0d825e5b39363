// Bidirectional: a forward and a backward recurrent cell over the same sequence, merged as
// Keras 3 does. The backward cell's outputs are flipped back to input order when sequences are
// returned. Parameters: the forward cell's weights, then the backward cell's (Keras's order).
// Copies for calls with Keras's initial_state / return_state (with_states) read and write the
// states as RecurrentLayer's do (see docs/graph.md).
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
  // A copy of this built layer (sharing its weights) for a call with Keras's initial_state
  // (inputs: x, the forward cell's S states, the backward cell's S states[, mask]) and/or
  // return_state (output: (S + T, uf + ub) or (S + 1, uf + ub): S steps [forward state k |
  // backward state k], then the outputs concatenated whatever the merge mode, which the caller
  // applies), built for `input_shapes`. Both cells must have the same number of states.
  std::shared_ptr<Layer<T>> with_states(bool initial_state, bool return_state,
                                        const std::vector<Shape>& input_shapes) const;
  // States per direction: h, and c for LSTM.
  Index state_count() const { return fwd_->config().kind == CellKind::LSTM ? 2 : 1; }
  RecurrentCell<T>& forward_cell() { return *fwd_; }
  RecurrentCell<T>& backward_cell() { return *bwd_; }

 protected:
  Shape do_build(const Shape& input_shape) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  // The two cells forwards (merged outputs into y) and backwards (from the merged outputs'
  // gradient), with the initial states, mask and state gradients the cells were given.
  void run(ConstMatrixMap<T> x, const T* mask, MatrixMap<T> y, bool training);
  void run_backward(ConstMatrixMap<T> x, ConstMatrixMap<T> grad_y, T* param_grad,
                    MatrixMap<T>* grad_x);
  // With return_state: the cell's final state k (0: h, 1: c) into y's columns from `offset`.
  void pack_state(const RecurrentCell<T>& cell, Index k, Index offset, MatrixMap<T> y) const;
  std::unique_ptr<RecurrentCell<T>> fwd_, bwd_;
  MergeMode merge_;
  Index split_ = 0;  // offset of the backward cell's weights
  Index steps_ = 1;  // output steps (1 without return_sequences)
  Index fwd_units_ = 0, bwd_units_ = 0;
  bool initial_state_ = false, return_state_ = false;
  // the merged output's values per sample (after the packed states with return_state)
  Index output_size_ = 0;
  Workspace<T> y_fwd_, y_bwd_;    // the cells' outputs
  Workspace<T> dy_fwd_, dy_bwd_;  // their gradients
  Workspace<T> dx_;               // the backward cell's input gradient
  // return_state: the merged output and its gradient, the final states' gradients (forward
  // h, c, backward h, c) as contiguous rows
  Workspace<T> merged_, grad_merged_, grad_states_[4];
};

}  // namespace eigennet
