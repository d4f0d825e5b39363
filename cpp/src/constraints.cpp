#include "eigennet/constraints.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "eigennet/threading.hpp"

namespace eigennet {

void Constraint::check_rank(Index rank) const {
  if (kind == Kind::None || kind == Kind::NonNeg) return;
  for (const Index axis : axes)
    if (axis < -rank || axis >= rank)
      throw std::invalid_argument("constraint axis " + std::to_string(axis) +
                                  " is out of range for a weight of rank " + std::to_string(rank));
}

namespace {

// The factor a slice of this norm is scaled by.
double slice_factor(const Constraint& c, double norm) {
  double desired = 1;  // UnitNorm: w / (epsilon + norm)
  if (c.kind == Constraint::Kind::MaxNorm) desired = std::min(norm, c.max_value);  // (norm >= 0)
  if (c.kind == Constraint::Kind::MinMaxNorm)
    desired = c.rate * std::min(std::max(norm, c.min_value), c.max_value) + (1 - c.rate) * norm;
  return desired / (c.epsilon + norm);
}

// The reduced axes form one block: the weight is outer x reduced x inner, and slice (o, i)
// holds w[o][0..reduced)[i]. Each thread takes whole slices (the same sums at any thread
// count); the inner loops run over contiguous memory.
template <class T>
void rescale_block(const Constraint& c, T* w, Index outer, Index reduced, Index inner) {
  const Index slices = outer * inner;
  const int threads = get_num_threads();
  const bool parallel = parallel_for_worth(outer * reduced * inner) && !omp_in_parallel();
  thread_local std::vector<double> factors;
  factors.assign(slices, 0.0);
  double* f = factors.data();
#pragma omp parallel for schedule(static) num_threads(threads) if (parallel)
  for (int t = 0; t < threads; ++t) {
    // Thread t's slices: a range of the outer index when there are enough, else of inner.
    const bool by_outer = outer >= threads;
    const Index n = by_outer ? outer : inner;
    const Index first = n * t / threads, last = n * (t + 1) / threads;
    const Index o0 = by_outer ? first : 0, o1 = by_outer ? last : outer;
    const Index i0 = by_outer ? 0 : first, i1 = by_outer ? inner : last;
    for (Index o = o0; o < o1; ++o) {
      double* fo = f + o * inner;
      for (Index r = 0; r < reduced; ++r) {
        const T* row = w + (o * reduced + r) * inner;
        for (Index i = i0; i < i1; ++i) fo[i] += double(row[i]) * double(row[i]);
      }
      for (Index i = i0; i < i1; ++i) fo[i] = slice_factor(c, std::sqrt(fo[i]));
      for (Index r = 0; r < reduced; ++r) {
        T* row = w + (o * reduced + r) * inner;
        for (Index i = i0; i < i1; ++i) row[i] *= T(fo[i]);
      }
    }
  }
}

// Reduced axes apart (e.g. 0 and 2 of a rank-3 weight): an odometer over the weight's
// indices keeps each element's slice index (its indices on the other axes, row-major).
template <class T>
void rescale_scattered(const Constraint& c, T* w, const Shape& shape,
                       const std::vector<bool>& reduced) {
  const Index rank = static_cast<Index>(shape.size());
  Index n = 1;
  for (const Index d : shape) n *= d;
  std::vector<Index> slice_stride(rank, 0), index(rank, 0);
  Index slices = 1;
  for (Index k = rank - 1; k >= 0; --k)
    if (!reduced[k]) {
      slice_stride[k] = slices;
      slices *= shape[k];
    }
  const auto each_element = [&](auto&& visit) {
    std::fill(index.begin(), index.end(), 0);
    Index slice = 0;
    for (Index i = 0; i < n; ++i) {
      visit(i, slice);
      for (Index k = rank - 1; k >= 0; --k) {
        if (++index[k] < shape[k]) {
          slice += slice_stride[k];
          break;
        }
        slice -= (shape[k] - 1) * slice_stride[k];
        index[k] = 0;
      }
    }
  };
  thread_local std::vector<double> factors;  // per slice: its squared norm, then its factor
  factors.assign(slices, 0.0);
  each_element([&](Index i, Index s) { factors[s] += double(w[i]) * double(w[i]); });
  for (Index s = 0; s < slices; ++s) factors[s] = slice_factor(c, std::sqrt(factors[s]));
  each_element([&](Index i, Index s) { w[i] *= T(factors[s]); });
}

}  // namespace

template <class T>
void Constraint::apply(T* w, const Shape& shape) const {
  Index n = 1;
  for (const Index d : shape) n *= d;
  if (kind == Kind::None || n == 0) return;
  if (kind == Kind::NonNeg) {  // Keras: w * (w >= 0), so -0 for negative values, NaN kept
#pragma omp parallel for simd schedule(static) if (parallel_for_worth(n) && !omp_in_parallel())
    for (Index i = 0; i < n; ++i) w[i] *= T(w[i] >= T(0));
    return;
  }
  const Index rank = static_cast<Index>(shape.size());
  thread_local std::vector<bool> reduced;  // (kept between steps: no allocation per step)
  reduced.assign(rank, false);
  for (const Index axis : axes) reduced[axis < 0 ? axis + rank : axis] = true;
  const auto first = std::find(reduced.begin(), reduced.end(), true) - reduced.begin();
  const auto last = rank - (std::find(reduced.rbegin(), reduced.rend(), true) - reduced.rbegin());
  if (first >= last ||
      std::all_of(reduced.begin() + first, reduced.begin() + last, [](bool r) { return r; })) {
    Index outer = 1, block = 1, inner = 1;
    for (Index k = 0; k < rank; ++k) (k < first ? outer : k < last ? block : inner) *= shape[k];
    rescale_block(*this, w, outer, block, inner);
  } else {
    rescale_scattered(*this, w, shape, reduced);
  }
}

template void Constraint::apply<float>(float*, const Shape&) const;
template void Constraint::apply<double>(double*, const Shape&) const;

}  // namespace eigennet
