#include "eigennet/ops/attention.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "eigennet/gemm.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

Shape attention_shape(const Shape& q, const Shape& k, const Shape& v) {
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
  return {q[0], q[1], q[2], v[3]};
}

}  // namespace

template <class T>
DotProductAttentionOp<T>::DotProductAttentionOp(const Shape& query, const Shape& key,
                                                const Shape& value, std::optional<double> scale,
                                                bool is_causal)
    : Op<T>("dot_product_attention", {query, key, value}, attention_shape(query, key, value)),
      scale_(T(scale ? *scale : 1.0 / std::sqrt(double(std::max<Index>(query[3], 1))))),
      causal_(is_causal) {}

template <class T>
void DotProductAttentionOp<T>::compute(const T* const* xs, T* y, bool) {
  const Shape& q = this->in_shape(0);
  const Shape& k = this->in_shape(1);
  const Index B = q[0], Tq = q[1], N = q[2], H = q[3], S = k[1], K = k[2],
              Hv = this->in_shape(2)[3];
  const Index group = N / K;
  T* probs = probs_.view(B * N, Tq * S).data();
  const T scale = scale_;
  const bool causal = causal_;
  const bool threads = B * N > 1 &&
                       2.0 * double(B * N * Tq * S) * double(H + Hv) >= kGemmParallelFlops &&
                       get_num_threads() > 1;
#pragma omp parallel for schedule(static) if (threads)
  for (Index bn = 0; bn < B * N; ++bn) {
    const Index b = bn / N, n = bn % N, kh = n / group;
    const T* qp = xs[0] + (b * Tq * N + n) * H;
    const T* kp = xs[1] + (b * S * K + kh) * H;
    const T* vp = xs[2] + (b * S * K + kh) * Hv;
    T* p = probs + bn * Tq * S;
    gemm(false, true, Tq, S, H, qp, N * H, kp, K * H, p, S);
    for (Index t = 0; t < Tq; ++t) {
      const Index seen = causal ? std::min(S, t + 1) : S;
      ArrayMap<T> row(p + t * S, seen);
      row *= scale;
      const T mx = seen ? row.maxCoeff() : T(0);
      row = (row - mx).exp();
      row /= row.sum();
      std::fill(p + t * S + seen, p + (t + 1) * S, T(0));
    }
    gemm(false, false, Tq, Hv, S, p, S, vp, K * Hv, y + (b * Tq * N + n) * Hv, N * Hv);
  }
}

template <class T>
void DotProductAttentionOp<T>::gradient(const T* const* xs, const T*, T* grad_y,
                                        T* const* grad_xs) {
  const Shape& q = this->in_shape(0);
  const Shape& k = this->in_shape(1);
  const Index B = q[0], Tq = q[1], N = q[2], H = q[3], S = k[1], K = k[2],
              Hv = this->in_shape(2)[3];
  const Index group = N / K;
  const T* probs = probs_.data();
  T* dlogits = grad_logits_.view(B * N, Tq * S).data();
  const T scale = scale_;
  const bool threads = B * K > 1 &&
                       4.0 * double(B * N * Tq * S) * double(H + Hv) >= kGemmParallelFlops &&
                       get_num_threads() > 1;
  // One (batch, key head) per iteration: its query heads accumulate into the same dK and dV.
#pragma omp parallel for schedule(static) if (threads)
  for (Index bk = 0; bk < B * K; ++bk) {
    const Index b = bk / K, kh = bk % K;
    const T* kp = xs[1] + (b * S * K + kh) * H;
    const T* vp = xs[2] + (b * S * K + kh) * Hv;
    for (Index g = 0; g < group; ++g) {
      const Index n = kh * group + g, bn = b * N + n;
      const T* qp = xs[0] + (b * Tq * N + n) * H;
      const T* dy = grad_y + (b * Tq * N + n) * Hv;
      const T* p = probs + bn * Tq * S;
      T* dl = dlogits + bn * Tq * S;
      const bool first = g == 0;
      if (grad_xs[2])  // dV += P^T dY
        gemm(true, false, S, Hv, Tq, p, S, dy, N * Hv, grad_xs[2] + (b * S * K + kh) * Hv, K * Hv,
             !first);
      // dP = dY V^T, then through the softmax and the scale.
      gemm(false, true, Tq, S, Hv, dy, N * Hv, vp, K * Hv, dl, S);
      for (Index t = 0; t < Tq; ++t) {
        ArrayMap<T> d(dl + t * S, S);
        ConstArrayMap<T> pr(p + t * S, S);
        d = pr * (d - (d * pr).sum()) * scale;
      }
      if (grad_xs[0])  // dQ = dL K
        gemm(false, false, Tq, H, S, dl, S, kp, K * H, grad_xs[0] + (b * Tq * N + n) * H, N * H);
      if (grad_xs[1])  // dK += dL^T Q
        gemm(true, false, S, H, Tq, dl, S, qp, N * H, grad_xs[1] + (b * S * K + kh) * H, K * H,
             !first);
    }
  }
}

template class DotProductAttentionOp<float>;
template class DotProductAttentionOp<double>;

}  // namespace eigennet
