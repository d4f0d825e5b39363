// GRU cell, Keras 3 gate order z, r, h.
// reset_after (Keras 3's default; bias (2, 3u): input row, recurrent row):
//   q = h_prev R + b_rec;  z, r = ract(x K_zr + b_zr + q_zr);  hh = act(x K_h + b_h + r * q_h)
// reset_after=False (bias (3u)):
//   z, r = ract(x K_zr + h_prev R_zr + b_zr);  hh = act(x K_h + (r * h_prev) R_h + b_h)
// both: h = z * h_prev + (1 - z) * hh
#include <algorithm>

#include "eigennet/gemm.hpp"
#include "eigennet/layers/recurrent.hpp"

namespace eigennet {
namespace {

template <class T>
class GruCell : public RecurrentCell<T> {
  using Base = RecurrentCell<T>;

 public:
  explicit GruCell(const RecurrentConfig& config) : Base(config, 3) {}
  std::unique_ptr<RecurrentCell<T>> clone() const override {
    return std::make_unique<GruCell>(*this);
  }

 protected:
  void reserve_cell(Index batch) override {
    if (this->c_.reset_after)
      q_.view(this->steps_ * batch, this->gu_);
    else
      rh_.view(this->steps_ * batch, this->units_);
  }

  void forward_rows(const T* params, Index b0, Index b1) override {
    const Index u = this->units_, gu = this->gu_, nb = b1 - b0, B = this->batch_;
    const auto& cfg = this->c_;
    const T* R = this->recurrent_kernel(params);
    const T* bias = cfg.use_bias ? this->bias(params) : nullptr;
    T* gates = this->gates_.data();
    T* pre = this->store_preactivations_ ? this->pre_.data() : nullptr;
    T* scratch = this->scratch_.data() + b0 * u;
    const T* mask_h = this->recurrent_mask(2);
    for (Index s = 0; s < this->steps_; ++s) {
      const Index r0 = this->rows(s) + b0;
      if (cfg.reset_after) {
        T* q = q_.data();
        this->recurrent_product(R, this->h_row(r0), b0, nb, 0, gu, q + r0 * gu, gu, false, scratch);
        for (Index r = r0; r < r0 + nb; ++r) {
          T *z = gates + r * gu, *qr = q + r * gu;
          if (bias) {
            ArrayMap<T>(z, gu) += ConstArrayMap<T>(bias, gu);
            ArrayMap<T>(qr, gu) += ConstArrayMap<T>(bias + gu, gu);
          }
          ArrayMap<T>(z, 2 * u) += ConstArrayMap<T>(qr, 2 * u);
          reset_gates(z, pre ? pre + r * gu : nullptr);
          ArrayMap<T>(z + 2 * u, u) += ConstArrayMap<T>(z + u, u) * ConstArrayMap<T>(qr + 2 * u, u);
          candidate(z, pre ? pre + r * gu : nullptr, this->h_row(r), this->h_row(r + B));
        }
      } else {
        T* rh = rh_.data();
        this->recurrent_product(R, this->h_row(r0), b0, nb, 0, 2 * u, gates + r0 * gu, gu, true,
                                scratch);
        for (Index r = r0, k = b0; r < r0 + nb; ++r, ++k) {
          T* z = gates + r * gu;
          if (bias) ArrayMap<T>(z, gu) += ConstArrayMap<T>(bias, gu);
          reset_gates(z, pre ? pre + r * gu : nullptr);
          // r * h_prev (the h gate's recurrent input, masked with its own recurrent mask)
          ArrayMap<T> rhv(rh + r * u, u);
          rhv = ConstArrayMap<T>(z + u, u) * ConstArrayMap<T>(this->h_row(r), u);
          if (mask_h) rhv *= ConstArrayMap<T>(mask_h + k * u, u);
        }
        gemm<T>(false, false, nb, u, u, rh + r0 * u, u, R + 2 * u, gu, gates + r0 * gu + 2 * u, gu,
                true);
        for (Index r = r0; r < r0 + nb; ++r)
          candidate(gates + r * gu, pre ? pre + r * gu : nullptr, this->h_row(r),
                    this->h_row(r + B));
      }
      this->hold_masked_rows(s, b0, nb, nullptr, 0);
    }
  }

  void backward_rows(const T* params, const T* grad_y, Index b0, Index b1) override {
    const Index u = this->units_, gu = this->gu_, nb = b1 - b0;
    const auto& cfg = this->c_;
    const T* R = this->recurrent_kernel(params);
    T* gates = this->gates_.data();
    const T* pre = this->store_preactivations_ ? this->pre_.data() : nullptr;
    T* dh_next = this->dh_.data() + b0 * u;
    T* scratch = this->scratch_.data() + b0 * u;
    T* dz = this->row_temp(b0);  // (G*u) then dh (u)
    T* dh = dz + gu;
    const T* mask_h = this->recurrent_mask(2);
    this->start_state_gradients(b0, nb, dh_next, nullptr);
    for (Index s = this->steps_; s-- > 0;) {
      const Index r0 = this->rows(s) + b0;
      this->begin_masked_step(s, b0, nb, dh_next, nullptr);
      for (Index r = r0, k = 0; r < r0 + nb; ++r, ++k) {
        T* z = gates + r * gu;
        const T* p = pre ? pre + r * gu : nullptr;
        ArrayMap<T> dhv(dh, u);
        dhv = ConstArrayMap<T>(dh_next + k * u, u);
        if (const T* dy = this->grad_output(grad_y, s, b0 + k)) dhv += ConstArrayMap<T>(dy, u);
        ConstArrayMap<T> zg(z, u), hh(z + 2 * u, u), h_prev(this->h_row(r), u);
        // through h = z * h_prev + (1 - z) * hh
        ArrayMap<T>(dz, u) = dhv * (h_prev - hh);
        ArrayMap<T>(dz + 2 * u, u) = dhv * (T(1) - zg);
        ArrayMap<T>(dh_next + k * u, u) = dhv * zg;
        Base::activation_grad(cfg.activation, p ? p + 2 * u : p, z + 2 * u, dz + 2 * u, u);
        Base::activation_grad(cfg.recurrent_activation, p, z, dz, u);
        if (cfg.reset_after) {
          // hh's pre-activation holds r * q_h: the reset gate's and q's gradients
          T* q = q_.data() + r * gu;
          ArrayMap<T>(dz + u, u) = ConstArrayMap<T>(dz + 2 * u, u) * ConstArrayMap<T>(q + 2 * u, u);
          Base::activation_grad(cfg.recurrent_activation, p ? p + u : p, z + u, dz + u, u);
          ArrayMap<T>(q + 2 * u, u) = ConstArrayMap<T>(dz + 2 * u, u) * ConstArrayMap<T>(z + u, u);
          std::copy_n(dz, 2 * u, q);
          std::copy_n(dz, gu, z);
        } else {
          // the reset gate's gradient needs (dL/d(r * h_prev)), computed below for all rows
          std::copy_n(dz, u, z);
          std::copy_n(dz + 2 * u, u, z + 2 * u);
        }
      }
      if (cfg.reset_after) {
        if (this->reaches_previous(s))
          this->recurrent_product_grad(R, q_.data() + r0 * gu, gu, b0, nb, 0, gu, dh_next, true,
                                       scratch);
        this->end_masked_step(s, b0, nb, dh_next, nullptr);
        continue;
      }
      // d(r * h_prev) = dz_h R_h^T
      gemm<T>(false, true, nb, u, u, gates + r0 * gu + 2 * u, gu, R + 2 * u, gu, scratch, u);
      for (Index r = r0, k = 0; r < r0 + nb; ++r, ++k) {
        T* z = gates + r * gu;
        const T* p = pre ? pre + r * gu : nullptr;
        ConstArrayMap<T> drh(scratch + k * u, u);
        ArrayMap<T> dr(dz + u, u);
        dr = drh * ConstArrayMap<T>(this->h_row(r), u);
        ArrayMap<T> carry(dh_next + k * u, u);
        if (mask_h) {
          dr *= ConstArrayMap<T>(mask_h + (b0 + k) * u, u);
          carry += drh * ConstArrayMap<T>(z + u, u) * ConstArrayMap<T>(mask_h + (b0 + k) * u, u);
        } else {
          carry += drh * ConstArrayMap<T>(z + u, u);
        }
        Base::activation_grad(cfg.recurrent_activation, p ? p + u : p, z + u, dz + u, u);
        std::copy_n(dz + u, u, z + u);
      }
      if (this->reaches_previous(s))
        this->recurrent_product_grad(R, gates + r0 * gu, gu, b0, nb, 0, 2 * u, dh_next, true,
                                     scratch);
      this->end_masked_step(s, b0, nb, dh_next, nullptr);
    }
  }

  void recurrent_gradients(const T*, T* param_grad) override {
    const Index in = this->in_, u = this->units_, gu = this->gu_;
    const T* dz = this->gates_.data();
    T* dR = param_grad + in * gu;
    T* db = param_grad + (in + u) * gu;
    if (this->c_.reset_after) {
      this->recurrent_weight_grad(this->h_row(0), this->ld_, true, q_.data(), gu, 0, gu, dR);
      if (this->c_.use_bias) {
        this->column_sums(dz, gu, gu, db);
        this->column_sums(q_.data(), gu, gu, db + gu);
      }
      return;
    }
    this->recurrent_weight_grad(this->h_row(0), this->ld_, true, dz, gu, 0, 2 * u, dR);
    this->recurrent_weight_grad(rh_.data(), this->units_, false, dz + 2 * u, gu, 2 * u, u, dR);
    if (this->c_.use_bias) this->column_sums(dz, gu, gu, db);
  }

 private:
  // z, r = ract(pre-activations) in place, keeping the pre-activations when needed.
  void reset_gates(T* z, T* pre) const {
    const Index u = this->units_;
    if (pre) std::copy_n(z, 2 * u, pre);
    Base::activate(this->c_.recurrent_activation, z, u);
    Base::activate(this->c_.recurrent_activation, z + u, u);
  }
  // hh = act(z_h) in place, then h = z * h_prev + (1 - z) * hh.
  void candidate(T* z, T* pre, const T* h_prev, T* h) const {
    const Index u = this->units_;
    if (pre) std::copy_n(z + 2 * u, u, pre + 2 * u);
    Base::activate(this->c_.activation, z + 2 * u, u);
    ConstArrayMap<T> zg(z, u), hh(z + 2 * u, u);
    ArrayMap<T>(h, u) = zg * ConstArrayMap<T>(h_prev, u) + (T(1) - zg) * hh;
  }

  Workspace<T> q_;   // reset_after: (T*B, 3u) h_prev R + b_rec, then its gradient
  Workspace<T> rh_;  // otherwise: (T*B, u) r * h_prev, the h gate's recurrent input
};

}  // namespace

template <class T>
std::unique_ptr<RecurrentCell<T>> make_gru_cell(const RecurrentConfig& config) {
  return std::make_unique<GruCell<T>>(config);
}

template std::unique_ptr<RecurrentCell<float>> make_gru_cell<float>(const RecurrentConfig&);
template std::unique_ptr<RecurrentCell<double>> make_gru_cell<double>(const RecurrentConfig&);

}  // namespace eigennet
