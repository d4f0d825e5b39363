// LSTM cell, Keras 3 gate order i, f, c, o:
//   z = x K + h_prev R + b;  i, f, o = ract(z_i, z_f, z_o);  g = act(z_c)
//   c = f * c_prev + i * g;  h = o * act(c)
#include <algorithm>

#include "eigennet/layers/recurrent.hpp"

namespace eigennet {
namespace {

template <class T>
using Vec = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstVec = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <class T>
class LstmCell : public RecurrentCell<T> {
  using Base = RecurrentCell<T>;

 public:
  explicit LstmCell(const RecurrentConfig& config) : Base(config, 4) {}

 protected:
  void reserve_cell(Index batch) override {
    cells_.view((this->steps_ + 1) * batch, this->units_);
    act_c_.view(this->steps_ * batch, this->units_);
    dc_.view(batch, this->units_);
  }

  void forward_rows(const T* params, Index b0, Index b1) override {
    const Index u = this->units_, gu = this->gu_, nb = b1 - b0;
    const auto& cfg = this->c_;
    const T* bias = cfg.use_bias ? this->bias(params) : nullptr;
    T *gates = this->gates_.data(), *c = cells_.data();
    T* scratch = this->scratch_.data() + b0 * u;
    std::fill(c + b0 * u, c + b1 * u, T(0));
    for (Index s = 0; s < this->steps_; ++s) {
      const Index r0 = this->rows(s) + b0;
      this->step_preactivations(params, r0, b0, nb, scratch);
      for (Index r = r0; r < r0 + nb; ++r) {
        T* z = gates + r * gu;
        if (bias && !this->fused_) Vec<T>(z, gu) += ConstVec<T>(bias, gu);
        if (this->store_preactivations_) std::copy_n(z, gu, this->pre_.data() + r * gu);
        Base::activate(cfg.recurrent_activation, z, u);
        Base::activate(cfg.recurrent_activation, z + u, u);
        Base::activate(cfg.activation, z + 2 * u, u);
        Base::activate(cfg.recurrent_activation, z + 3 * u, u);
        Vec<T> c_new(c + (r + this->batch_) * u, u);
        c_new = ConstVec<T>(z + u, u) * ConstVec<T>(c + r * u, u) +
                ConstVec<T>(z, u) * ConstVec<T>(z + 2 * u, u);
        T* act_c = act_c_.data() + r * u;
        std::copy_n(c_new.data(), u, act_c);
        Base::activate(cfg.activation, act_c, u);
        Vec<T>(this->h_row(r + this->batch_), u) =
            ConstVec<T>(z + 3 * u, u) * ConstVec<T>(act_c, u);
      }
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
    T* dz = this->row_temp(b0);  // (G*u) then dh (u)
    T* dh = dz + gu;
    std::fill(dh_next, dh_next + nb * u, T(0));
    std::fill(dc, dc + nb * u, T(0));
    for (Index s = this->steps_; s-- > 0;) {
      const Index r0 = this->rows(s) + b0;
      for (Index r = r0, k = 0; r < r0 + nb; ++r, ++k) {
        T* z = gates + r * gu;
        Vec<T> dhv(dh, u);
        dhv = ConstVec<T>(dh_next + k * u, u);
        if (const T* dy = this->grad_output(grad_y, s, b0 + k)) dhv += ConstVec<T>(dy, u);
        ConstVec<T> i(z, u), f(z + u, u), g(z + 2 * u, u), o(z + 3 * u, u);
        const T* act_c = act_c_.data() + r * u;
        // through h = o * act(c)
        Vec<T>(dz + 3 * u, u) = dhv * ConstVec<T>(act_c, u);
        dhv *= o;
        Base::activation_grad(cfg.activation, c + (r + B) * u, act_c, dh, u);
        Vec<T> dcv(dc + k * u, u);
        dcv += dhv;
        // through c = f * c_prev + i * g
        Vec<T>(dz, u) = dcv * g;
        Vec<T>(dz + u, u) = dcv * ConstVec<T>(c + r * u, u);
        Vec<T>(dz + 2 * u, u) = dcv * i;
        dcv *= f;
        const T* p = pre ? pre + r * gu : nullptr;
        Base::activation_grad(cfg.recurrent_activation, p, z, dz, u);
        Base::activation_grad(cfg.recurrent_activation, p ? p + u : p, z + u, dz + u, u);
        Base::activation_grad(cfg.activation, p ? p + 2 * u : p, z + 2 * u, dz + 2 * u, u);
        Base::activation_grad(cfg.recurrent_activation, p ? p + 3 * u : p, z + 3 * u, dz + 3 * u,
                              u);
        std::copy_n(dz, gu, z);
      }
      if (s > 0)
        this->recurrent_product_grad(R, gates + r0 * gu, gu, b0, nb, 0, gu, dh_next, false,
                                     scratch);
    }
  }

  bool fused_gradients() const override { return true; }

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
