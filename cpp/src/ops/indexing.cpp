#include "eigennet/ops/indexing.hpp"

#include <cmath>
#include <stdexcept>

#include "eigennet/ops/broadcast.hpp"
#include "eigennet/ops/reduction.hpp"

namespace eigennet {

namespace {

// The index as a position in [0, n), checked (NaN and fractions included) before any use.
template <class T>
Index checked_index(const char* op, T v, Index n, Index axis) {
  // The range first: casting a float outside Index's range would be undefined.
  const bool in_range = v >= T(-n) && v < T(n);
  const Index i = in_range ? static_cast<Index>(v) : 0;
  if (!in_range || T(i) != v) {
    std::string shown = std::isnan(double(v)) ? std::string("nan") : std::to_string(double(v));
    throw std::out_of_range(std::string(op) + ": index " + shown + " is out of range for axis " +
                            std::to_string(axis) + " of size " + std::to_string(n));
  }
  return i < 0 ? i + n : i;
}

Index checked_axis(const std::string& what, const Shape& x, Index axis) {
  if (axis < 0 || axis >= Index(x.size())) throw std::invalid_argument(what + " (no such axis)");
  return axis;
}

Shape take_shape(const Shape& x, const Shape& indices, Index axis) {
  const std::string what = "take: cannot take " + full_shape_string(indices) + " from " +
                           full_shape_string(x) + " along axis " + std::to_string(axis);
  checked_axis(what, x, axis);
  if (is_batched(indices) && axis > 0)
    throw std::invalid_argument(what + " (batched indices need axis 0)");
  if (is_batched(x) && axis == 0)
    throw std::invalid_argument(what + " (cannot take along the batch axis)");
  Shape out(x.begin(), x.begin() + axis);
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), x.begin() + axis + 1, x.end());
  return out;
}

}  // namespace

// -- take -----------------------------------------------------------------------------------
template <class T>
TakeOp<T>::TakeOp(const Shape& x, const Shape& indices, Index axis)
    : Op<T>("take", {x, indices}, take_shape(x, indices, axis)), axis_(axis) {}

template <class T>
void TakeOp<T>::compute(const T* const* xs, T* y, bool) {
  Index outer, n, inner;
  split_at_axis(this->in_shape(0), axis_, outer, n, inner);
  const Index count = element_count(this->in_shape(1));
  const T* idx = xs[1];
  for (Index j = 0; j < count; ++j) checked_index("take", idx[j], n, axis_);
  const T* x = xs[0];
#pragma omp parallel for schedule(static) if (outer * count > 1 && \
                                                  parallel_for_worth(outer * count * inner))
  for (Index r = 0; r < outer * count; ++r) {
    const Index o = r / count, j = r % count;
    Index i = static_cast<Index>(idx[j]);
    if (i < 0) i += n;
    std::copy_n(x + (o * n + i) * inner, inner, y + r * inner);
  }
}

template <class T>
void TakeOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[1]) std::fill_n(grad_xs[1], element_count(this->in_shape(1)), T(0));
  T* dx = grad_xs[0];
  if (!dx) return;
  Index outer, n, inner;
  split_at_axis(this->in_shape(0), axis_, outer, n, inner);
  const Index count = element_count(this->in_shape(1));
  for (Index j = 0; j < count; ++j) checked_index("take", xs[1][j], n, axis_);
  std::fill_n(dx, outer * n * inner, T(0));
  // Serial: repeated indices add into the same row.
  for (Index o = 0; o < outer; ++o)
    for (Index j = 0; j < count; ++j) {
      Index i = static_cast<Index>(xs[1][j]);
      if (i < 0) i += n;
      ArrayMap<T>(dx + (o * n + i) * inner, inner) +=
          ConstArrayMap<T>(grad_y + (o * count + j) * inner, inner);
    }
}

// -- take_along_axis ------------------------------------------------------------------------
namespace {
Shape take_along_axis_shape(const Shape& x, const Shape& indices, Index axis) {
  const std::string what = "take_along_axis: cannot take " + full_shape_string(indices) + " from " +
                           full_shape_string(x) + " along axis " + std::to_string(axis);
  checked_axis(what, x, axis);
  if (indices.size() != x.size())
    throw std::invalid_argument(what + " (indices need the rank of x)");
  if (axis == 0 && (is_batched(x) || is_batched(indices)))
    throw std::invalid_argument(what + " (cannot take along the batch axis)");
  Shape xs = x, is = indices;
  xs[axis] = is[axis] = 1;
  Shape out;
  try {
    out = broadcast_full_shapes("take_along_axis", {xs, is});
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(what + " (the other axes do not broadcast)");
  }
  out[axis] = indices[axis];
  return out;
}
}  // namespace

template <class T>
TakeAlongAxisOp<T>::TakeAlongAxisOp(const Shape& x, const Shape& indices, Index axis)
    : Op<T>("take_along_axis", {x, indices}, take_along_axis_shape(x, indices, axis)),
      axis_(axis) {}

template <class T>
StridedLoop<3> TakeAlongAxisOp<T>::loop() const {
  const Shape& out = this->out_shape();
  Dims x = this->in_shape(0);
  x[axis_] = 1;  // the axis is read through the index, not walked
  Dims xs = broadcast_strides(x, out);
  const Dims full = contiguous_strides(this->in_shape(0));
  for (size_t d = 0; d < out.size(); ++d)
    if (this->in_shape(0)[d] != 1 && Index(d) != axis_) xs[d] = full[d];
  return StridedLoop<3>(out,
                        {contiguous_strides(out), broadcast_strides(this->in_shape(1), out), xs});
}

template <class T>
void TakeAlongAxisOp<T>::compute(const T* const* xs, T* y, bool) {
  const Index n = this->in_shape(0)[axis_];
  const Index stride = contiguous_strides(this->in_shape(0))[axis_];
  const Index count = element_count(this->in_shape(1));
  for (Index j = 0; j < count; ++j) checked_index("take_along_axis", xs[1][j], n, axis_);
  loop().run([&](const auto& off, Index m, const auto& s) {
    for (Index i = 0; i < m; ++i) {
      Index k = static_cast<Index>(xs[1][off[1] + i * s[1]]);
      if (k < 0) k += n;
      y[off[0] + i * s[0]] = xs[0][off[2] + i * s[2] + k * stride];
    }
  });
}

template <class T>
void TakeAlongAxisOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[1]) std::fill_n(grad_xs[1], element_count(this->in_shape(1)), T(0));
  T* dx = grad_xs[0];
  if (!dx) return;
  const Index n = this->in_shape(0)[axis_];
  const Index stride = contiguous_strides(this->in_shape(0))[axis_];
  const Index count = element_count(this->in_shape(1));
  for (Index j = 0; j < count; ++j) checked_index("take_along_axis", xs[1][j], n, axis_);
  std::fill_n(dx, element_count(this->in_shape(0)), T(0));
  loop().run(
      [&](const auto& off, Index m, const auto& s) {
        for (Index i = 0; i < m; ++i) {
          Index k = static_cast<Index>(xs[1][off[1] + i * s[1]]);
          if (k < 0) k += n;
          dx[off[2] + i * s[2] + k * stride] += grad_y[off[0] + i * s[0]];
        }
      },
      false);
}

// -- one_hot --------------------------------------------------------------------------------
namespace {
Shape one_hot_shape(const Shape& input, Index classes) {
  if (classes < 1)
    throw std::invalid_argument("one_hot: " + full_shape_string(input) + " with " +
                                std::to_string(classes) + " classes (need at least 1)");
  Shape out = input;
  out.push_back(classes);
  return out;
}
}  // namespace

template <class T>
OneHotOp<T>::OneHotOp(const Shape& input, Index num_classes)
    : Op<T>("one_hot", {input}, one_hot_shape(input, num_classes)), classes_(num_classes) {}

template <class T>
void OneHotOp<T>::compute(const T* const* xs, T* y, bool) {
  const Index count = element_count(this->in_shape(0));
  std::fill_n(y, count * classes_, T(0));
  for (Index j = 0; j < count; ++j) {
    const T v = xs[0][j];
    if (v >= T(0) && v < T(classes_)) y[j * classes_ + static_cast<Index>(v)] = T(1);
  }
}

template <class T>
void OneHotOp<T>::gradient(const T* const*, const T*, T*, T* const* grad_xs) {
  if (grad_xs[0]) std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
}

template class TakeOp<float>;
template class TakeOp<double>;
template class TakeAlongAxisOp<float>;
template class TakeAlongAxisOp<double>;
template class OneHotOp<float>;
template class OneHotOp<double>;

}  // namespace eigennet
