// keras.ops.dot_product_attention, fused: softmax(Q K^T * scale [causal]) V per batch and head,
// with no (B, N, T, S) tensor leaving the op.
#pragma once

#include <optional>

#include "eigennet/ops/op.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// query (B, T, N, H), key (B, S, K, H), value (B, S, K, Hv) -> (B, T, N, Hv); K divides N
// (grouped-query attention: query head n reads key/value head n / (N / K)). scale defaults to
// 1 / sqrt(H); is_causal lets query t see keys s <= t (Keras's top-left lower triangle).
// Not supported: bias, mask.
template <class T>
class DotProductAttentionOp : public Op<T> {
 public:
  DotProductAttentionOp(const Shape& query, const Shape& key, const Shape& value,
                        std::optional<double> scale, bool is_causal);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<DotProductAttentionOp>(*this);
  }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  T scale_;
  bool causal_;
  Workspace<T> probs_, grad_logits_;  // (B, N, T, S): the forward's probabilities, and scratch
};

}  // namespace eigennet
