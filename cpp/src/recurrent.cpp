#include "eigennet/layers/recurrent.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/gemm.hpp"
#include "eigennet/random.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

template <class T>
using Block = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                         Eigen::OuterStride<>>;
template <class T>
using ConstBlock =
    Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
               Eigen::OuterStride<>>;

// Below this many flops in the time loop (or rows per thread) one thread runs it: entering a
// parallel region costs a few microseconds.
constexpr double kRecurrentParallelFlops = 4.0e6;  // as gemm()
constexpr Index kMinRowsPerThread = 4;
// Rows (steps x a gradient group's batch rows) per weight-gradient product in the backward
// loop: deep enough that adding the product to the gradient (a load and store of all of it)
// is amortised, small enough that the packed blocks and the gradient stay in L2 (W6: 8 steps
// x 16 rows; measured 7 % faster backward than 4 x 16).
constexpr Index kGradientDepth = 128;
// Batch rows per weight-gradient group of a fused cell (at most kMaxGradientGroups groups):
// the groups bound how many threads share the backward loop.
constexpr Index kGradientGroupRows = 16;
constexpr Index kMaxGradientGroups = 8;

}  // namespace

const char* cell_name(CellKind kind) {
  switch (kind) {
    case CellKind::SimpleRNN:
      return "SimpleRNN";
    case CellKind::LSTM:
      return "LSTM";
    case CellKind::GRU:
      return "GRU";
  }
  return "RNN";
}

int row_range_threads(Index rows, double flops) {
  const Index threads = std::min<Index>(get_num_threads(), rows / kMinRowsPerThread);
  return flops < kRecurrentParallelFlops ? 1 : static_cast<int>(std::max<Index>(1, threads));
}

// -- RecurrentCell --------------------------------------------------------------------------

template <class T>
RecurrentCell<T>::RecurrentCell(const RecurrentConfig& config, Index gates)
    : c_(config),
      gates_count_(gates),
      units_(config.units),
      gu_(gates * config.units),
      stream_(config.seed) {
  const std::string name = cell_name(config.kind);
  if (config.units <= 0)
    throw std::invalid_argument(name + " units must be a positive integer, got " +
                                std::to_string(config.units));
  for (double rate : {config.dropout, config.recurrent_dropout})
    if (!(rate >= 0 && rate < 1))
      throw std::invalid_argument(name + " dropout rates must be in [0, 1), got " +
                                  std::to_string(rate));
  store_preactivations_ =
      activation_needs_input(config.activation) ||
      (config.kind != CellKind::SimpleRNN && activation_needs_input(config.recurrent_activation));
}

template <class T>
Shape RecurrentCell<T>::build(const Shape& input_shape) {
  const std::string name = cell_name(c_.kind);
  if (input_shape.size() != 2)
    throw std::invalid_argument(name +
                                " expects inputs of shape (batch, timesteps, features), got a "
                                "sample of rank " +
                                std::to_string(input_shape.size()));
  steps_ = input_shape[0];
  in_ = input_shape[1];
  if (steps_ <= 0 || in_ <= 0)
    throw std::invalid_argument(name + " needs at least one timestep and one feature");
  ld_ = in_ + units_ + (c_.use_bias ? 1 : 0);
  if (c_.return_sequences) return {steps_, units_};
  return {units_};
}

template <class T>
std::vector<std::pair<std::string, Shape>> RecurrentCell<T>::weight_shapes() const {
  std::vector<std::pair<std::string, Shape>> w = {{"kernel", {in_, gu_}},
                                                  {"recurrent_kernel", {units_, gu_}}};
  if (c_.use_bias) {
    if (c_.kind == CellKind::GRU && c_.reset_after)
      w.push_back({"bias", {2, gu_}});  // row 0 for the inputs, row 1 for the recurrent part
    else
      w.push_back({"bias", {gu_}});
  }
  return w;
}

template <class T>
Index RecurrentCell<T>::param_count() const {
  Index n = 0;
  for (const auto& w : weight_shapes()) n += shape_size(w.second);
  return n;
}

template <class T>
const T* RecurrentCell<T>::grad_output(const T* grad_y, Index s, Index b) const {
  if (c_.return_sequences) return grad_y + (b * steps_ + s) * units_;
  return s == steps_ - 1 ? grad_y + b * units_ : nullptr;
}

template <class T>
const T* RecurrentCell<T>::recurrent_mask(Index gate) const {
  return rec_masked_ ? rec_masks_.data() + gate * batch_ * units_ : nullptr;
}

template <class T>
void RecurrentCell<T>::activate(Activation a, T* z, Index n) {
  // The common gates inline, on a flat array: Eigen evaluates a 1 x n strided block ~1.3x
  // slower (logistic, 128 values: 68-77 vs 49-57 ns).
  ArrayMap<T> v(z, n);
  switch (a) {
    case Activation::Linear:
      return;
    case Activation::Sigmoid:
      v = v.logistic();
      return;
    case Activation::Tanh:
      v = v.tanh();
      return;
    default:
      activation_forward<T>(a, ConstMatrixMap<T>(z, 1, n), MatrixMap<T>(z, 1, n));
  }
}

template <class T>
void RecurrentCell<T>::activation_grad(Activation a, const T* pre, const T* y, T* g, Index n) {
  ArrayMap<T> gv(g, n);
  ConstArrayMap<T> yv(y, n);
  switch (a) {
    case Activation::Linear:
      return;
    case Activation::Sigmoid:
      gv *= yv * (T(1) - yv);
      return;
    case Activation::Tanh:
      gv *= T(1) - yv.square();
      return;
    default:
      activation_backward<T>(a, ConstMatrixMap<T>(pre ? pre : y, 1, n), ConstMatrixMap<T>(y, 1, n),
                             MatrixMap<T>(g, 1, n));
  }
}

template <class T>
void RecurrentCell<T>::activate_block(Activation a, T* z, Index rows, Index cols, Index ld) {
  if (ld == cols && a != Activation::Softmax) {  // element-wise over contiguous rows: one pass
    activate(a, z, rows * cols);
    return;
  }
  for (Index r = 0; r < rows; ++r) activate(a, z + r * ld, cols);
}

template <class T>
void RecurrentCell<T>::activation_grad_block(Activation a, const T* pre, Index ld_pre, const T* y,
                                             Index ld_y, T* g, Index ld_g, Index rows, Index cols) {
  Block<T> gv(g, rows, cols, Eigen::OuterStride<>(ld_g));
  ConstBlock<T> yv(y, rows, cols, Eigen::OuterStride<>(ld_y));
  switch (a) {
    case Activation::Linear:
      return;
    case Activation::Sigmoid:
      gv *= yv * (T(1) - yv);
      return;
    case Activation::Tanh:
      gv *= T(1) - yv.square();
      return;
    default:
      for (Index r = 0; r < rows; ++r)
        activation_grad(a, pre ? pre + r * ld_pre : nullptr, y + r * ld_y, g + r * ld_g, cols);
  }
}

template <class T>
const T* RecurrentCell<T>::grad_output_block(const T* grad_y, Index s, Index b0, Index* ld) const {
  *ld = c_.return_sequences ? steps_ * units_ : units_;
  return grad_output(grad_y, s, b0);
}

template <class T>
void RecurrentCell<T>::draw_masks(bool training) {
  const Index G = gates_count_;
  in_mask_count_ = training && c_.dropout > 0 ? (c_.recurrent_dropout > 0 ? G : 1) : 0;
  rec_masked_ = training && c_.recurrent_dropout > 0;
  if (!in_mask_count_ && !rec_masked_) return;
  // As Keras: kept values are scaled by 1 / (1 - rate) (in double, then in T).
  const uint64_t seed = stream_.seed(), draw = stream_.next_draw();
  auto fill = [&](T* mask, Index n, double rate, uint64_t first) {
    const T scale = T(1.0 / (1.0 - rate));
    const float r = float(rate);
    for (Index i = 0; i < n; ++i)
      mask[i] = uniform01(seed, draw, first + uint64_t(i)) >= r ? scale : T(0);
  };
  const Index n_in = in_mask_count_ * batch_ * in_;
  if (in_mask_count_)
    fill(in_masks_.view(in_mask_count_ * batch_, in_).data(), n_in, c_.dropout, 0);
  if (rec_masked_)
    fill(rec_masks_.view(G * batch_, units_).data(), G * batch_ * units_, c_.recurrent_dropout,
         uint64_t(n_in));
}

// Row (step s, batch row b) of xh_ gets x[b, t] (* the input mask), t = s or T-1-s when
// go_backwards; with per-gate masks copy g goes to xs_ instead.
template <class T>
void RecurrentCell<T>::gather_inputs(ConstMatrixMap<T> x) {
  const bool copies_in_xs = in_mask_count_ > 1;
  const Index copies = copies_in_xs ? in_mask_count_ : 1;
  T* dst0 = copies_in_xs ? xs_.view(copies * steps_ * batch_, in_).data() : xh_.data();
  const Index ld = copies_in_xs ? in_ : ld_;
  for (Index g = 0; g < copies; ++g) {
    const T* mask = in_mask_count_ ? in_masks_.data() + g * batch_ * in_ : nullptr;
    for (Index s = 0; s < steps_; ++s) {
      const Index t = c_.go_backwards ? steps_ - 1 - s : s;
      for (Index b = 0; b < batch_; ++b) {
        ArrayMap<T> dst(dst0 + ((g * steps_ + s) * batch_ + b) * ld, in_);
        ConstArrayMap<T> src(x.data() + (b * steps_ + t) * in_, in_);
        if (mask)
          dst = src * ConstArrayMap<T>(mask + b * in_, in_);
        else
          dst = src;
      }
    }
  }
}

// gates_ = x kernel (each gate block with its own masked inputs when there are G copies).
template <class T>
void RecurrentCell<T>::project_inputs(const T* params) {
  const Index n = steps_ * batch_;
  if (in_mask_count_ <= 1) {
    gemm<T>(false, false, n, gu_, in_, xh_.data(), ld_, params, gu_, gates_.data(), gu_);
    return;
  }
  for (Index g = 0; g < gates_count_; ++g)
    gemm<T>(false, false, n, units_, in_, xs_.data() + g * n * in_, in_, params + g * units_, gu_,
            gates_.data() + g * units_, gu_);
}

template <class T>
void RecurrentCell<T>::forward(const T* params, ConstMatrixMap<T> x, MatrixMap<T> y,
                               bool training) {
  if (x.cols() != steps_ * in_)
    throw std::invalid_argument(std::string(cell_name(c_.kind)) + " expects " +
                                std::to_string(steps_ * in_) + " values per sample, got " +
                                std::to_string(x.cols()));
  batch_ = x.rows();
  const Index n = steps_ * batch_, u = units_;
  masked_ = step_mask_ != nullptr;
  if (masked_) {
    T* keep = keep_.view(steps_, batch_).data();
    first_kept_.assign(size_t(batch_), steps_);
    for (Index s = steps_ - 1; s >= 0; --s) {
      const Index t = c_.go_backwards ? steps_ - 1 - s : s;
      for (Index b = 0; b < batch_; ++b) {
        keep[s * batch_ + b] = step_mask_[b * steps_ + t] != T(0) ? T(1) : T(0);
        if (keep[s * batch_ + b] != T(0)) first_kept_[size_t(b)] = s;
      }
    }
    carry_h_.view(batch_, u);
    carry_c_.view(batch_, u);
  }
  draw_masks(training);
  gates_.view(n, gu_);
  if (store_preactivations_) pre_.view(n, gu_);
  T* xh = xh_.view(n + batch_, ld_).data();
  scratch_.view(batch_, u);
  row_tmp_.view(batch_, gu_ + u);
  dh_.view(batch_, u);
  pack_buffers_.view(batch_, pack_stride());
  reserve_cell(batch_);
  fused_ = fused_gradients() && in_mask_count_ <= 1 && !rec_masked_;
  if (fused_)
    packed_w_.pack(params, gu_, ld_, gu_, false);
  else
    packed_r_.pack(recurrent_kernel(params), gu_, u, gu_, false);
  gather_inputs(x);
  if (c_.use_bias)
    for (Index r = 0; r < n; ++r) xh[r * ld_ + in_ + u] = T(1);
  for (Index b = 0; b < batch_; ++b) {  // the initial state
    if (h0_)
      std::copy_n(h0_ + b * u, u, h_row(b));
    else
      std::fill_n(h_row(b), u, T(0));
  }
  if (!fused_) project_inputs(params);
  const double flops = 2.0 * double(n) * double(u) * double(gu_);
  for_row_ranges(batch_, flops, [&](Index b0, Index b1) {
    forward_rows(params, b0, b1);
    for (Index b = b0; b < b1; ++b) {
      if (c_.return_sequences) {
        for (Index s = 0; s < steps_; ++s) {
          T* out = y.data() + (b * steps_ + s) * u;
          if (masked_ && zero_output(s, b))
            std::fill_n(out, u, T(0));
          else
            std::copy_n(h_row(rows(s + 1) + b), u, out);
        }
      } else if (masked_ && zero_output(steps_ - 1, b)) {
        std::fill_n(y.data() + b * u, u, T(0));
      } else {
        std::copy_n(h_row(rows(steps_) + b), u, y.data() + b * u);
      }
    }
  });
}

template <class T>
void RecurrentCell<T>::backward(const T* params, ConstMatrixMap<T> grad_y, T* param_grad,
                                MatrixMap<T>* grad_x) {
  const Index n = steps_ * batch_;
  if (grad_y.rows() != batch_) throw std::logic_error("recurrent backward batch differs");
  if (!param_grad && !grad_x && !to_initial_) return;
  const double flops = 2.0 * double(n) * double(units_) * double(gu_);
  packed_rt_.pack(recurrent_kernel(params), gu_, gu_, units_, true);
  // [kernel; recurrent_kernel; bias] = [x | h_prev | 1]^T x dz, in the parameters' layout,
  // accumulated inside the loop by fused cells
  accumulating_ = param_grad && fused_;
  Index groups = 1;
  if (accumulating_) {
    groups = std::clamp<Index>(batch_ / kGradientGroupRows, 1, kMaxGradientGroups);
    group_rows_ = (batch_ + groups - 1) / groups;
    groups = (batch_ + group_rows_ - 1) / group_rows_;
    chunk_steps_ = std::max<Index>(1, std::min(steps_, kGradientDepth / group_rows_));
    if (accumulators_.size() < size_t(groups)) accumulators_.resize(size_t(groups));
    for (auto& acc : accumulators_) acc.reserve(ld_, gu_, chunk_steps_ * group_rows_);
    const Index size = ld_ * gu_;
    T* partials = partial_grads_.view(std::max<Index>(1, groups - 1), size).data();
    grad_targets_.assign(size_t(groups), param_grad);
    for (Index g = 1; g < groups; ++g) grad_targets_[size_t(g)] = partials + (g - 1) * size;
    for (T* target : grad_targets_) std::fill_n(target, size, T(0));
  }
  // Masked steps: the cells see no output gradient there (begin_masked_step passes it on).
  grad_y_ = grad_y.data();
  const T* gy = grad_y.data();
  if (masked_) {
    T* copy = masked_dy_.view(grad_y.rows(), grad_y.cols()).data();
    std::copy_n(grad_y.data(), grad_y.size(), copy);
    for (Index s = 0; s < steps_; ++s)
      for (Index b = 0; b < batch_; ++b)
        if (!kept(s, b))
          if (const T* dy = grad_output(copy, s, b)) std::fill_n(const_cast<T*>(dy), units_, T(0));
    gy = copy;
  }
  for_row_ranges(
      batch_, flops, [&](Index b0, Index b1) { backward_rows(params, gy, b0, b1); },
      accumulating_ ? group_rows_ : 1);
  const T* dz = gates_.data();
  if (accumulating_) {
    for (Index g = 1; g < groups; ++g)
      VectorMap<T>(param_grad, ld_ * gu_) += ConstVectorMap<T>(grad_targets_[size_t(g)], ld_ * gu_);
  } else if (param_grad) {
    // kernel: x^T x dz (per gate block when each has its own masked inputs)
    if (in_mask_count_ <= 1) {
      gemm<T>(true, false, in_, gu_, n, xh_.data(), ld_, dz, gu_, param_grad, gu_);
    } else {
      for (Index g = 0; g < gates_count_; ++g)
        gemm<T>(true, false, in_, units_, n, xs_.data() + g * n * in_, in_, dz + g * units_, gu_,
                param_grad + g * units_, gu_);
    }
    recurrent_gradients(params, param_grad);
  }
  if (!grad_x) return;
  // dx in processing order, then back to (batch, T * in) with the masks applied.
  const Index copies = std::max<Index>(1, in_mask_count_);
  T* dx = dx_.view(copies * n, in_).data();
  if (copies == 1) {
    gemm<T>(false, true, n, in_, gu_, dz, gu_, params, gu_, dx, in_);
  } else {
    for (Index g = 0; g < gates_count_; ++g)
      gemm<T>(false, true, n, in_, units_, dz + g * units_, gu_, params + g * units_, gu_,
              dx + g * n * in_, in_);
  }
  T* out = grad_x->data();
  for (Index s = 0; s < steps_; ++s) {
    const Index t = c_.go_backwards ? steps_ - 1 - s : s;
    for (Index b = 0; b < batch_; ++b) {
      ArrayMap<T> dst(out + (b * steps_ + t) * in_, in_);
      for (Index g = 0; g < copies; ++g) {
        ConstArrayMap<T> src(dx + ((g * steps_ + s) * batch_ + b) * in_, in_);
        if (in_mask_count_) {
          ConstArrayMap<T> mask(in_masks_.data() + (g * batch_ + b) * in_, in_);
          if (g == 0)
            dst = src * mask;
          else
            dst += src * mask;
        } else {
          dst = src;
        }
      }
    }
  }
}

template <class T>
void RecurrentCell<T>::accumulate_step(Index s, Index r0, Index nb) {
  if (!accumulating_) return;
  // chunks of chunk_steps_ steps, counted from the last step (the loop runs backwards)
  const Index pos = (steps_ - 1 - s) % chunk_steps_;
  const Index b0 = r0 - rows(s);  // the rows [b0, b0 + nb) are whole groups
  for (Index lo = b0; lo < b0 + nb; lo += group_rows_) {
    const Index g = lo / group_rows_, count = std::min(group_rows_, batch_ - lo);
    auto& acc = accumulators_[size_t(g)];
    if (pos == 0) acc.begin(std::min(chunk_steps_, s + 1) * count);
    const Index r = rows(s) + lo;
    acc.add(xh_.data() + r * ld_, ld_, gates_.data() + r * gu_, gu_, count);
    if (pos == chunk_steps_ - 1 || s == 0) acc.finish(grad_targets_[size_t(g)], gu_);
  }
}

template <class T>
void RecurrentCell<T>::step_preactivations(const T* params, Index r0, Index b0, Index nb,
                                           T* scratch) {
  T* out = gates_.data() + r0 * gu_;
  if (fused_) {
    packed_w_.multiply(xh_.data() + r0 * ld_, ld_, nb, out, gu_, false, pack_buffer(b0));
    return;
  }
  recurrent_product(recurrent_kernel(params), h_row(r0), b0, nb, 0, gu_, out, gu_, true, scratch);
}

template <class T>
void RecurrentCell<T>::recurrent_product(const T* R, const T* h, Index b0, Index nb, Index col0,
                                         Index cols, T* out, Index ldo, bool accumulate,
                                         T* scratch) const {
  const Index u = units_;
  if (!rec_masked_ && col0 == 0 && cols == gu_) {
    packed_r_.multiply(h, ld_, nb, out, ldo, accumulate, pack_buffer(b0));
    return;
  }
  if (!rec_masked_) {
    gemm<T>(false, false, nb, cols, u, h, ld_, R + col0, gu_, out, ldo, accumulate);
    return;
  }
  using Strided = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;
  for (Index col = col0; col < col0 + cols; col += u) {
    ConstMatrixMap<T> mask(recurrent_mask(col / u) + b0 * u, nb, u);
    MatrixMap<T>(scratch, nb, u) = Strided(h, nb, u, Eigen::OuterStride<>(ld_)).cwiseProduct(mask);
    gemm<T>(false, false, nb, u, u, scratch, u, R + col, gu_, out + (col - col0), ldo, accumulate);
  }
}

template <class T>
void RecurrentCell<T>::recurrent_product_grad(const T* R, const T* dz, Index ldz, Index b0,
                                              Index nb, Index col0, Index cols, T* dh,
                                              bool accumulate, T* scratch) const {
  const Index u = units_;
  if (!rec_masked_ && col0 == 0 && cols == gu_) {
    packed_rt_.multiply(dz, ldz, nb, dh, u, accumulate, pack_buffer(b0));
    return;
  }
  if (!rec_masked_) {
    gemm<T>(false, true, nb, u, cols, dz, ldz, R + col0, gu_, dh, u, accumulate);
    return;
  }
  MatrixMap<T> out(dh, nb, u);
  for (Index col = col0; col < col0 + cols; col += u) {
    gemm<T>(false, true, nb, u, u, dz + (col - col0), ldz, R + col, gu_, scratch, u);
    ConstMatrixMap<T> mask(recurrent_mask(col / u) + b0 * u, nb, u);
    if (col == col0 && !accumulate)
      out = ConstMatrixMap<T>(scratch, nb, u).cwiseProduct(mask);
    else
      out += ConstMatrixMap<T>(scratch, nb, u).cwiseProduct(mask);
  }
}

template <class T>
void RecurrentCell<T>::recurrent_weight_grad(const T* src, Index ld_src, bool masked, const T* dz,
                                             Index ldz, Index col0, Index cols, T* dR) {
  const Index n = steps_ * batch_, u = units_;
  if (!masked || !rec_masked_) {
    gemm<T>(true, false, u, cols, n, src, ld_src, dz, ldz, dR + col0, gu_);
    return;
  }
  using Strided = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;
  T* tmp = dx_.view(n, u).data();  // free until the input gradient is computed
  for (Index col = col0; col < col0 + cols; col += u) {
    ConstMatrixMap<T> mask(recurrent_mask(col / u), batch_, u);
    for (Index s = 0; s < steps_; ++s)
      MatrixMap<T>(tmp + rows(s) * u, batch_, u) =
          Strided(src + rows(s) * ld_src, batch_, u, Eigen::OuterStride<>(ld_src))
              .cwiseProduct(mask);
    gemm<T>(true, false, u, u, n, tmp, u, dz + (col - col0), ldz, dR + col, gu_);
  }
}

template <class T>
void RecurrentCell<T>::column_sums(const T* dz, Index ldz, Index n_cols, T* db) {
  const Index n = steps_ * batch_;
  T* ones = ones_.view(1, n).data();
  std::fill(ones, ones + n, T(1));
  gemm<T>(false, false, 1, n_cols, n, ones, n, dz, ldz, db, n_cols);
}

template <class T>
std::unique_ptr<RecurrentCell<T>> make_recurrent_cell(const RecurrentConfig& config) {
  switch (config.kind) {
    case CellKind::SimpleRNN:
      return make_simple_rnn_cell<T>(config);
    case CellKind::LSTM:
      return make_lstm_cell<T>(config);
    case CellKind::GRU:
      return make_gru_cell<T>(config);
  }
  throw std::invalid_argument("unknown recurrent cell kind");
}

template <class T>
void RecurrentCell<T>::hold_masked_rows(Index s, Index b0, Index nb, T* state,
                                        Index ld_state) const {
  if (!masked_) return;
  for (Index b = b0; b < b0 + nb; ++b) {
    if (kept(s, b)) continue;
    const Index r = rows(s) + b;
    std::copy_n(h_row(r), units_, h_row(r + batch_));
    if (state) std::copy_n(state + r * ld_state, units_, state + (r + batch_) * ld_state);
  }
}

template <class T>
void RecurrentCell<T>::start_state_gradients(Index b0, Index nb, T* dh_next, T* dc) const {
  const Index u = units_;
  if (dh_final_)
    std::copy_n(dh_final_ + b0 * u, nb * u, dh_next);
  else
    std::fill_n(dh_next, nb * u, T(0));
  if (!dc) return;
  if (dc_final_)
    std::copy_n(dc_final_ + b0 * u, nb * u, dc);
  else
    std::fill_n(dc, nb * u, T(0));
}

template <class T>
void RecurrentCell<T>::begin_masked_step(Index s, Index b0, Index nb, T* dh_next, T* dc) {
  if (!masked_) return;
  const Index u = units_;
  for (Index k = 0; k < nb; ++k) {
    const Index b = b0 + k;
    if (kept(s, b)) continue;
    // The step's output is h_{s-1} (or a constant zero, see zero_output): its gradient joins
    // the carry.
    ArrayMap<T> carry(carry_h_.data() + b * u, u);
    carry = ConstArrayMap<T>(dh_next + k * u, u);
    const T* dy = zero_output(s, b) ? nullptr : grad_output(grad_y_, s, b);
    if (dy) carry += ConstArrayMap<T>(dy, u);
    std::fill_n(dh_next + k * u, u, T(0));
    if (dc) {
      std::copy_n(dc + k * u, u, carry_c_.data() + b * u);
      std::fill_n(dc + k * u, u, T(0));
    }
  }
}

template <class T>
void RecurrentCell<T>::end_masked_step(Index s, Index b0, Index nb, T* dh_next, T* dc) const {
  if (!masked_) return;
  const Index u = units_;
  for (Index k = 0; k < nb; ++k) {
    const Index b = b0 + k;
    if (kept(s, b)) continue;
    std::copy_n(carry_h_.data() + b * u, u, dh_next + k * u);
    if (dc) std::copy_n(carry_c_.data() + b * u, u, dc + k * u);
  }
}

void check_masked_inputs(const std::vector<Shape>& shapes, const char* layer) {
  if (shapes.empty() || shapes.size() > 2)
    throw std::invalid_argument(std::string(layer) + " takes one input and optionally its mask");
  if (shapes.size() == 2 &&
      !(shapes[1].size() == 1 && !shapes[0].empty() && shapes[1][0] == shapes[0][0]))
    throw std::invalid_argument(std::string(layer) + ": a mask must be (batch, timesteps), " +
                                std::to_string(shapes[0].empty() ? 0 : shapes[0][0]) +
                                " timesteps");
}

// -- RecurrentLayer -------------------------------------------------------------------------

template <class T>
RecurrentLayer<T>::RecurrentLayer(const RecurrentConfig& config)
    : cell_(make_recurrent_cell<T>(config)) {}

template <class T>
Shape RecurrentLayer<T>::do_build(const Shape& input_shape) {
  Shape out = cell_->build(input_shape);
  for (const auto& [name, shape] : cell_->weight_shapes()) this->add_weight(name, shape);
  output_size_ = shape_size(out);
  // return_state: the states are steps before the output's: (S + T, u), or (S + 1, u)
  if (return_state_) return {output_size_ / cell_->units() + state_count(), cell_->units()};
  return out;
}

template <class T>
Shape RecurrentLayer<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  const char* name = cell_name(cell_->config().kind);
  if (!initial_state_) {
    check_masked_inputs(input_shapes, name);
    return do_build(input_shapes[0]);
  }
  const size_t states = size_t(state_count());
  if (input_shapes.size() != 1 + states && input_shapes.size() != 2 + states)
    throw std::invalid_argument(std::string(name) + " with initial_state takes its input, " +
                                std::to_string(states) + " state(s) and optionally its mask");
  std::vector<Shape> data = {input_shapes[0]};
  if (input_shapes.size() == 2 + states) data.push_back(input_shapes.back());
  check_masked_inputs(data, name);
  for (size_t k = 1; k <= states; ++k)
    if (input_shapes[k] != Shape{cell_->units()})
      throw std::invalid_argument(std::string(name) + ": an initial state must be (batch, " +
                                  std::to_string(cell_->units()) + "), the layer's units");
  return do_build(input_shapes[0]);
}

template <class T>
std::shared_ptr<Layer<T>> RecurrentLayer<T>::with_states(
    bool initial_state, bool return_state, const std::vector<Shape>& input_shapes) const {
  RecurrentLayer<T> configured(*this);
  configured.initial_state_ = initial_state;
  configured.return_state_ = return_state;
  return configured.for_input_shapes(input_shapes);
}

template <class T>
void RecurrentLayer<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  forward_inputs(&x, 1, y, training);
}

template <class T>
void RecurrentLayer<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                                       bool training) {
  size_t k = 1;
  const T* h0 = initial_state_ ? xs[k++].data() : nullptr;
  const T* c0 = initial_state_ && state_count() == 2 ? xs[k++].data() : nullptr;
  cell_->set_initial_state(h0, c0);
  cell_->set_step_mask(n > k ? xs[k].data() : nullptr);
  if (!return_state_) {
    cell_->forward(this->params(), xs[0], y, training);
    return;
  }
  // packed as [h_final | c_final | output]: the states first, at fixed offsets whatever the
  // output's length
  const Index rows = xs[0].rows(), u = cell_->units();
  MatrixMap<T> out = cell_y_.view(rows, output_size_);
  cell_->forward(this->params(), xs[0], out, training);
  y.rightCols(output_size_) = out;
  for (Index b = 0; b < rows; ++b) {
    std::copy_n(cell_->final_h(b), u, y.data() + b * y.cols());
    if (state_count() == 2) std::copy_n(cell_->final_c(b), u, y.data() + b * y.cols() + u);
  }
}

template <class T>
void RecurrentLayer<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                                        MatrixMap<T> grad_y, T* param_grad,
                                        MatrixMap<T>* const* grad_xs) {
  const size_t states = initial_state_ ? size_t(state_count()) : 0;
  if (n > 1 + states && grad_xs[1 + states]) grad_xs[1 + states]->setZero();  // a mask's
  const bool to_initial = states > 0 && std::any_of(grad_xs + 1, grad_xs + 1 + states,
                                                    [](MatrixMap<T>* g) { return g != nullptr; });
  const Index rows = grad_y.rows(), u = cell_->units();
  const T *gy = grad_y.data(), *dh = nullptr, *dc = nullptr;
  if (return_state_) {
    MatrixMap<T> g = grad_cell_y_.view(rows, output_size_);
    g = grad_y.rightCols(output_size_);
    MatrixMap<T> gh = grad_h_.view(rows, u);
    gh = grad_y.leftCols(u);
    if (state_count() == 2) {
      MatrixMap<T> gc = grad_c_.view(rows, u);
      gc = grad_y.middleCols(u, u);
      dc = gc.data();
    }
    gy = g.data();
    dh = gh.data();
  }
  cell_->set_state_gradients(dh, dc, to_initial);
  cell_->backward(this->params(), ConstMatrixMap<T>(gy, rows, output_size_), param_grad,
                  grad_xs[0]);
  cell_->set_state_gradients(nullptr, nullptr, false);
  if (!to_initial) return;
  for (size_t k = 1; k <= states; ++k) {
    if (!grad_xs[k]) continue;
    for (Index b = 0; b < rows; ++b)
      std::copy_n(k == 1 ? cell_->initial_h_grad(b) : cell_->initial_c_grad(b), u,
                  grad_xs[k]->data() + b * u);
  }
}

template <class T>
void RecurrentLayer<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                                 T* param_grad, MatrixMap<T>* grad_x) {
  MatrixMap<T>* grads[] = {grad_x};
  backward_inputs(&x, 1, y, grad_y, param_grad, grads);
}

template class RecurrentCell<float>;
template class RecurrentCell<double>;
template std::unique_ptr<RecurrentCell<float>> make_recurrent_cell<float>(const RecurrentConfig&);
template std::unique_ptr<RecurrentCell<double>> make_recurrent_cell<double>(const RecurrentConfig&);
template class RecurrentLayer<float>;
template class RecurrentLayer<double>;

}  // namespace eigennet
