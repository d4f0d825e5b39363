// Recurrent layers: SimpleRNN, LSTM and GRU with Keras 3's weight layouts and gate orders.
//
// A RecurrentCell is one direction of a recurrent layer. It computes over a parameter block it
// does not own (kernel (in, G*u), recurrent_kernel (u, G*u), bias), so that one Layer may hold
// one cell (RecurrentLayer) or two (Bidirectional) in its single parameter block.
//
// Inputs arrive batch-major, (batch, timesteps * features). Internally every sequence buffer is
// time-major, (timesteps * batch, ...), with the steps in processing order (reversed when
// go_backwards), so that
//   - the input projection of all steps is one GEMM, (T*B, in) x (in, G*u), then each step is
//     one GEMM on contiguous rows, (B, u) x (u, G*u), against the recurrent kernel packed once
//     per batch (PackedMatrix). LSTM and SimpleRNN without dropout masks instead run one GEMM
//     per step, [x_t | h_{t-1} | 1] x [kernel; recurrent_kernel; bias] (adjacent in the
//     parameter block): the separate projection, of depth `in` only, streams a (T*B, G*u)
//     buffer through memory and measured about 3x slower per flop than the per-step products;
//     fused, each step's pre-activations are produced where they are consumed.
//   - the weight gradients are GEMMs over all T*B rows. Each row of the sequence buffer is
//     [x_t | h_{t-1} | 1], the same order as kernel, recurrent_kernel and bias in the parameter
//     block, so LSTM and SimpleRNN get all three as buffer^T x dL/dz, which each thread
//     accumulates over its rows every few steps of the backward loop while they are in cache
//     (GradientAccumulator); the other cases run whole-sequence GEMMs after the loop.
// The time loops run once per thread on disjoint row ranges of the batch (samples do not
// interact), so there is no barrier per step; per-step GEMMs then run on one thread each.
// Results do not depend on the thread count: each sample's arithmetic is the same whichever
// thread runs it.
//
// Dropout follows Keras 3: masks are drawn once per batch and kept for every step, valued 0 or
// 1 / (1 - rate). Without recurrent dropout one input mask serves every gate; with recurrent
// dropout (Keras's implementation 1) each gate has its own input and recurrent mask.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/packed_gemm.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/random.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

enum class CellKind { SimpleRNN, LSTM, GRU };

struct RecurrentConfig {
  CellKind kind = CellKind::LSTM;
  Index units = 0;
  Activation activation = Activation::Tanh;
  Activation recurrent_activation = Activation::Sigmoid;  // gates of LSTM and GRU
  bool use_bias = true;
  bool return_sequences = false;
  bool go_backwards = false;
  bool reset_after = true;  // GRU only
  double dropout = 0, recurrent_dropout = 0;
  uint64_t seed = 0;
  // A masked step's output: zeros (Keras's zero_output_for_mask, which Bidirectional sets
  // with return_sequences), else the previous output.
  bool zero_output_for_mask = false;
};

const char* cell_name(CellKind kind);

template <class T>
class RecurrentCell {
 public:
  virtual ~RecurrentCell() = default;

  // Validates the sample shape (timesteps, features) and returns the output sample shape.
  Shape build(const Shape& input_shape);
  // Names and shapes of the weights in Keras order: kernel, recurrent_kernel[, bias].
  std::vector<std::pair<std::string, Shape>> weight_shapes() const;
  Index param_count() const;
  const RecurrentConfig& config() const { return c_; }
  // (seed, masks drawn so far) decides every later dropout mask: saved with the model.
  std::pair<uint64_t, uint64_t> rng_state() const { return stream_.state(); }
  void set_rng_state(std::pair<uint64_t, uint64_t> state) { stream_.set_state(state); }
  // A copy for another call of the layer: same configuration and random stream, own buffers.
  virtual std::unique_ptr<RecurrentCell<T>> clone() const = 0;

  // Keras's mask of the next forward (and its backward): (batch, T) values, 0 for a step to
  // skip (the state carries over it; its output is the previous one, or zeros), or null.
  void set_step_mask(const T* mask) { step_mask_ = mask; }
  // Keras's initial_state of the next forward: (batch, u) values of h (and LSTM's c), or null
  // for zeros.
  void set_initial_state(const T* h0, const T* c0) {
    h0_ = h0;
    c0_ = c0;
  }
  // The next backward's gradients reaching the final states (Keras's return_state), (batch, u)
  // each or null, and whether it computes the initial states' gradients (initial_h_grad,
  // initial_c_grad).
  void set_state_gradients(const T* dh_final, const T* dc_final, bool to_initial) {
    dh_final_ = dh_final;
    dc_final_ = dc_final;
    to_initial_ = to_initial;
  }
  // After forward: batch row b's final states (carried over masked steps), u values each.
  const T* final_h(Index b) const { return h_row(rows(steps_) + b); }
  virtual const T* final_c(Index) const { return nullptr; }
  // After backward with to_initial: dL/d(initial state) of row b.
  const T* initial_h_grad(Index b) const { return dh_.data() + b * units_; }
  virtual const T* initial_c_grad(Index) const { return nullptr; }
  Index units() const { return units_; }
  // x: (batch, T * in); y: (batch, T * u) with return_sequences, else (batch, u).
  void forward(const T* params, ConstMatrixMap<T> x, MatrixMap<T> y, bool training);
  // After forward on the same batch. grad_y is read only; param_grad (same layout as params)
  // is overwritten unless null; grad_x is overwritten unless null.
  void backward(const T* params, ConstMatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* grad_x);

 protected:
  RecurrentCell(const RecurrentConfig& config, Index gates);

  // Cell hooks. Buffers are sized by the base before they run.
  virtual void reserve_cell(Index batch) = 0;
  // All steps for batch rows [b0, b1) (step_preactivations gives each step's x K + h R).
  virtual void forward_rows(const T* params, Index b0, Index b1) = 0;
  // All steps backwards for rows [b0, b1); leaves dL/d(gate pre-activations) in gates_.
  virtual void backward_rows(const T* params, const T* grad_y, Index b0, Index b1) = 0;
  // Gradients of recurrent_kernel and of the bias (after backward_rows on every row), when
  // they are not all in one GEMM (see fused_gradients).
  virtual void recurrent_gradients(const T* params, T* param_grad) = 0;
  // True when z = [x | h_prev | 1] x [kernel; recurrent_kernel; bias] and so
  // dL/d(kernel, recurrent_kernel, bias) = [x | h_prev | 1]^T x dL/dz (LSTM, SimpleRNN); the
  // base then fuses them unless dropout masks differ between gates.
  virtual bool fused_gradients() const { return false; }

  // -- masked steps: the cells call these around each step ---------------------------------
  // Forward, after step s of rows [b0, b0 + nb): a masked row keeps h_{s-1} (and the cell's
  // other state, rows ld_state apart in `state` laid out like h, when non-null).
  void hold_masked_rows(Index s, Index b0, Index nb, T* state, Index ld_state) const;
  // Backward, before step s: a masked row's incoming gradients (dh_next, dc: rows b0.. of the
  // thread, u apart) are set aside and zeroed, so that the step computes no gate gradient;
  // after it (after the recurrent product), they pass on unchanged to step s - 1.
  void begin_masked_step(Index s, Index b0, Index nb, T* dh_next, T* dc);
  void end_masked_step(Index s, Index b0, Index nb, T* dh_next, T* dc) const;

  // -- initial and final states --------------------------------------------------------------
  // Before the backward loop: dL/dh (and dL/dc) after the last step of rows [b0, b0 + nb):
  // the final states' gradients, or zeros.
  void start_state_gradients(Index b0, Index nb, T* dh_next, T* dc) const;
  // Whether the backward loop takes step s's gradient back to h_{s-1} (always but at the
  // first step, unless the initial state's gradient is wanted).
  bool reaches_previous(Index s) const { return s > 0 || to_initial_; }

  // -- shared pieces for the cells --------------------------------------------------------
  // Called by fused cells after writing dL/dz of step s for rows [r0, r0 + nb) (r0 = rows(s)
  // + b0): accumulates the thread's weight gradients every few steps.
  void accumulate_step(Index s, Index r0, Index nb);
  Index rows(Index step) const { return step * batch_; }  // first row of a step
  const T* recurrent_kernel(const T* params) const { return params + in_ * gu_; }
  const T* bias(const T* params) const { return params + (in_ + units_) * gu_; }
  // dL/dy of step s for batch row b, or null when the step's output is not returned.
  const T* grad_output(const T* grad_y, Index s, Index b) const;
  // h_{s-1} of row r = s*B + b (h_s is at r + B); rows are ld_ apart.
  T* h_row(Index r) const { return xh_.data() + r * ld_ + in_; }
  // gates_ rows [r0, r0 + nb) of step s (r0 = rows(s) + b0) = x K + h_prev R, plus the bias
  // when fused_ (otherwise the input projection was already there and the cell adds the bias).
  void step_preactivations(const T* params, Index r0, Index b0, Index nb, T* scratch);
  // out (nb, cols) (+)= h (nb, u, rows ld_ apart) x R[:, col0 : col0 + cols] for rows
  // [b0, b0 + nb); with recurrent dropout each gate block sees h times its own mask
  // (scratch: nb x u).
  void recurrent_product(const T* R, const T* h, Index b0, Index nb, Index col0, Index cols, T* out,
                         Index ldo, bool accumulate, T* scratch) const;
  // dh (nb, u) (+)= dz (nb, cols) x R[:, col0 : col0 + cols]^T, masks as above.
  void recurrent_product_grad(const T* R, const T* dz, Index ldz, Index b0, Index nb, Index col0,
                              Index cols, T* dh, bool accumulate, T* scratch) const;
  // dR[:, col0 : col0 + cols] = src^T x dz over all T*B rows (src: (T*B, u), rows ld_src
  // apart, the recurrent input of each step; masks applied per gate when `masked`).
  void recurrent_weight_grad(const T* src, Index ld_src, bool masked, const T* dz, Index ldz,
                             Index col0, Index cols, T* dR);
  // db[0:n] = column sums of dz (T*B, n) with leading dimension ldz.
  void column_sums(const T* dz, Index ldz, Index n, T* db);
  const T* recurrent_mask(Index gate) const;                                 // (B, u) or null
  T* row_temp(Index b0) { return row_tmp_.data() + b0 * (gu_ + units_); }    // G*u + u values
  Index pack_stride() const { return (std::max(gu_, ld_) + 15) / 16 * 16; }  // 64-byte aligned
  T* pack_buffer(Index b0) const { return pack_buffers_.data() + b0 * pack_stride(); }
  // z = act(z) in place over n values, and g *= act'(.) given y = act(pre) (pre is read only
  // when the activation's backward needs it). Softmax acts over the n values.
  static void activate(Activation a, T* z, Index n);
  static void activation_grad(Activation a, const T* pre, const T* y, T* g, Index n);
  // The same on a (rows, cols) block with leading dimensions: one vectorised pass for the
  // element-wise activations, row by row otherwise (softmax acts over each row's cols).
  static void activate_block(Activation a, T* z, Index rows, Index cols, Index ld);
  static void activation_grad_block(Activation a, const T* pre, Index ld_pre, const T* y,
                                    Index ld_y, T* g, Index ld_g, Index rows, Index cols);
  // dL/dy of step s for batch rows from b0 (rows *ld apart), or null.
  const T* grad_output_block(const T* grad_y, Index s, Index b0, Index* ld) const;

  RecurrentConfig c_;
  Index gates_count_, units_, gu_;  // G, u, G*u
  Index steps_ = 0, in_ = 0, batch_ = 0;
  bool store_preactivations_ = false;  // an activation's backward needs its input
  Index ld_ = 0;                       // in + u (+ 1 with a bias): a row of xh_
  mutable Workspace<T> xh_;            // ((T+1)*B, ld_): [x_t (masked) | h_{t-1} | 1] per step
  Workspace<T> xs_;                    // (G * T*B, in): per-gate masked inputs (implementation 1)
  Workspace<T> gates_;                 // (T*B, G*u): projections -> gate values -> their gradients
  Workspace<T> pre_;                   // (T*B, G*u): pre-activations, when store_preactivations_
  Workspace<T> scratch_;               // (B, u): a thread's rows hold matrix temporaries
  Workspace<T> row_tmp_;               // (B, G*u + u): a thread's rows hold its temporaries
  Workspace<T> dh_;                    // (B, u): dL/dh of the next step's recurrent input, per row
  Workspace<T> ones_, dx_;
  // The recurrent kernel packed once per batch for the per-step products (forward: R,
  // backward: R^T), and per-thread buffers for the other operand ((B, G*u rounded up)).
  PackedMatrix<T> packed_r_, packed_rt_;
  PackedMatrix<T> packed_w_;  // [kernel; recurrent_kernel; bias] when fused_
  bool fused_ = false;        // the last forward ran one GEMM per step (see above)
  // Backward of a fused cell: the batch rows fall in groups fixed by the batch size alone, each
  // with its own accumulator and weight gradient (group 0's is param_grad itself; the others
  // are summed into it in group order), and threads take whole groups: the sums do not depend
  // on the thread count.
  std::vector<GradientAccumulator<T>> accumulators_;
  std::vector<T*> grad_targets_;
  Workspace<T> partial_grads_;
  Index chunk_steps_ = 1, group_rows_ = 1;
  bool accumulating_ = false;
  // (G_in*B, in), (G*B, u); values 0 or 1/(1-rate). Mutable: read by the const helpers.
  mutable Workspace<T> in_masks_, rec_masks_;
  mutable Workspace<T> pack_buffers_;
  Index in_mask_count_ = 0;  // 0, 1 (shared by the gates) or G
  bool rec_masked_ = false;
  RandomStream stream_;  // shared by the cell's copies (see Layer::clone)
  // Masking (see set_step_mask): keep_ (T, B) holds 1 or 0 per step in processing order.
  const T* step_mask_ = nullptr;
  bool masked_ = false;
  Workspace<T> keep_, carry_h_, carry_c_, masked_dy_;
  // Per batch row: its first kept step (steps_ when none). A masked step's output is the last
  // kept step's, or zeros before any (Keras's, whatever the initial state).
  std::vector<Index> first_kept_;
  const T* grad_y_ = nullptr;  // the backward's grad_y, unmasked
  // Initial states and the final states' gradients (see set_initial_state and
  // set_state_gradients); null: zeros.
  const T *h0_ = nullptr, *c0_ = nullptr, *dh_final_ = nullptr, *dc_final_ = nullptr;
  bool to_initial_ = false;

 private:
  bool kept(Index s, Index b) const { return !masked_ || keep_.data()[s * batch_ + b] != T(0); }
  // Whether step s's output is a constant zero for row b (a masked step, see first_kept_).
  bool zero_output(Index s, Index b) const {
    return !kept(s, b) && (c_.zero_output_for_mask || s < first_kept_[size_t(b)]);
  }
  void draw_masks(bool training);
  void gather_inputs(ConstMatrixMap<T> x);
  void project_inputs(const T* params);
};

template <class T>
std::unique_ptr<RecurrentCell<T>> make_recurrent_cell(const RecurrentConfig& config);
// The input shapes of a recurrent layer: (T, features), then optionally its mask (T); throws
// std::invalid_argument naming `layer` otherwise.
void check_masked_inputs(const std::vector<Shape>& input_shapes, const char* layer);
// The cells' factories, one per file.
template <class T>
std::unique_ptr<RecurrentCell<T>> make_simple_rnn_cell(const RecurrentConfig& config);
template <class T>
std::unique_ptr<RecurrentCell<T>> make_lstm_cell(const RecurrentConfig& config);
template <class T>
std::unique_ptr<RecurrentCell<T>> make_gru_cell(const RecurrentConfig& config);

// SimpleRNN, LSTM or GRU as a layer: one cell over the layer's parameter block.
template <class T>
class RecurrentLayer : public Layer<T> {
 public:
  explicit RecurrentLayer(const RecurrentConfig& config);
  RecurrentLayer(const RecurrentLayer& other)
      : Layer<T>(other),
        cell_(other.cell_->clone()),
        initial_state_(other.initial_state_),
        return_state_(other.return_state_),
        output_size_(other.output_size_) {}
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<RecurrentLayer>(*this);
  }
  // A copy of this built layer (sharing its weights) for a call with Keras's initial_state
  // (inputs: x, h0[, c0 for LSTM][, mask]) and/or return_state (output: (S + T, u) or
  // (S + 1, u), the S final states h[, c] as steps before the output's), built for
  // `input_shapes`.
  std::shared_ptr<Layer<T>> with_states(bool initial_state, bool return_state,
                                        const std::vector<Shape>& input_shapes) const;
  // States per call: h, and c for LSTM.
  Index state_count() const { return cell_->config().kind == CellKind::LSTM ? 2 : 1; }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;
  // Inputs: x, then the initial states (with_states), then optionally Keras's mask (batch, T)
  // (see set_step_mask).
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                      bool training) override;
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) override;
  RecurrentCell<T>& cell() { return *cell_; }

 protected:
  Shape do_build(const Shape& input_shape) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  std::unique_ptr<RecurrentCell<T>> cell_;
  bool initial_state_ = false, return_state_ = false;
  Index output_size_ = 0;  // the cell's output values per sample (after the packed states)
  // return_state: the cell's output, and the final states' gradients, as contiguous rows
  Workspace<T> cell_y_, grad_cell_y_, grad_h_, grad_c_;
};

// Runs fn(b0, b1) on disjoint row ranges covering [0, rows), one per thread, or once on one
// thread when the work (flops) is too small to share. Range bounds fall on multiples of
// `granule` (whole gradient groups). (A template: a std::function holding the caller's lambda
// would allocate at every call.)
int row_range_threads(Index rows, double flops);
template <class Fn>
void for_row_ranges(Index rows, double flops, Fn&& fn, Index granule = 1) {
  const Index units = (rows + granule - 1) / granule;
  const int threads = static_cast<int>(std::min<Index>(row_range_threads(rows, flops), units));
  if (threads < 2) {
    fn(Index{0}, rows);
    return;
  }
  const ProductPrecision precision = product_precision();
#pragma omp parallel num_threads(threads)
  {
    const ProductPrecisionScope scope(precision);  // the calling thread's, on every thread
    const Index t = omp_get_thread_num(), n = omp_get_num_threads();
    const Index b0 = std::min(rows, units * t / n * granule);
    const Index b1 = std::min(rows, units * (t + 1) / n * granule);
    if (b0 < b1) fn(b0, b1);
  }
}

}  // namespace eigennet
