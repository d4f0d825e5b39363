#include "eigennet/ops/shape_ops.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

namespace {
// In a reshape's target: the one axis whose length the input's size gives (an axis of
// variable length, whose size is only known per batch); entries at or below kInputAxis keep
// an input axis's length (op.hpp).
constexpr Index kInferred = -2;

Shape checked_reshape(const Shape& input, const Shape& target_in) {
  const bool batched = is_batched(input);
  Shape target = with_input_lengths("reshape", target_in, input);
  const auto inferred = std::find(target.begin(), target.end(), kInferred);
  if (inferred != target.end()) {
    const Index size = element_count(row_shape(input)) * (batched ? 1 : row_count(input));
    Index known = 1;
    for (size_t i = batched ? 1 : 0; i < target.size(); ++i)
      if (target[i] != kInferred) known *= target[i];
    if (std::count(target.begin(), target.end(), kInferred) > 1 || known <= 0 || size % known)
      throw std::invalid_argument("reshape: cannot reshape " + full_shape_string(input) + " to " +
                                  full_shape_string(target_in) +
                                  " (one axis inferred from the size)");
    *inferred = size / known;
  }
  if (batched != is_batched(target))
    throw std::invalid_argument("reshape: cannot reshape " + full_shape_string(input) + " to " +
                                full_shape_string(target) +
                                " (the batch axis must stay the first axis)");
  if (element_count(row_shape(input)) * (batched ? 1 : row_count(input)) !=
      element_count(row_shape(target)) * (batched ? 1 : row_count(target)))
    throw std::invalid_argument("reshape: cannot reshape " + full_shape_string(input) + " to " +
                                full_shape_string(target) + " (different sizes)");
  return target;
}
}  // namespace

template <class T>
ReshapeOp<T>::ReshapeOp(const Shape& input, const Shape& target)
    : Op<T>("reshape", {input}, checked_reshape(input, target)) {}

template <class T>
void ReshapeOp<T>::compute(const T* const* xs, T* y, bool) {
  std::copy_n(xs[0], element_count(this->out_shape()), y);
}

template <class T>
void ReshapeOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[0]) std::copy_n(grad_y, element_count(this->out_shape()), grad_xs[0]);
}

// -- transpose ------------------------------------------------------------------------------
namespace {
Shape transpose_shape(const Shape& input, const Shape& perm) {
  const std::string what =
      "transpose: cannot transpose " + full_shape_string(input) + " by " + full_shape_string(perm);
  if (perm.size() != input.size()) throw std::invalid_argument(what + " (one axis per axis)");
  std::vector<bool> seen(input.size(), false);
  Shape out;
  for (Index a : perm) {
    if (a < 0 || a >= Index(input.size()) || seen[a])
      throw std::invalid_argument(what + " (not a permutation)");
    seen[a] = true;
    out.push_back(input[a]);
  }
  if (is_batched(input) && perm[0] != 0)
    throw std::invalid_argument(what + " (the batch axis must stay the first axis)");
  return out;
}
}  // namespace

template <class T>
TransposeOp<T>::TransposeOp(const Shape& input, const Shape& perm)
    : Op<T>("transpose", {input}, transpose_shape(input, perm)), perm_(perm) {}

template <class T>
void TransposeOp<T>::view(Dims& dims, Dims& in_strides) const {
  const Dims s = contiguous_strides(this->in_shape(0));
  dims = this->out_shape();
  in_strides.resize(perm_.size());
  for (size_t d = 0; d < perm_.size(); ++d) in_strides[d] = s[perm_[d]];
}

template <class T>
void TransposeOp<T>::compute(const T* const* xs, T* y, bool) {
  Dims dims, strides;
  view(dims, strides);
  strided_copy(dims, y, contiguous_strides(dims), xs[0], strides);
}

template <class T>
void TransposeOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Dims dims, strides;
  view(dims, strides);
  strided_copy(dims, grad_xs[0], strides, grad_y, contiguous_strides(dims));
}

// -- concatenate ----------------------------------------------------------------------------
namespace {
Shape concatenate_shape(const std::vector<Shape>& inputs, Index axis) {
  std::string shapes;
  for (const auto& s : inputs) shapes += (shapes.empty() ? "" : ", ") + full_shape_string(s);
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("concatenate: cannot join " + shapes + " along axis " +
                                std::to_string(axis) + " (" + why + ")");
  };
  if (inputs.empty()) fail("no inputs");
  const Shape& first = inputs[0];
  if (axis < 0 || axis >= Index(first.size())) fail("no such axis");
  Shape out = first;
  out[axis] = 0;
  for (const auto& s : inputs) {
    if (s.size() != first.size()) fail("different ranks");
    if (is_batched(s) != is_batched(first))
      fail("inputs with and without the batch axis cannot be joined");
    if (is_batched(s) && axis == 0) fail("cannot join along the batch axis");
    for (size_t d = 0; d < s.size(); ++d)
      if (Index(d) != axis && s[d] != first[d]) fail("shapes differ outside the axis");
    out[axis] += s[axis];
  }
  return out;
}
}  // namespace

template <class T>
ConcatenateOp<T>::ConcatenateOp(const std::vector<Shape>& inputs, Index axis)
    : Op<T>("concatenate", inputs, concatenate_shape(inputs, axis)), axis_(axis) {}

template <class T>
void ConcatenateOp<T>::compute(const T* const* xs, T* y, bool) {
  const Dims out_strides = contiguous_strides(this->out_shape());
  Index at = 0;
  for (size_t i = 0; i < this->input_count(); ++i) {
    const Shape& in = this->in_shape(i);
    strided_copy(in, y + at * out_strides[axis_], out_strides, xs[i], contiguous_strides(in));
    at += in[axis_];
  }
}

template <class T>
void ConcatenateOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  const Dims out_strides = contiguous_strides(this->out_shape());
  Index at = 0;
  for (size_t i = 0; i < this->input_count(); ++i) {
    const Shape& in = this->in_shape(i);
    if (grad_xs[i])
      strided_copy(in, grad_xs[i], contiguous_strides(in), grad_y + at * out_strides[axis_],
                   out_strides);
    at += in[axis_];
  }
}

// -- slice ----------------------------------------------------------------------------------
namespace {
constexpr Index kToTheEnd = 2147483647;

Shape slice_shape(const Shape& input, const Shape& starts, const Shape& stops, const Shape& steps,
                  Shape* clamped_starts = nullptr) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("slice: cannot slice " + full_shape_string(input) + " from " +
                                full_shape_string(starts) + " to " + full_shape_string(stops) +
                                " by " + full_shape_string(steps) + " (" + why + ")");
  };
  const size_t rank = input.size();
  if (starts.size() != rank || stops.size() != rank || steps.size() != rank)
    fail("one start, stop and step per axis");
  Shape out(rank);
  if (clamped_starts) clamped_starts->assign(rank, 0);
  for (size_t d = 0; d < rank; ++d) {
    if (steps[d] < 1) fail("steps must be 1 or more");
    if (input[d] == kBatch) {
      if (starts[d] != 0 || steps[d] != 1 || !(stops[d] == -1 || stops[d] >= kToTheEnd))
        fail("the batch axis can only be taken whole");
      out[d] = kBatch;
      continue;
    }
    if (starts[d] < 0 || stops[d] < 0) fail("starts and stops must be non-negative");
    const Index s = std::min(starts[d], input[d]), e = std::min(stops[d], input[d]);
    out[d] = e > s ? (e - s + steps[d] - 1) / steps[d] : 0;
    if (clamped_starts) (*clamped_starts)[d] = s;
  }
  return out;
}
}  // namespace

template <class T>
SliceOp<T>::SliceOp(const Shape& input, const Shape& starts, const Shape& stops, const Shape& steps)
    : Op<T>("slice", {input}, slice_shape(input, starts, stops, steps)), steps_(steps) {
  slice_shape(input, starts, stops, steps, &starts_);
}

template <class T>
Index SliceOp<T>::view(Dims& dims, Dims& in_strides) const {
  const Dims s = contiguous_strides(this->in_shape(0));
  dims = this->out_shape();
  in_strides.resize(s.size());
  Index offset = 0;
  for (size_t d = 0; d < s.size(); ++d) {
    in_strides[d] = s[d] * steps_[d];
    offset += starts_[d] * s[d];
  }
  return offset;
}

template <class T>
void SliceOp<T>::compute(const T* const* xs, T* y, bool) {
  Dims dims, strides;
  const Index offset = view(dims, strides);
  strided_copy(dims, y, contiguous_strides(dims), xs[0] + offset, strides);
}

template <class T>
void SliceOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
  Dims dims, strides;
  const Index offset = view(dims, strides);
  strided_copy(dims, grad_xs[0] + offset, strides, grad_y, contiguous_strides(dims));
}

// -- pad ------------------------------------------------------------------------------------
namespace {
Shape pad_shape(const Shape& input, const std::vector<std::vector<Index>>& pad_width) {
  std::string widths;
  for (const auto& p : pad_width) widths += (widths.empty() ? "" : ", ") + full_shape_string(p);
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("pad: cannot pad " + full_shape_string(input) + " by [" + widths +
                                "] (" + why + ")");
  };
  if (pad_width.size() != input.size()) fail("one (before, after) pair per axis");
  Shape out = input;
  for (size_t d = 0; d < input.size(); ++d) {
    const auto& p = pad_width[d];
    if (p.size() != 2 || p[0] < 0 || p[1] < 0) fail("pairs of non-negative widths");
    if (input[d] == kBatch) {
      if (p[0] || p[1]) fail("the batch axis cannot be padded");
      continue;
    }
    out[d] += p[0] + p[1];
  }
  return out;
}
}  // namespace

template <class T>
PadOp<T>::PadOp(const Shape& input, const std::vector<std::vector<Index>>& pad_width, double value)
    : Op<T>("pad", {input}, pad_shape(input, pad_width)), value_(T(value)) {
  for (const auto& p : pad_width) before_.push_back(p[0]);
}

template <class T>
Index PadOp<T>::region(Dims& out_strides) const {
  out_strides = contiguous_strides(this->out_shape());
  Index offset = 0;
  for (size_t d = 0; d < before_.size(); ++d) offset += before_[d] * out_strides[d];
  return offset;
}

template <class T>
void PadOp<T>::compute(const T* const* xs, T* y, bool) {
  std::fill_n(y, element_count(this->out_shape()), value_);
  Dims strides;
  const Index offset = region(strides);
  const Shape& in = this->in_shape(0);
  strided_copy(in, y + offset, strides, xs[0], contiguous_strides(in));
}

template <class T>
void PadOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Dims strides;
  const Index offset = region(strides);
  const Shape& in = this->in_shape(0);
  strided_copy(in, grad_xs[0], contiguous_strides(in), grad_y + offset, strides);
}

// -- slice_update ---------------------------------------------------------------------------
namespace {
Shape slice_update_shape(const Shape& input, const Shape& update, const Shape& start) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("slice_update: cannot write " + full_shape_string(update) +
                                " into " + full_shape_string(input) + " at " +
                                full_shape_string(start) + " (" + why + ")");
  };
  if (update.size() != input.size() || start.size() != input.size())
    fail("the update and the start need the input's rank");
  if (is_batched(update) && !is_batched(input)) fail("the update has a batch axis, the input not");
  for (size_t d = 0; d < input.size(); ++d) {
    if (input[d] == kBatch) {
      if (update[d] != kBatch || start[d] != 0)
        fail("the batch axis must be written whole by a batched update");
      continue;
    }
    if (start[d] < 0 || start[d] + update[d] > input[d]) fail("the update does not fit");
  }
  return input;
}
}  // namespace

template <class T>
SliceUpdateOp<T>::SliceUpdateOp(const Shape& input, const Shape& update, const Shape& start)
    : Op<T>("slice_update", {input, update}, slice_update_shape(input, update, start)),
      start_(start) {}

template <class T>
Index SliceUpdateOp<T>::region(Dims& strides) const {
  strides = contiguous_strides(this->in_shape(0));
  Index offset = 0;
  for (size_t d = 0; d < start_.size(); ++d) offset += start_[d] * strides[d];
  return offset;
}

template <class T>
void SliceUpdateOp<T>::compute(const T* const* xs, T* y, bool) {
  std::copy_n(xs[0], element_count(this->in_shape(0)), y);
  Dims strides;
  const Index offset = region(strides);
  const Shape& u = this->in_shape(1);
  strided_copy(u, y + offset, strides, xs[1], contiguous_strides(u));
}

template <class T>
void SliceUpdateOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  Dims strides;
  const Index offset = region(strides);
  const Shape& u = this->in_shape(1);
  if (grad_xs[1]) strided_copy(u, grad_xs[1], contiguous_strides(u), grad_y + offset, strides);
  if (grad_xs[0]) {
    std::copy_n(grad_y, element_count(this->in_shape(0)), grad_xs[0]);
    StridedLoop<1>(u, {strides}).run([&](const auto& off, Index n, const auto& s) {
      for (Index i = 0; i < n; ++i) grad_xs[0][offset + off[0] + i * s[0]] = T(0);
    });
  }
}

template class TransposeOp<float>;
template class TransposeOp<double>;
template class ConcatenateOp<float>;
template class ConcatenateOp<double>;
template class SliceOp<float>;
template class SliceOp<double>;
template class PadOp<float>;
template class PadOp<double>;
template class SliceUpdateOp<float>;
template class SliceUpdateOp<double>;
template class ReshapeOp<float>;
template class ReshapeOp<double>;

}  // namespace eigennet
