#include "eigennet/ops/attention.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "eigennet/gemm.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

// Queries and keys per block: a block's logits and their gradient (2 x 128 KB in float) stay
// in L2, and a sequence of up to 256 keys is one block, so short sequences take one pass with
// a plain softmax.
constexpr Index kQueryBlock = 128;
constexpr Index kKeyBlock = 256;

Shape attention_shape(const std::vector<Shape>& in, AttentionMasks masks) {
  const size_t expected = 3 + size_t(masks.query) + size_t(masks.key) + size_t(masks.full);
  if (in.size() != expected)
    throw std::invalid_argument("dot_product_attention: expected " + std::to_string(expected) +
                                " inputs (query, key, value and the masks), got " +
                                std::to_string(in.size()));
  const Shape &q = in[0], &k = in[1], &v = in[2];
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("dot_product_attention: query " + full_shape_string(q) + ", key " +
                                full_shape_string(k) + ", value " + full_shape_string(v) + ": " +
                                why);
  };
  if (q.size() != 4 || k.size() != 4 || v.size() != 4)
    fail("query, key and value must be (batch, length, heads, head size)");
  if (q[0] != k[0] || q[0] != v[0]) fail("different batch sizes");
  for (size_t d = 1; d < 4; ++d)
    if (q[d] == kBatch || k[d] == kBatch || v[d] == kBatch) fail("the batch axis must be axis 0");
  if (k[1] != v[1] || k[2] != v[2]) fail("key and value differ in length or heads");
  if (q[3] != k[3]) fail("query and key differ in head size");
  if (k[2] < 1 || q[2] % k[2] != 0) fail("the key heads must divide the query heads");
  size_t i = 3;
  const auto check_mask = [&](bool present, const char* what, Shape rest) {
    if (!present) return;
    const Shape& m = in[i++];
    rest.insert(rest.begin(), q[0]);
    Shape single = rest;
    single[0] = 1;
    if (m != rest && m != single)
      fail(std::string("the ") + what + " mask must be " + full_shape_string(rest) +
           " (or with a batch axis of 1), got " + full_shape_string(m));
  };
  check_mask(masks.query, "query", {q[1]});
  check_mask(masks.key, "key", {k[1]});
  check_mask(masks.full, "attention", {q[1], k[1]});
  return {q[0], q[1], q[2], v[3]};
}

template <class T>
constexpr T kMinusInfinity = -std::numeric_limits<T>::infinity();

}  // namespace

template <class T>
struct DotProductAttentionOp<T>::Geometry {
  Index B, Tq, N, H, S, K, Hv, group, query_blocks;
};

template <class T>
DotProductAttentionOp<T>::DotProductAttentionOp(const std::vector<Shape>& inputs,
                                                std::optional<double> scale, bool is_causal,
                                                AttentionMasks masks, double dropout, uint64_t seed)
    : Op<T>("dot_product_attention", inputs, attention_shape(inputs, masks)),
      scale_(T(scale ? *scale : 1.0 / std::sqrt(double(std::max<Index>(inputs[0][3], 1))))),
      causal_(is_causal),
      masks_(masks),
      dropout_(dropout),
      stream_(seed) {
  if (!(dropout >= 0.0 && dropout <= 1.0))
    throw std::invalid_argument("dot_product_attention: dropout must be in [0, 1], got " +
                                std::to_string(dropout));
}

template <class T>
typename DotProductAttentionOp<T>::Geometry DotProductAttentionOp<T>::geometry() const {
  const Shape& q = this->in_shape(0);
  const Shape& k = this->in_shape(1);
  return {q[0],
          q[1],
          q[2],
          q[3],
          k[1],
          k[2],
          this->in_shape(2)[3],
          q[2] / k[2],
          (q[1] + kQueryBlock - 1) / kQueryBlock};
}

template <class T>
Index DotProductAttentionOp<T>::key_end(Index t0, Index rows, Index S) const {
  return causal_ ? std::min(S, t0 + rows) : S;
}

template <class T>
void DotProductAttentionOp<T>::dropout_factors(Index b, Index n, Index t0, Index rows, Index s0,
                                               Index cols, T* factors) const {
  const Index Tq = this->in_shape(0)[1], N = this->in_shape(0)[2], S = this->in_shape(1)[1];
  const float rate = float(dropout_);
  const T keep_prob = T(1.0 - dropout_);
  for (Index r = 0; r < rows; ++r) {
    const uint64_t first = uint64_t(((b * N + n) * Tq + t0 + r) * S + s0);  // (B, N, T, S)
    T* f = factors + r * cols;
    for (Index c = 0; c < cols; ++c)
      f[c] = uniform01(seed_, draw_, first + uint64_t(c)) >= rate ? T(1) / keep_prob : T(0);
  }
}

template <class T>
void DotProductAttentionOp<T>::mask_block(const T* const* xs, Index b, Index t0, Index rows,
                                          Index s0, Index cols, T* logits) const {
  const Index Tq = this->in_shape(0)[1], S = this->in_shape(1)[1];
  size_t input = 3;
  const auto mask_of_batch = [&](Index per_batch) -> const T* {
    const size_t i = input++;
    return xs[i] + (this->in_shape(i)[0] == 1 ? 0 : b) * per_batch;
  };
  const T* query = masks_.query ? mask_of_batch(Tq) : nullptr;
  const T* key = masks_.key ? mask_of_batch(S) : nullptr;
  const T* full = masks_.full ? mask_of_batch(Tq * S) : nullptr;
  for (Index r = 0; r < rows; ++r) {
    const Index t = t0 + r;
    T* row = logits + r * cols;
    if (query && !(query[t] > T(0.5))) {
      std::fill(row, row + cols, kMinusInfinity<T>);
      continue;
    }
    for (Index c = causal_ ? std::max<Index>(t + 1 - s0, 0) : cols; c < cols; ++c)
      row[c] = kMinusInfinity<T>;
    if (key)
      for (Index c = 0; c < cols; ++c)
        if (!(key[s0 + c] > T(0.5))) row[c] = kMinusInfinity<T>;
    if (full)
      for (Index c = 0; c < cols; ++c)
        if (!(full[t * S + s0 + c] > T(0.5))) row[c] = kMinusInfinity<T>;
  }
}

template <class T>
void DotProductAttentionOp<T>::compute(const T* const* xs, T* y, bool training) {
  const Geometry g = geometry();
  const Index B = g.B, Tq = g.Tq, N = g.N, H = g.H, S = g.S, K = g.K, Hv = g.Hv;
  T* lse_all = log_sum_exp_.view(B * N, Tq).data();
  dropped_ = training && dropout_ > 0;
  if (dropped_) {
    seed_ = stream_.seed();
    draw_ = stream_.next_draw();
  }
  const Index block = kQueryBlock * kKeyBlock;
  const Index per_thread = (dropped_ ? 2 : 1) * block + 2 * kQueryBlock;
  T* scratch = scratch_.view(get_num_threads(), per_thread).data();
  const Index items = B * N * g.query_blocks;
  const bool threads = items > 1 &&
                       2.0 * double(B * N * Tq * S) * double(H + Hv) >= kGemmParallelFlops &&
                       get_num_threads() > 1;
  const ProductPrecision precision = product_precision();
#pragma omp parallel if (threads)
  {
    const ProductPrecisionScope scope(precision);  // the calling thread's, on every thread
#pragma omp for schedule(static)
    for (Index item = 0; item < items; ++item) {
      const Index bn = item / g.query_blocks, b = bn / N, n = bn % N, kh = n / g.group;
      const Index t0 = (item % g.query_blocks) * kQueryBlock, rows = std::min(kQueryBlock, Tq - t0);
      const T* qp = xs[0] + ((b * Tq + t0) * N + n) * H;
      const T* kp = xs[1] + (b * S * K + kh) * H;
      const T* vp = xs[2] + (b * S * K + kh) * Hv;
      T* out = y + ((b * Tq + t0) * N + n) * Hv;
      T* logits = scratch + omp_get_thread_num() * per_thread;
      T* running_max = logits + block;
      T* running_sum = running_max + kQueryBlock;
      T* factors = running_sum + kQueryBlock;  // dropout's, when dropping
      std::fill(running_max, running_max + rows, kMinusInfinity<T>);
      std::fill(running_sum, running_sum + rows, T(0));
      const Index end = key_end(t0, rows, S);
      for (Index s0 = 0; s0 < end; s0 += kKeyBlock) {
        const Index cols = std::min(kKeyBlock, end - s0);
        gemm(false, true, rows, cols, H, qp, N * H, kp + s0 * K * H, K * H, logits, cols);
        ArrayMap<T>(logits, rows * cols) *= scale_;
        mask_block(xs, b, t0, rows, s0, cols, logits);
        for (Index r = 0; r < rows; ++r) {
          ArrayMap<T> row(logits + r * cols, cols);
          const T top = std::max(running_max[r], row.maxCoeff());
          if (top == kMinusInfinity<T>) {  // nothing seen yet: the row adds nothing
            row.setZero();
            continue;
          }
          row = (row - top).exp();
          const T rescale = std::exp(running_max[r] - top);
          if (s0 > 0 && rescale != T(1)) ArrayMap<T>(out + r * N * Hv, Hv) *= rescale;
          running_sum[r] = running_sum[r] * rescale + row.sum();
          running_max[r] = top;
        }
        if (dropped_) {  // the normaliser sums the kept and the dropped; the product only the kept
          dropout_factors(b, n, t0, rows, s0, cols, factors);
          ArrayMap<T>(logits, rows * cols) *= ConstArrayMap<T>(factors, rows * cols);
        }
        gemm(false, false, rows, Hv, cols, logits, cols, vp + s0 * K * Hv, K * Hv, out, N * Hv,
             s0 > 0);
      }
      T* lse = lse_all + bn * Tq + t0;
      for (Index r = 0; r < rows; ++r) {
        ArrayMap<T> o(out + r * N * Hv, Hv);
        if (running_sum[r] > T(0)) {
          o /= running_sum[r];
          lse[r] = running_max[r] + std::log(running_sum[r]);
        } else {  // a row that may see no key: zeros, and no gradient
          o.setZero();
          lse[r] = std::numeric_limits<T>::infinity();
        }
      }
    }
  }
}

template <class T>
void DotProductAttentionOp<T>::gradient(const T* const* xs, const T* y, T* grad_y,
                                        T* const* grad_xs) {
  const Geometry g = geometry();
  const Index B = g.B, Tq = g.Tq, N = g.N, H = g.H, S = g.S, K = g.K, Hv = g.Hv;
  const T* lse_all = log_sum_exp_.data();
  const Index block = kQueryBlock * kKeyBlock;
  const Index per_thread = (dropped_ ? 3 : 2) * block + kQueryBlock;
  T* scratch = scratch_.view(get_num_threads(), per_thread).data();
  for (size_t i = 3; i < this->input_count(); ++i)  // masks have no gradient
    if (grad_xs[i]) std::fill_n(grad_xs[i], element_count(this->in_shape(i)), T(0));
  T* dq_all = grad_xs[0];
  T* dk_all = grad_xs[1];
  T* dv_all = grad_xs[2];
  const bool threads = B * K > 1 &&
                       5.0 * double(B * N * Tq * S) * double(H + Hv) >= kGemmParallelFlops &&
                       get_num_threads() > 1;
  // One (batch, key head) per iteration: its query heads accumulate into the same dK and dV.
  const ProductPrecision precision = product_precision();
#pragma omp parallel if (threads)
  {
    const ProductPrecisionScope scope(precision);  // the calling thread's, on every thread
#pragma omp for schedule(static)
    for (Index bk = 0; bk < B * K; ++bk) {
      const Index b = bk / K, kh = bk % K;
      const T* kp = xs[1] + (b * S * K + kh) * H;
      const T* vp = xs[2] + (b * S * K + kh) * Hv;
      T* dk = dk_all ? dk_all + (b * S * K + kh) * H : nullptr;
      T* dv = dv_all ? dv_all + (b * S * K + kh) * Hv : nullptr;
      for (Index s = 0; s < S; ++s) {
        if (dk) std::fill_n(dk + s * K * H, H, T(0));
        if (dv) std::fill_n(dv + s * K * Hv, Hv, T(0));
      }
      T* probs = scratch + omp_get_thread_num() * per_thread;
      T* dlogits = probs + block;
      T* delta = dlogits + block;
      T* factors = delta + kQueryBlock;  // dropout's, when the forward dropped
      for (Index n = kh * g.group; n < (kh + 1) * g.group; ++n) {
        for (Index t0 = 0; t0 < Tq; t0 += kQueryBlock) {
          const Index rows = std::min(kQueryBlock, Tq - t0), row0 = (b * Tq + t0) * N + n;
          const T* qp = xs[0] + row0 * H;
          const T* dy = grad_y + row0 * Hv;
          const T* lse = lse_all + (b * N + n) * Tq + t0;
          T* dq = dq_all ? dq_all + row0 * H : nullptr;
          for (Index r = 0; r < rows; ++r) {  // delta = rowsum(dY * Y), the softmax's correction
            delta[r] = (ConstArrayMap<T>(dy + r * N * Hv, Hv) *
                        ConstArrayMap<T>(y + (row0 + r * N) * Hv, Hv))
                           .sum();
            if (dq) std::fill_n(dq + r * N * H, H, T(0));
          }
          const Index end = key_end(t0, rows, S);
          for (Index s0 = 0; s0 < end; s0 += kKeyBlock) {
            const Index cols = std::min(kKeyBlock, end - s0);
            gemm(false, true, rows, cols, H, qp, N * H, kp + s0 * K * H, K * H, probs, cols);
            ArrayMap<T>(probs, rows * cols) *= scale_;
            mask_block(xs, b, t0, rows, s0, cols, probs);
            for (Index r = 0; r < rows; ++r) {
              ArrayMap<T> row(probs + r * cols, cols);
              row = (row - lse[r]).exp();
            }
            // dP = dY V^T (through dropout's factors Z: the forward used P * Z), then through
            // the softmax and the scale: dL = P * (dP * Z - delta) * scale.
            gemm(false, true, rows, cols, Hv, dy, N * Hv, vp + s0 * K * Hv, K * Hv, dlogits, cols);
            if (dropped_) {
              dropout_factors(b, n, t0, rows, s0, cols, factors);
              ArrayMap<T>(dlogits, rows * cols) *= ConstArrayMap<T>(factors, rows * cols);
            }
            for (Index r = 0; r < rows; ++r) {
              ArrayMap<T> d(dlogits + r * cols, cols);
              ConstArrayMap<T> p(probs + r * cols, cols);
              d = p * (d - delta[r]) * scale_;
            }
            if (dropped_) ArrayMap<T>(probs, rows * cols) *= ConstArrayMap<T>(factors, rows * cols);
            if (dv)  // dV += (P Z)^T dY
              gemm(true, false, cols, Hv, rows, probs, cols, dy, N * Hv, dv + s0 * K * Hv, K * Hv,
                   true);
            if (dq)  // dQ += dL K
              gemm(false, false, rows, H, cols, dlogits, cols, kp + s0 * K * H, K * H, dq, N * H,
                   true);
            if (dk)  // dK += dL^T Q
              gemm(true, false, cols, H, rows, dlogits, cols, qp, N * H, dk + s0 * K * H, K * H,
                   true);
          }
        }
      }
    }
  }
}

template class DotProductAttentionOp<float>;
template class DotProductAttentionOp<double>;

}  // namespace eigennet
