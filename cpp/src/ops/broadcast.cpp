#include "eigennet/ops/broadcast.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/ops/strided_loop.hpp"

namespace eigennet {

namespace {
std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i)
    s += (i ? (i + 1 == shapes.size() ? " and " : ", ") : "") + full_shape_string(shapes[i]);
  return s;
}
}  // namespace

Shape broadcast_full_shapes(const std::string& name, const std::vector<Shape>& shapes) {
  size_t rank = 0;
  bool batched = false;
  for (const auto& s : shapes) {
    rank = std::max(rank, s.size());
    batched = batched || is_batched(s);
  }
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(name + ": cannot broadcast " + shapes_text(shapes) + " (" + why +
                                ")");
  };
  Shape out(rank, 1);
  for (const auto& s : shapes) {
    if (is_batched(s) && s.size() != rank)
      fail("the batch axis would not be the first axis of the result");
    const size_t lead = rank - s.size();
    for (size_t d = 0; d < s.size(); ++d) {
      Index& o = out[lead + d];
      const Index v = s[d];
      if (v == 1 || v == o) continue;
      if (o == 1 && !(batched && lead + d == 0)) {
        o = v;
        continue;
      }
      if (o == 1 && batched && lead + d == 0 && v == kBatch) {
        o = v;
        continue;
      }
      if (batched && lead + d == 0)
        fail("an operand without the batch axis must have size 1 at axis 0");
      fail("axis " + std::to_string(lead + d) + " differs");
    }
  }
  if (batched) out[0] = kBatch;
  return out;
}

// -- broadcast_to ---------------------------------------------------------------------------
namespace {
Shape checked_broadcast_to(const Shape& input, const Shape& target_in, const Shape* reference) {
  const Shape target = with_input_lengths("broadcast_to", target_in, input);
  if (reference && (!is_batched(*reference) || is_batched(input) || !is_batched(target)))
    throw std::invalid_argument("broadcast_to: a batch reference " + full_shape_string(*reference) +
                                " broadcasts an input without " +
                                "the batch axis to a batched target, got " +
                                full_shape_string(input) + " to " + full_shape_string(target));
  if (!reference && is_batched(input) != is_batched(target))
    throw std::invalid_argument("broadcast_to: cannot broadcast " + full_shape_string(input) +
                                " to " + full_shape_string(target) +
                                (is_batched(input) ? " (the batch axis must stay the first axis)"
                                                   : " (only a batched input has a batch size)"));
  Shape out = broadcast_full_shapes("broadcast_to", {input, target});
  if (out != target)
    throw std::invalid_argument("broadcast_to: cannot broadcast " + full_shape_string(input) +
                                " to " + full_shape_string(target));
  return target;
}
}  // namespace

template <class T>
BroadcastToOp<T>::BroadcastToOp(const Shape& input, const Shape& target)
    : Op<T>("broadcast_to", {input}, checked_broadcast_to(input, target, nullptr)) {}

template <class T>
BroadcastToOp<T>::BroadcastToOp(const Shape& input, const Shape& target,
                                const Shape& batch_reference)
    : Op<T>("broadcast_to", {input, batch_reference},
            checked_broadcast_to(input, target, &batch_reference)) {}

template <class T>
void BroadcastToOp<T>::compute(const T* const* xs, T* y, bool) {
  const Shape& out = this->out_shape();
  strided_copy(out, y, contiguous_strides(out), xs[0], broadcast_strides(this->in_shape(0), out));
}

template <class T>
void BroadcastToOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[0]) sum_to(grad_y, this->out_shape(), grad_xs[0], this->in_shape(0));
  if (this->input_count() > 1 && grad_xs[1])  // the batch reference: read for its size only
    std::fill_n(grad_xs[1], element_count(this->in_shape(1)), T(0));
}

// -- tile -----------------------------------------------------------------------------------
namespace {
Shape tile_shape(const Shape& input, const Shape& reps) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("tile: cannot tile " + full_shape_string(input) + " by " +
                                full_shape_string(reps) + " (" + why + ")");
  };
  for (Index r : reps)
    if (r < 0) fail("negative repetitions");
  const size_t rank = std::max(input.size(), reps.size());
  Shape in(rank - input.size(), 1), r(rank - reps.size(), 1);
  in.insert(in.end(), input.begin(), input.end());
  r.insert(r.end(), reps.begin(), reps.end());
  if (is_batched(input) && (in.size() != input.size() || r[0] != 1))
    fail("the batch axis cannot be tiled");
  Shape out(rank);
  for (size_t d = 0; d < rank; ++d) out[d] = in[d] == kBatch ? kBatch : in[d] * r[d];
  return out;
}
}  // namespace

template <class T>
TileOp<T>::TileOp(const Shape& input, const Shape& reps)
    : Op<T>("tile", {input}, tile_shape(input, reps)) {
  const size_t rank = this->full_output_shape().size();
  reps_.assign(rank - reps.size(), 1);
  reps_.insert(reps_.end(), reps.begin(), reps.end());
}

template <class T>
void TileOp<T>::view(Dims& dims, Dims& in_strides) const {
  const size_t rank = reps_.size();
  Dims in(rank - this->in_shape(0).size(), 1);
  for (Index d : this->in_shape(0)) in.push_back(d);
  const Dims s = contiguous_strides(in);
  dims.clear();
  in_strides.clear();
  for (size_t d = 0; d < rank; ++d) {
    dims.push_back(reps_[d]);
    dims.push_back(in[d]);
    in_strides.push_back(0);
    in_strides.push_back(s[d]);
  }
}

template <class T>
void TileOp<T>::compute(const T* const* xs, T* y, bool) {
  Dims dims, strides;
  view(dims, strides);
  strided_copy(dims, y, contiguous_strides(dims), xs[0], strides);
}

template <class T>
void TileOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Dims dims, strides;
  view(dims, strides);
  std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
  strided_accumulate(dims, grad_xs[0], strides, grad_y, contiguous_strides(dims));
}

// -- repeat ---------------------------------------------------------------------------------
namespace {
Shape repeat_shape(const Shape& input, Index repeats, Index axis) {
  const std::string what = "repeat: cannot repeat " + full_shape_string(input) + " " +
                           std::to_string(repeats) + " times along axis " + std::to_string(axis);
  if (axis < 0 || axis >= Index(input.size()))
    throw std::invalid_argument(what + " (no such axis)");
  if (repeats < 0) throw std::invalid_argument(what + " (negative repeats)");
  if (is_batched(input) && axis == 0) throw std::invalid_argument(what + " (the batch axis)");
  Shape out = input;
  out[axis] *= repeats;
  return out;
}
}  // namespace

template <class T>
RepeatOp<T>::RepeatOp(const Shape& input, Index repeats, Index axis)
    : Op<T>("repeat", {input}, repeat_shape(input, repeats, axis)),
      repeats_(repeats),
      axis_(axis) {}

template <class T>
void RepeatOp<T>::view(Dims& dims, Dims& in_strides) const {
  dims = this->in_shape(0);
  in_strides = contiguous_strides(dims);
  dims.insert_at(axis_ + 1, repeats_);
  in_strides.insert_at(axis_ + 1, 0);
}

template <class T>
void RepeatOp<T>::compute(const T* const* xs, T* y, bool) {
  Dims dims, strides;
  view(dims, strides);
  strided_copy(dims, y, contiguous_strides(dims), xs[0], strides);
}

template <class T>
void RepeatOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  if (!grad_xs[0]) return;
  Dims dims, strides;
  view(dims, strides);
  std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
  strided_accumulate(dims, grad_xs[0], strides, grad_y, contiguous_strides(dims));
}

template class BroadcastToOp<float>;
template class BroadcastToOp<double>;
template class TileOp<float>;
template class TileOp<double>;
template class RepeatOp<float>;
template class RepeatOp<double>;

}  // namespace eigennet
