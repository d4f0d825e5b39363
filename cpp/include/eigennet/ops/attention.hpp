// keras.ops.dot_product_attention, fused and blocked: softmax(Q K^T * scale, masked) V per
// batch and head, computed over blocks of keys with a running (online) softmax, so neither the
// forward nor the backward holds a (T, S) tensor per head: memory grows linearly with the
// sequence length. The backward recomputes each block's probabilities from the saved
// log-sum-exp of every query row. Attention dropout (MultiHeadAttention's `dropout`) is fused
// too: a probability is kept by a counter-based draw that the backward recomputes, never stored.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "eigennet/ops/op.hpp"
#include "eigennet/random.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// Which masks follow query, key and value among the op's inputs (in this order). A mask is
// float, kept where > 0.5; its batch axis is the batch or 1.
struct AttentionMasks {
  bool query = false;  // (B, T): a masked query row attends to nothing (its output is 0)
  bool key = false;    // (B, S): masked keys are ignored by every query
  bool full = false;   // (B, T, S): pairs (t, s) to ignore
};

// query (B, T, N, H), key (B, S, K, H), value (B, S, K, Hv) -> (B, T, N, Hv); K divides N
// (grouped-query attention: query head n reads key/value head n / (N / K)). scale defaults to
// 1 / sqrt(H); is_causal lets query t see keys s <= t (Keras's top-left lower triangle). A
// query row that may see no key outputs zeros, as Keras's masked softmax. In training, a
// dropout rate zeroes each probability with that chance and divides the rest by 1 - rate: the
// draws of a DropoutOp with the same seed over the (B, N, T, S) probabilities, so the fused op
// and the unfused composite drop the same entries.
template <class T>
class DotProductAttentionOp : public Op<T> {
 public:
  DotProductAttentionOp(const std::vector<Shape>& inputs, std::optional<double> scale,
                        bool is_causal, AttentionMasks masks, double dropout = 0.0,
                        uint64_t seed = 0);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<DotProductAttentionOp>(*this);
  }
  bool draws() const { return dropout_ > 0; }  // whether it has a random stream to save
  std::pair<uint64_t, uint64_t> rng_state() const { return stream_.state(); }
  void set_rng_state(std::pair<uint64_t, uint64_t> state) { stream_.set_state(state); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  struct Geometry;
  Geometry geometry() const;
  // Masks the logits of queries [t0, t0 + rows) and keys [s0, s0 + cols) of batch b to -inf.
  void mask_block(const T* const* xs, Index b, Index t0, Index rows, Index s0, Index cols,
                  T* logits) const;
  // The first key that queries [t0, t0 + rows) never see: S, or t0 + rows when causal.
  Index key_end(Index t0, Index rows, Index S) const;
  // The last forward's dropout factors (0 or 1 / (1 - rate)) of queries [t0, t0 + rows) and
  // keys [s0, s0 + cols) of batch b, head n, row-major into `factors`.
  void dropout_factors(Index b, Index n, Index t0, Index rows, Index s0, Index cols,
                       T* factors) const;

  T scale_;
  bool causal_;
  AttentionMasks masks_;
  double dropout_;
  RandomStream stream_;
  bool dropped_ = false;          // whether the last forward applied dropout
  uint64_t seed_ = 0, draw_ = 0;  // its draw: the backward recomputes the same factors
  Workspace<T> log_sum_exp_;      // (B, N, T): each query row's softmax normaliser, for backward
  Workspace<T> scratch_;          // per thread: a block of logits and one of their gradients
};

}  // namespace eigennet
