#include "eigennet/ops/sorting.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

Shape sorted_shape(const Shape& input, Index k) {
  if (input.empty() || (input.size() == 1 && input[0] == kBatch))
    throw std::invalid_argument("argsort/top_k: the input " + full_shape_string(input) +
                                " has no axis to sort");
  const Index n = input.back();
  if (k < 1 || k > n)
    throw std::invalid_argument("top_k: k=" + std::to_string(k) + " must be in [1, " +
                                std::to_string(n) + "] for an input of shape " +
                                full_shape_string(input));
  Shape out = input;
  out.back() = k;
  return out;
}

}  // namespace

template <class T>
ArgSortOp<T>::ArgSortOp(const Shape& input, Index k, bool descending)
    : Op<T>(descending ? "top_k" : "argsort", {input}, sorted_shape(input, k)),
      k_(k),
      descending_(descending) {}

template <class T>
void ArgSortOp<T>::compute(const T* const* xs, T* y, bool) {
  const Index n = this->in_shape(0).back();
  const Index rows = element_count(this->in_shape(0)) / n;
  const bool descending = descending_;
  const Index k = k_;
  // Whether value a (at position i) comes before value b (at j): NaN as the largest, ties
  // by position.
  const auto before = [descending](T a, Index i, T b, Index j) {
    const bool a_nan = std::isnan(a), b_nan = std::isnan(b);
    if (a_nan || b_nan) return a_nan != b_nan ? (a_nan == descending) : i < j;
    if (a != b) return descending ? a > b : a < b;
    return i < j;
  };
#pragma omp parallel if (parallel_for_worth(rows * n) && !omp_in_parallel()) \
    num_threads(get_num_threads())
  {
    thread_local std::vector<Index> order;  // per thread, kept between batches
    order.resize(static_cast<size_t>(n));
#pragma omp for schedule(static)
    for (Index r = 0; r < rows; ++r) {
      const T* row = xs[0] + r * n;
      std::iota(order.begin(), order.end(), Index(0));
      const auto comp = [&](Index i, Index j) { return before(row[i], i, row[j], j); };
      if (k < n)
        std::partial_sort(order.begin(), order.begin() + k, order.end(), comp);
      else
        std::sort(order.begin(), order.end(), comp);  // (ties by position: stable)
      for (Index j = 0; j < k; ++j) y[r * k + j] = T(order[j]);
    }
  }
}

template <class T>
void ArgSortOp<T>::gradient(const T* const*, const T*, T*, T* const* grad_xs) {
  if (grad_xs[0]) std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
}

template class ArgSortOp<float>;
template class ArgSortOp<double>;

}  // namespace eigennet
