// SimpleRNN cell: h = act(x K + h_prev R + b).
#include <algorithm>

#include "eigennet/layers/recurrent.hpp"

namespace eigennet {
namespace {

template <class T>
class SimpleRnnCell : public RecurrentCell<T> {
  using Base = RecurrentCell<T>;

 public:
  explicit SimpleRnnCell(const RecurrentConfig& config) : Base(config, 1) {}
  std::unique_ptr<RecurrentCell<T>> clone() const override {
    return std::make_unique<SimpleRnnCell>(*this);
  }

 protected:
  void reserve_cell(Index) override {}

  void forward_rows(const T* params, Index b0, Index b1) override {
    const Index u = this->units_, nb = b1 - b0, B = this->batch_;
    const auto& cfg = this->c_;
    const T* bias = cfg.use_bias ? this->bias(params) : nullptr;
    T* gates = this->gates_.data();
    T* scratch = this->scratch_.data() + b0 * u;
    for (Index s = 0; s < this->steps_; ++s) {
      const Index r0 = this->rows(s) + b0;
      this->step_preactivations(params, r0, b0, nb, scratch);
      for (Index r = r0; r < r0 + nb; ++r) {
        T* z = gates + r * u;
        if (bias && !this->fused_) ArrayMap<T>(z, u) += ConstArrayMap<T>(bias, u);
        if (this->store_preactivations_) std::copy_n(z, u, this->pre_.data() + r * u);
        Base::activate(cfg.activation, z, u);
        std::copy_n(z, u, this->h_row(r + B));
      }
      this->hold_masked_rows(s, b0, nb, nullptr, 0);
    }
  }

  void backward_rows(const T* params, const T* grad_y, Index b0, Index b1) override {
    const Index u = this->units_, nb = b1 - b0;
    const T* R = this->recurrent_kernel(params);
    T* gates = this->gates_.data();
    const T* pre = this->store_preactivations_ ? this->pre_.data() : nullptr;
    T* dh_next = this->dh_.data() + b0 * u;
    T* scratch = this->scratch_.data() + b0 * u;
    T* dz = this->row_temp(b0);
    this->start_state_gradients(b0, nb, dh_next, nullptr);
    for (Index s = this->steps_; s-- > 0;) {
      const Index r0 = this->rows(s) + b0;
      this->begin_masked_step(s, b0, nb, dh_next, nullptr);
      for (Index r = r0, k = 0; r < r0 + nb; ++r, ++k) {
        ArrayMap<T> d(dz, u);
        d = ConstArrayMap<T>(dh_next + k * u, u);
        if (const T* dy = this->grad_output(grad_y, s, b0 + k)) d += ConstArrayMap<T>(dy, u);
        Base::activation_grad(this->c_.activation, pre ? pre + r * u : nullptr, gates + r * u, dz,
                              u);
        std::copy_n(dz, u, gates + r * u);
      }
      this->accumulate_step(s, r0, nb);
      if (this->reaches_previous(s))
        this->recurrent_product_grad(R, gates + r0 * u, u, b0, nb, 0, u, dh_next, false, scratch);
      this->end_masked_step(s, b0, nb, dh_next, nullptr);
    }
  }

  bool fused_gradients() const override { return true; }

  void recurrent_gradients(const T*, T* param_grad) override {
    const Index in = this->in_, u = this->units_;
    this->recurrent_weight_grad(this->h_row(0), this->ld_, true, this->gates_.data(), u, 0, u,
                                param_grad + in * u);
    if (this->c_.use_bias) this->column_sums(this->gates_.data(), u, u, param_grad + (in + u) * u);
  }
};

}  // namespace

template <class T>
std::unique_ptr<RecurrentCell<T>> make_simple_rnn_cell(const RecurrentConfig& config) {
  return std::make_unique<SimpleRnnCell<T>>(config);
}

template std::unique_ptr<RecurrentCell<float>> make_simple_rnn_cell<float>(const RecurrentConfig&);
template std::unique_ptr<RecurrentCell<double>> make_simple_rnn_cell<double>(
    const RecurrentConfig&);

}  // namespace eigennet
