// LSTM cell, Keras 3 gate order i, f, c, o:
//   z = x K + h_prev R + b;  i, f, o = ract(z_i, z_f, z_o);  g = act(z_c)
//   c = f * c_prev + i * g;  h = o * act(c)
#include <algorithm>

#include "eigennet/layers/recurrent.hpp"

namespace eigennet {
namespace {

using Stride = Eigen::OuterStride<>;

template <class T>
class LstmCell : public RecurrentCell<T> {
  using Base = RecurrentCell<T>;
  using Blk =
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Stride>;
  using CBlk =
      Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0, Stride>;

 public:
  explicit LstmCell(const RecurrentConfig& config) : Base(config, 4) {}
  std::unique_ptr<RecurrentCell<T>> clone() const override {
    return std::make_unique<LstmCell>(*this);
  }

 protected:
  void reserve_cell(Index batch) override {
    cells_.view((this->steps_ + 1) * batch, this->units_);
    act_c_.view(this->steps_ * batch, this->units_);
    dc_.view(batch, this->units_);
  }

  // Each step: one GEMM for the thread's rows, then one pass per row over its gates and
  // states while they are in L1 (a pass per gate over the (nb, G*u) block streamed it from L2
  // eight times).
  void forward_rows(const T* params, Index b0, Index b1) override {
    const Index u = this->units_, gu = this->gu_, nb = b1 - b0, B = this->batch_;
    const auto& cfg = this->c_;
    const T* bias = cfg.use_bias ? this->bias(params) : nullptr;
    T *gates = this->gates_.data(), *c = cells_.data();
    T* scratch = this->scratch_.data() + b0 * u;
    if (this->c0_)  // Keras's initial_state, else zeros
      std::copy(this->c0_ + b0 * u, this->c0_ + b1 * u, c + b0 * u);
    else
      std::fill(c + b0 * u, c + b1 * u, T(0));
    for (Index s = 0; s < this->steps_; ++s) {
      const Index r0 = this->rows(s) + b0;
      this->step_preactivations(params, r0, b0, nb, scratch);
      for (Index k = 0; k < nb; ++k) {
        const Index r = r0 + k;
        T* z = gates + r * gu;
        if (bias && !this->fused_) ArrayMap<T>(z, gu) += ConstArrayMap<T>(bias, gu);
        if (this->store_preactivations_) std::copy_n(z, gu, this->pre_.data() + r * gu);
        Base::activate(cfg.recurrent_activation, z, u);
        Base::activate(cfg.recurrent_activation, z + u, u);
        Base::activate(cfg.activation, z + 2 * u, u);
        Base::activate(cfg.recurrent_activation, z + 3 * u, u);
        ArrayMap<T> c_new(c + (r + B) * u, u), act_c(act_c_.data() + r * u, u);
        c_new = ConstArrayMap<T>(z + u, u) * ConstArrayMap<T>(c + r * u, u) +
                ConstArrayMap<T>(z, u) * ConstArrayMap<T>(z + 2 * u, u);
        act_c = c_new;
        Base::activate(cfg.activation, act_c.data(), u);
        ArrayMap<T>(this->h_row(r + B), u) = ConstArrayMap<T>(z + 3 * u, u) * act_c;
      }
      this->hold_masked_rows(s, b0, nb, c, u);
    }
  }

  void backward_rows(const T* params, const T* grad_y, Index b0, Index b1) override {
    const Index u = this->units_, gu = this->gu_, nb = b1 - b0, B = this->batch_;
    const auto& cfg = this->c_;
    const T* R = this->recurrent_kernel(params);
    T *gates = this->gates_.data(), *c = cells_.data();
    const T* pre = this->store_preactivations_ ? this->pre_.data() : nullptr;
    T* dh_next = this->dh_.data() + b0 * u;  // dL/dh_s from step s + 1
    T* dc = dc_.data() + b0 * u;             // dL/dc_s from step s + 1
    T* scratch = this->scratch_.data() + b0 * u;
    T* dz = this->row_temp(b0);  // (nb, G*u), then dh (nb, u)
    T* dh = dz + nb * gu;
    this->start_state_gradients(b0, nb, dh_next, dc);
    Blk dcv(dc, nb, u, Stride(u)), dhv(dh, nb, u, Stride(u));
    // Keras's default activations (tanh, sigmoid): one fused pass per step, the derivatives
    // from the stored outputs.
    const bool fused_pass =
        cfg.activation == Activation::Tanh && cfg.recurrent_activation == Activation::Sigmoid;
    for (Index s = this->steps_; s-- > 0;) {
      const Index r0 = this->rows(s) + b0;
      T* z = gates + r0 * gu;
      const T* act_c = act_c_.data() + r0 * u;
      this->begin_masked_step(s, b0, nb, dh_next, dc);
      if (fused_pass) {
        Index ld_dy = 0;
        const T* dy = this->grad_output_block(grad_y, s, b0, &ld_dy);
        for (Index k = 0; k < nb; ++k) {
          T* zk = z + k * gu;
          const T *tc = act_c + k * u, *c_prev = c + (r0 + k) * u,
                  *dyk = dy ? dy + k * ld_dy : nullptr;
          T *dck = dc + k * u, *dhk = dh_next + k * u;
#pragma omp simd  // the j are independent (slots of one row never overlap)
          for (Index j = 0; j < u; ++j) {
            const T i = zk[j], f = zk[u + j], g = zk[2 * u + j], o = zk[3 * u + j];
            const T d = dhk[j] + (dyk ? dyk[j] : T(0));
            const T dcj = dck[j] + d * o * (T(1) - tc[j] * tc[j]);
            zk[j] = dcj * g * i * (T(1) - i);
            zk[u + j] = dcj * c_prev[j] * f * (T(1) - f);
            zk[2 * u + j] = dcj * i * (T(1) - g * g);
            zk[3 * u + j] = d * tc[j] * o * (T(1) - o);
            dck[j] = dcj * f;
          }
        }
        this->accumulate_step(s, r0, nb);
        if (this->reaches_previous(s))
          this->recurrent_product_grad(R, z, gu, b0, nb, 0, gu, dh_next, false, scratch);
        this->end_masked_step(s, b0, nb, dh_next, dc);
        continue;
      }
      CBlk i(z, nb, u, Stride(gu)), f(z + u, nb, u, Stride(gu)), g(z + 2 * u, nb, u, Stride(gu)),
          o(z + 3 * u, nb, u, Stride(gu));
      dhv = CBlk(dh_next, nb, u, Stride(u));
      Index ld_dy = 0;
      if (const T* dy = this->grad_output_block(grad_y, s, b0, &ld_dy))
        dhv += CBlk(dy, nb, u, Stride(ld_dy));
      // through h = o * act(c)
      Blk(dz + 3 * u, nb, u, Stride(gu)) = dhv * CBlk(act_c, nb, u, Stride(u));
      dhv *= o;
      Base::activation_grad_block(cfg.activation, c + (r0 + B) * u, u, act_c, u, dh, u, nb, u);
      dcv += dhv;
      // through c = f * c_prev + i * g
      Blk(dz, nb, u, Stride(gu)) = dcv * g;
      Blk(dz + u, nb, u, Stride(gu)) = dcv * CBlk(c + r0 * u, nb, u, Stride(u));
      Blk(dz + 2 * u, nb, u, Stride(gu)) = dcv * i;
      dcv *= f;
      const T* p = pre ? pre + r0 * gu : nullptr;
      for (Index k = 0; k < 4; ++k)
        Base::activation_grad_block(k == 2 ? cfg.activation : cfg.recurrent_activation,
                                    p ? p + k * u : nullptr, gu, z + k * u, gu, dz + k * u, gu, nb,
                                    u);
      std::copy_n(dz, nb * gu, z);
      this->accumulate_step(s, r0, nb);
      if (this->reaches_previous(s))
        this->recurrent_product_grad(R, z, gu, b0, nb, 0, gu, dh_next, false, scratch);
      this->end_masked_step(s, b0, nb, dh_next, dc);
    }
  }

  bool fused_gradients() const override { return true; }

  const T* final_c(Index b) const override {
    return cells_.data() + (this->rows(this->steps_) + b) * this->units_;
  }
  const T* initial_c_grad(Index b) const override { return dc_.data() + b * this->units_; }

  void recurrent_gradients(const T*, T* param_grad) override {
    const Index in = this->in_, u = this->units_, gu = this->gu_;
    this->recurrent_weight_grad(this->h_row(0), this->ld_, true, this->gates_.data(), gu, 0, gu,
                                param_grad + in * gu);
    if (this->c_.use_bias)
      this->column_sums(this->gates_.data(), gu, gu, param_grad + (in + u) * gu);
  }

 private:
  Workspace<T> cells_;  // ((T+1)*B, u): cell states, c_{-1} = 0
  Workspace<T> act_c_;  // (T*B, u): act(c)
  Workspace<T> dc_;     // (B, u)
};

}  // namespace

template <class T>
std::unique_ptr<RecurrentCell<T>> make_lstm_cell(const RecurrentConfig& config) {
  return std::make_unique<LstmCell<T>>(config);
}

template std::unique_ptr<RecurrentCell<float>> make_lstm_cell<float>(const RecurrentConfig&);
template std::unique_ptr<RecurrentCell<double>> make_lstm_cell<double>(const RecurrentConfig&);

}  // namespace eigennet
