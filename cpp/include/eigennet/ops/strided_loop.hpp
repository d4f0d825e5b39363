// Loops over an N-d index space where each operand has its own strides (0 on a broadcast
// axis, permuted for a transpose, scaled for a slice). Adjacent axes that every operand walks
// contiguously are merged first, so a same-shape element-wise op becomes one flat loop and a
// bias add one loop of rows: the fast paths fall out of the general case.
#pragma once

#include <algorithm>
#include <array>
#include <stdexcept>

#include "eigennet/ops/op.hpp"
#include "eigennet/parallel_passes.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {

// Extents or strides in a fixed-capacity list, so that ops set up their loops for every batch
// without touching the heap. Converts implicitly from a Shape.
class Dims {
 public:
  static constexpr size_t kCapacity = 32;

  Dims() = default;
  Dims(const Shape& shape) {  // NOLINT(google-explicit-constructor): a Shape is a Dims
    for (Index v : shape) push_back(v);
  }
  Dims(size_t n, Index value) { resize(n, value); }

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  Index& operator[](size_t i) { return v_[i]; }
  Index operator[](size_t i) const { return v_[i]; }
  Index& back() { return v_[n_ - 1]; }
  Index back() const { return v_[n_ - 1]; }
  const Index* begin() const { return v_.data(); }
  const Index* end() const { return v_.data() + n_; }

  void push_back(Index v) {
    if (n_ == kCapacity) throw std::invalid_argument("tensor rank too large");
    v_[n_++] = v;
  }
  void insert_at(size_t pos, Index v) {
    push_back(0);
    for (size_t i = n_ - 1; i > pos; --i) v_[i] = v_[i - 1];
    v_[pos] = v;
  }
  void resize(size_t n, Index value = 0) {
    while (n_ < n) push_back(value);
    n_ = n;
  }
  void clear() { n_ = 0; }

 private:
  std::array<Index, kCapacity> v_{};
  size_t n_ = 0;
};

inline Index element_count(const Dims& dims) {
  Index n = 1;
  for (Index d : dims) n *= d;
  return n;
}

// Row-major strides of a contiguous tensor of these dims.
Dims contiguous_strides(const Dims& dims);
// Strides that read a contiguous tensor `in` as the larger `out` (NumPy broadcasting: shapes
// right-aligned, 0 on missing axes and on size-1 axes).
Dims broadcast_strides(const Dims& in, const Dims& out);

template <size_t K>
class StridedLoop {
 public:
  using Offsets = std::array<Index, K>;
  static constexpr size_t kMaxRank = Dims::kCapacity;

  StridedLoop() = default;
  StridedLoop(const Dims& dims, const std::array<Dims, K>& strides) {
    size_ = element_count(dims);
    for (size_t d = 0; d < dims.size(); ++d) {
      if (dims[d] == 1) continue;  // size-1 axes never move an offset
      const size_t n = dims_.size();
      bool merge = n > 0;
      for (size_t k = 0; k < K && merge; ++k) merge = strides_[k][n - 1] == strides[k][d] * dims[d];
      if (merge) {
        dims_[n - 1] *= dims[d];
        for (size_t k = 0; k < K; ++k) strides_[k][n - 1] = strides[k][d];
      } else {
        dims_.push_back(dims[d]);
        for (size_t k = 0; k < K; ++k) strides_[k].push_back(strides[k][d]);
      }
    }
    if (dims_.empty()) {
      dims_.push_back(1);
      for (size_t k = 0; k < K; ++k) strides_[k].push_back(0);
    }
  }

  Index size() const { return size_; }
  Index inner() const { return dims_.back(); }
  Index outer() const { return size_ == 0 ? 0 : size_ / dims_.back(); }

  // fn(offsets, n, inner_strides) for the rows [r0, r1) of the innermost axis.
  template <class Fn>
  void rows(Index r0, Index r1, Fn&& fn) const {
    if (r0 >= r1) return;
    const size_t outer_rank = dims_.size() - 1;
    std::array<Index, kMaxRank> idx{};
    Offsets off{}, inner_strides{};
    for (size_t k = 0; k < K; ++k) inner_strides[k] = strides_[k].back();
    Index rest = r0;
    for (size_t d = outer_rank; d-- > 0;) {
      idx[d] = rest % dims_[d];
      rest /= dims_[d];
      for (size_t k = 0; k < K; ++k) off[k] += idx[d] * strides_[k][d];
    }
    const Index n = dims_.back();
    for (Index r = r0; r < r1; ++r) {
      fn(off, n, inner_strides);
      for (size_t d = outer_rank; d-- > 0;) {
        for (size_t k = 0; k < K; ++k) off[k] += strides_[k][d];
        if (++idx[d] < dims_[d]) break;
        for (size_t k = 0; k < K; ++k) off[k] -= strides_[k][d] * dims_[d];
        idx[d] = 0;
      }
    }
  }

  // All rows; split over threads when `parallel` (the rows write disjoint memory) and the loop
  // is large enough to pay for a parallel region.
  template <class Fn>
  void run(Fn&& fn, bool parallel = true) const {
    const Index rows_total = outer();
    if (!parallel || rows_total < 2 || !parallel_for_worth(size_)) {
      rows(0, rows_total, fn);
      return;
    }
    const Index threads = std::min<Index>(get_num_threads(), rows_total);
    const Index block = (rows_total + threads - 1) / threads;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(threads))
    for (Index t = 0; t < threads; ++t) rows(t * block, std::min(rows_total, (t + 1) * block), fn);
  }

 private:
  Dims dims_;
  std::array<Dims, K> strides_;
  Index size_ = 0;
};

// dst (strides ds) = src (strides ss) over dims; the destination regions are disjoint.
template <class T>
void strided_copy(const Dims& dims, T* dst, const Dims& ds, const T* src, const Dims& ss) {
  StridedLoop<2>(dims, {ds, ss}).run([&](const auto& off, Index n, const auto& s) {
    T* d = dst + off[0];
    const T* x = src + off[1];
    if (s[0] == 1 && s[1] == 1)
      std::copy_n(x, n, d);
    else
      for (Index i = 0; i < n; ++i) d[i * s[0]] = x[i * s[1]];
  });
}

// dst (strides ds, 0 on summed axes) += src (strides ss) over dims; serial (dst repeats).
template <class T>
void strided_accumulate(const Dims& dims, T* dst, const Dims& ds, const T* src, const Dims& ss) {
  StridedLoop<2>(dims, {ds, ss})
      .run(
          [&](const auto& off, Index n, const auto& s) {
            T* d = dst + off[0];
            const T* x = src + off[1];
            if (s[0] == 0) {
              T acc = 0;
              if (s[1] == 1)
                for (Index i = 0; i < n; ++i) acc += x[i];
              else
                for (Index i = 0; i < n; ++i) acc += x[i * s[1]];
              *d += acc;
            } else if (s[0] == 1 && s[1] == 1) {
              for (Index i = 0; i < n; ++i) d[i] += x[i];
            } else {
              for (Index i = 0; i < n; ++i) d[i * s[0]] += x[i * s[1]];
            }
          },
          false);
}

// Sums a contiguous tensor of shape `out` into the contiguous `in` it was broadcast from.
template <class T>
void sum_to(const T* src, const Dims& out, T* dst, const Dims& in) {
  const Index n = element_count(in);
  if (n == element_count(out)) {
    parallel_copy(src, n, dst);
    return;
  }
  // A bias (in = out's trailing axes): column sums of (rows, n), without building a loop.
  bool trailing = in.size() <= out.size();
  for (size_t d = 0; d < in.size() && trailing; ++d)
    trailing = in[in.size() - 1 - d] == out[out.size() - 1 - d];
  if (trailing && n > 0) {
    column_sums(src, element_count(out) / n, n, dst);
    return;
  }
  std::fill_n(dst, n, T(0));
  strided_accumulate(out, dst, broadcast_strides(in, out), src, contiguous_strides(out));
}

}  // namespace eigennet
