#include "eigennet/layers/bidirectional.hpp"

#include <algorithm>
#include <stdexcept>

namespace eigennet {

MergeMode merge_mode_from_name(const std::string& name) {
  if (name == "concat") return MergeMode::Concat;
  if (name == "sum") return MergeMode::Sum;
  if (name == "mul") return MergeMode::Mul;
  if (name == "ave") return MergeMode::Ave;
  throw std::invalid_argument(
      "Bidirectional merge_mode must be one of concat, sum, mul, ave; got '" + name + "'");
}

namespace {
// Keras's Bidirectional gives masked steps zero outputs when it returns sequences.
RecurrentConfig zero_masked_outputs(RecurrentConfig config) {
  config.zero_output_for_mask = config.return_sequences;
  return config;
}
}  // namespace

template <class T>
Bidirectional<T>::Bidirectional(const RecurrentConfig& forward, const RecurrentConfig& backward,
                                MergeMode merge)
    : fwd_(make_recurrent_cell<T>(zero_masked_outputs(forward))),
      bwd_(make_recurrent_cell<T>(zero_masked_outputs(backward))),
      merge_(merge),
      fwd_units_(forward.units),
      bwd_units_(backward.units) {
  if (forward.go_backwards == backward.go_backwards)
    throw std::invalid_argument(
        "Bidirectional: the forward and backward layers must have different go_backwards");
  if (forward.return_sequences != backward.return_sequences)
    throw std::invalid_argument(
        "Bidirectional: the forward and backward layers must have the same return_sequences");
  if (merge != MergeMode::Concat && forward.units != backward.units)
    throw std::invalid_argument(
        "Bidirectional: merge modes sum, mul and ave need layers with the same units");
}

template <class T>
Bidirectional<T>::Bidirectional(const Bidirectional& other)
    : Layer<T>(other),
      fwd_(other.fwd_->clone()),
      bwd_(other.bwd_->clone()),
      merge_(other.merge_),
      split_(other.split_),
      steps_(other.steps_),
      fwd_units_(other.fwd_units_),
      bwd_units_(other.bwd_units_),
      initial_state_(other.initial_state_),
      return_state_(other.return_state_),
      output_size_(other.output_size_) {}

template <class T>
std::shared_ptr<Layer<T>> Bidirectional<T>::with_states(
    bool initial_state, bool return_state, const std::vector<Shape>& input_shapes) const {
  const bool lstm_f = fwd_->config().kind == CellKind::LSTM;
  const bool lstm_b = bwd_->config().kind == CellKind::LSTM;
  if (lstm_f != lstm_b)
    throw std::invalid_argument(
        "Bidirectional with initial_state or return_state needs forward and backward layers "
        "with the same number of states (both LSTM, or neither)");
  Bidirectional<T> configured(*this);
  configured.initial_state_ = initial_state;
  configured.return_state_ = return_state;
  // the packed states sit beside the outputs concatenated; the caller merges them
  if (return_state) configured.merge_ = MergeMode::Concat;
  return configured.for_input_shapes(input_shapes);
}

template <class T>
Shape Bidirectional<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  if (!initial_state_) {
    check_masked_inputs(input_shapes, "Bidirectional");
    return do_build(input_shapes[0]);
  }
  const size_t states = size_t(2 * state_count());
  if (input_shapes.size() != 1 + states && input_shapes.size() != 2 + states)
    throw std::invalid_argument("Bidirectional with initial_state takes its input, " +
                                std::to_string(states) + " states and optionally its mask");
  std::vector<Shape> data = {input_shapes[0]};
  if (input_shapes.size() == 2 + states) data.push_back(input_shapes.back());
  check_masked_inputs(data, "Bidirectional");
  for (size_t k = 1; k <= states; ++k) {
    const Index units = k <= states / 2 ? fwd_units_ : bwd_units_;
    if (input_shapes[k] != Shape{units})
      throw std::invalid_argument("Bidirectional: initial state " + std::to_string(k - 1) +
                                  " must be (batch, " + std::to_string(units) +
                                  "), its layer's units");
  }
  return do_build(input_shapes[0]);
}

template <class T>
void Bidirectional<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                                      bool training) {
  const Index S = state_count();
  const ConstMatrixMap<T>* states = initial_state_ ? xs + 1 : nullptr;
  fwd_->set_initial_state(states ? states[0].data() : nullptr,
                          states && S == 2 ? states[1].data() : nullptr);
  bwd_->set_initial_state(states ? states[S].data() : nullptr,
                          states && S == 2 ? states[S + 1].data() : nullptr);
  const size_t k = initial_state_ ? size_t(1 + 2 * S) : 1;
  const T* mask = n > k ? xs[k].data() : nullptr;
  if (!return_state_) {
    run(xs[0], mask, y, training);
    return;
  }
  // packed as RecurrentLayer's: the states first, at fixed offsets whatever the output's length
  MatrixMap<T> out = merged_.view(xs[0].rows(), output_size_);
  run(xs[0], mask, out, training);
  y.rightCols(output_size_) = out;
  for (Index s = 0; s < S; ++s) {
    pack_state(*fwd_, s, s * (fwd_units_ + bwd_units_), y);
    pack_state(*bwd_, s, s * (fwd_units_ + bwd_units_) + fwd_units_, y);
  }
}

template <class T>
void Bidirectional<T>::pack_state(const RecurrentCell<T>& cell, Index k, Index offset,
                                  MatrixMap<T> y) const {
  const Index u = cell.units();
  for (Index b = 0; b < y.rows(); ++b)
    std::copy_n(k == 0 ? cell.final_h(b) : cell.final_c(b), u, y.data() + b * y.cols() + offset);
}

template <class T>
void Bidirectional<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T>,
                                       MatrixMap<T> grad_y, T* param_grad,
                                       MatrixMap<T>* const* grad_xs) {
  const Index S = state_count();
  const size_t states = initial_state_ ? size_t(2 * S) : 0;
  if (n > 1 + states && grad_xs[1 + states]) grad_xs[1 + states]->setZero();  // a mask's
  auto wanted = [&](size_t first) {
    return states > 0 && std::any_of(grad_xs + first, grad_xs + first + S,
                                     [](MatrixMap<T>* g) { return g != nullptr; });
  };
  const bool to_fwd = wanted(1), to_bwd = wanted(1 + size_t(S));
  const Index rows = grad_y.rows(), W = fwd_units_ + bwd_units_;
  const T* dstates[4] = {nullptr, nullptr, nullptr, nullptr};  // forward h, c, backward h, c
  T* gy = grad_y.data();
  if (return_state_) {
    MatrixMap<T> g = grad_merged_.view(rows, output_size_);
    g = grad_y.rightCols(output_size_);
    gy = g.data();
    for (Index s = 0; s < S; ++s) {
      MatrixMap<T> f = grad_states_[s].view(rows, fwd_units_);
      MatrixMap<T> r = grad_states_[2 + s].view(rows, bwd_units_);
      f = grad_y.middleCols(s * W, fwd_units_);
      r = grad_y.middleCols(s * W + fwd_units_, bwd_units_);
      dstates[s] = f.data();
      dstates[2 + s] = r.data();
    }
  }
  fwd_->set_state_gradients(dstates[0], dstates[1], to_fwd);
  bwd_->set_state_gradients(dstates[2], dstates[3], to_bwd);
  run_backward(xs[0], ConstMatrixMap<T>(gy, rows, output_size_), param_grad, grad_xs[0]);
  fwd_->set_state_gradients(nullptr, nullptr, false);
  bwd_->set_state_gradients(nullptr, nullptr, false);
  for (size_t k = 1; k <= states; ++k) {
    if (!grad_xs[k]) continue;
    const bool forward = k <= size_t(S);
    const RecurrentCell<T>& cell = forward ? *fwd_ : *bwd_;
    const bool h = (forward ? k : k - size_t(S)) == 1;
    const Index u = cell.units();
    for (Index b = 0; b < rows; ++b)
      std::copy_n(h ? cell.initial_h_grad(b) : cell.initial_c_grad(b), u,
                  grad_xs[k]->data() + b * u);
  }
}

template <class T>
Shape Bidirectional<T>::do_build(const Shape& input_shape) {
  Shape out = fwd_->build(input_shape);
  bwd_->build(input_shape);
  for (const auto& [name, shape] : fwd_->weight_shapes())
    this->add_weight("forward_" + name, shape);
  for (const auto& [name, shape] : bwd_->weight_shapes())
    this->add_weight("backward_" + name, shape);
  split_ = fwd_->param_count();
  steps_ = fwd_->config().return_sequences ? input_shape[0] : 1;
  if (merge_ == MergeMode::Concat) out.back() = fwd_units_ + bwd_units_;
  output_size_ = shape_size(out);
  // return_state: the states are steps before the output's: (S + T, W), or (S + 1, W)
  const Index W = fwd_units_ + bwd_units_;
  if (return_state_) return {output_size_ / W + state_count(), W};
  return out;
}

template <class T>
void Bidirectional<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  forward_inputs(&x, 1, y, training);
}

template <class T>
void Bidirectional<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                                T* param_grad, MatrixMap<T>* grad_x) {
  MatrixMap<T>* grads[] = {grad_x};
  backward_inputs(&x, 1, y, grad_y, param_grad, grads);
}

template <class T>
void Bidirectional<T>::run(ConstMatrixMap<T> x, const T* mask, MatrixMap<T> y, bool training) {
  fwd_->set_step_mask(mask);
  bwd_->set_step_mask(mask);
  const Index B = x.rows(), uf = fwd_units_, ub = bwd_units_, S = steps_;
  MatrixMap<T> yf = y_fwd_.view(B, S * uf), yb = y_bwd_.view(B, S * ub);
  fwd_->forward(this->params(), x, yf, training);
  bwd_->forward(this->params() + split_, x, yb, training);
  const Index width = merge_ == MergeMode::Concat ? uf + ub : uf;
  for (Index b = 0; b < B; ++b) {
    for (Index t = 0; t < S; ++t) {
      // the backward cell's step S-1-t is input step t
      ConstArrayMap<T> f(yf.data() + (b * S + t) * uf, uf),
          r(yb.data() + (b * S + S - 1 - t) * ub, ub);
      T* out = y.data() + (b * S + t) * width;
      switch (merge_) {
        case MergeMode::Concat:
          ArrayMap<T>(out, uf) = f;
          ArrayMap<T>(out + uf, ub) = r;
          break;
        case MergeMode::Sum:
          ArrayMap<T>(out, uf) = f + r;
          break;
        case MergeMode::Mul:
          ArrayMap<T>(out, uf) = f * r;
          break;
        case MergeMode::Ave:
          ArrayMap<T>(out, uf) = (f + r) / T(2);
          break;
      }
    }
  }
}

template <class T>
void Bidirectional<T>::run_backward(ConstMatrixMap<T> x, ConstMatrixMap<T> grad_y, T* param_grad,
                                    MatrixMap<T>* grad_x) {
  const Index B = x.rows(), uf = fwd_units_, ub = bwd_units_, S = steps_;
  const T* yf = y_fwd_.data();
  const T* yb = y_bwd_.data();
  MatrixMap<T> df = dy_fwd_.view(B, S * uf), db = dy_bwd_.view(B, S * ub);
  const Index width = merge_ == MergeMode::Concat ? uf + ub : uf;
  for (Index b = 0; b < B; ++b) {
    for (Index t = 0; t < S; ++t) {
      const Index tf = b * S + t, tb = b * S + S - 1 - t;
      ConstArrayMap<T> g(grad_y.data() + tf * width, width);
      ArrayMap<T> gf(df.data() + tf * uf, uf), gb(db.data() + tb * ub, ub);
      switch (merge_) {
        case MergeMode::Concat:
          gf = g.head(uf);
          gb = g.tail(ub);
          break;
        case MergeMode::Sum:
          gf = g;
          gb = g;
          break;
        case MergeMode::Mul:
          gf = g * ConstArrayMap<T>(yb + tb * ub, ub);
          gb = g * ConstArrayMap<T>(yf + tf * uf, uf);
          break;
        case MergeMode::Ave:
          gf = g / T(2);
          gb = g / T(2);
          break;
      }
    }
  }
  fwd_->backward(this->params(), ConstMatrixMap<T>(df.data(), B, S * uf), param_grad, grad_x);
  if (!grad_x) {
    bwd_->backward(this->params() + split_, ConstMatrixMap<T>(db.data(), B, S * ub),
                   param_grad ? param_grad + split_ : nullptr, nullptr);
    return;
  }
  MatrixMap<T> dxb = dx_.view(grad_x->rows(), grad_x->cols());
  bwd_->backward(this->params() + split_, ConstMatrixMap<T>(db.data(), B, S * ub),
                 param_grad ? param_grad + split_ : nullptr, &dxb);
  *grad_x += dxb;
}

template class Bidirectional<float>;
template class Bidirectional<double>;

}  // namespace eigennet
