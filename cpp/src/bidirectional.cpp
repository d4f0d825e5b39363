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
      bwd_units_(other.bwd_units_) {}

template <class T>
Shape Bidirectional<T>::do_build_inputs(const std::vector<Shape>& input_shapes) {
  check_masked_inputs(input_shapes, "Bidirectional");
  return do_build(input_shapes[0]);
}

template <class T>
void Bidirectional<T>::forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                                      bool training) {
  run(xs[0], n > 1 ? xs[1].data() : nullptr, y, training);
}

template <class T>
void Bidirectional<T>::backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                                       MatrixMap<T> grad_y, T* param_grad,
                                       MatrixMap<T>* const* grad_xs) {
  if (n > 1 && grad_xs[1]) grad_xs[1]->setZero();  // a mask has no gradient
  backward(xs[0], y, grad_y, param_grad, grad_xs[0]);
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
  return out;
}

template <class T>
void Bidirectional<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) {
  run(x, nullptr, y, training);
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
void Bidirectional<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y,
                                T* param_grad, MatrixMap<T>* grad_x) {
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
