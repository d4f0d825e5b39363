#include "eigennet/ops/random.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

// 64 random bits for lane `lane` of element `index` of draw `draw`: a pure function, so any
// split of the elements between threads gives the same values.
inline uint64_t bits(uint64_t seed, uint64_t draw, uint64_t index, uint64_t lane) {
  return mix64(seed ^
               mix64(draw * 0x9E3779B97F4A7C15ULL + mix64(index * 0xD1B54A32D192ED03ULL + lane)));
}

inline double unit(uint64_t b) { return double(b >> 11) * 0x1.0p-53; }  // [0, 1), 53 bits

// A standard normal by Box-Muller from lanes 2k and 2k + 1 (1 - u avoids log(0)).
inline double normal(uint64_t seed, uint64_t draw, uint64_t index, uint64_t k) {
  const double u1 = 1.0 - unit(bits(seed, draw, index, 2 * k));
  const double u2 = unit(bits(seed, draw, index, 2 * k + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

void check_shape(const std::string& name, const Shape& shape) {
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0 && !(i == 0 && shape[i] == kBatch))
      throw std::invalid_argument(name + ": invalid shape " + full_shape_string(shape));
}

Shape checked_output(const std::string& kind, const Shape& reference, const Shape& output) {
  check_shape("random." + kind, output);
  if (is_batched(output) && !is_batched(reference))
    throw std::invalid_argument("random." + kind + ": a shape " + full_shape_string(output) +
                                " with a batch axis needs a batched reference tensor");
  return output;
}

}  // namespace

// -- RandomOp --------------------------------------------------------------------------------
template <class T>
RandomOp<T>::RandomOp(const std::string& kind, const Shape& reference, const Shape& output,
                      uint64_t seed, double a, double b)
    : Op<T>("random_" + kind, {reference}, checked_output(kind, reference, output)),
      a_(a),
      b_(b),
      stream_(seed) {
  if (kind == "normal")
    kind_ = Kind::Normal;
  else if (kind == "truncated_normal")
    kind_ = Kind::TruncatedNormal;
  else if (kind == "uniform")
    kind_ = Kind::Uniform;
  else if (kind == "randint")
    kind_ = Kind::Randint;
  else
    throw std::invalid_argument("random: unknown distribution '" + kind + "'");
  if (!std::isfinite(a) || !std::isfinite(b))
    throw std::invalid_argument("random." + kind + ": parameters must be finite");
  if ((kind_ == Kind::Uniform || kind_ == Kind::Randint) && !(a < b))
    throw std::invalid_argument("random." + kind + ": minval must be less than maxval");
  if ((kind_ == Kind::Normal || kind_ == Kind::TruncatedNormal) && b < 0)
    throw std::invalid_argument("random." + kind + ": stddev must be non-negative");
}

template <class T>
void RandomOp<T>::compute(const T* const*, T* y, bool) {
  const Index n = element_count(this->out_shape());
  const uint64_t seed = stream_.seed(), draw = stream_.next_draw();
  const double a = a_, b = b_;
  const Kind kind = kind_;
#pragma omp parallel for schedule(static) if (parallel_for_worth(n, kParallelGrain / 8))
  for (Index i = 0; i < n; ++i) {
    const auto idx = static_cast<uint64_t>(i);
    double v;
    switch (kind) {
      case Kind::Normal:
        v = a + b * normal(seed, draw, idx, 0);
        break;
      case Kind::TruncatedNormal: {
        // Redraw beyond 2 stddev (4.6% of draws); 64 misses in a row (p < 1e-85) clamp.
        double z = normal(seed, draw, idx, 0);
        for (uint64_t k = 1; std::abs(z) > 2.0 && k < 64; ++k) z = normal(seed, draw, idx, k);
        v = a + b * std::clamp(z, -2.0, 2.0);
        break;
      }
      case Kind::Uniform:
        v = std::min(a + (b - a) * unit(bits(seed, draw, idx, 0)), std::nextafter(b, a));
        break;
      default:  // Randint: floor of a uniform in [ceil(a), ceil(b))
        v = std::ceil(a) +
            std::floor((std::ceil(b) - std::ceil(a)) * unit(bits(seed, draw, idx, 0)));
        v = std::min(v, std::ceil(b) - 1);
    }
    y[i] = T(v);
  }
}

template <class T>
void RandomOp<T>::gradient(const T* const*, const T*, T*, T* const* grad_xs) {
  // The reference only gives the batch size: no gradient.
  if (grad_xs[0]) std::fill_n(grad_xs[0], element_count(this->in_shape(0)), T(0));
}

// -- DropoutOp -------------------------------------------------------------------------------
namespace {
Shape checked_noise(const Shape& input, const Shape& noise) {
  const auto fail = [&] {
    throw std::invalid_argument("random.dropout: noise_shape " + full_shape_string(noise) +
                                " does not fit inputs " + full_shape_string(input) +
                                " (same rank, each axis the input's or 1)");
  };
  if (noise.size() != input.size()) fail();
  for (size_t i = 0; i < noise.size(); ++i)
    if (noise[i] != input[i] && noise[i] != 1) fail();
  return input;
}
}  // namespace

template <class T>
DropoutOp<T>::DropoutOp(const Shape& input, double rate, const Shape& noise_shape, uint64_t seed)
    : Op<T>("dropout", {input}, checked_noise(input, noise_shape)),
      rate_(rate),
      noise_(noise_shape),
      stream_(seed) {
  if (!(rate >= 0 && rate <= 1))
    throw std::invalid_argument("random.dropout: rate must be in [0, 1], got " +
                                std::to_string(rate));
}

template <class T>
bool DropoutOp<T>::keeps(Index i) const {
  Index k = i;
  if (!noise_step_.empty()) {  // map the element to its draw in the (broadcast) noise
    const Shape& shape = this->in_shape(0);
    k = 0;
    for (size_t a = shape.size(); a-- > 0;) {
      k += (i % shape[a]) * noise_step_[a];
      i /= shape[a];
    }
  }
  return uniform01(seed_, draw_, static_cast<uint64_t>(k)) >= float(rate_);
}

template <class T>
void DropoutOp<T>::compute(const T* const* xs, T* y, bool training) {
  const Index n = element_count(this->in_shape(0));
  masked_ = training && rate_ > 0;
  if (!masked_) {
    std::copy_n(xs[0], n, y);
    return;
  }
  // Strides of the noise per axis (0 where it is shared); none when it is the input's shape.
  const Shape& shape = this->in_shape(0);
  noise_step_.clear();
  bool full = true;
  for (size_t a = 0; a < shape.size(); ++a) full = full && (noise_[a] != 1 || shape[a] == 1);
  if (!full) {
    noise_step_.assign(shape.size(), 0);
    Index stride = 1;
    for (size_t a = shape.size(); a-- > 0;) {
      const Index len = noise_[a] == 1 ? 1 : shape[a];
      noise_step_[a] = len == 1 ? 0 : stride;
      stride *= len;
    }
  }
  seed_ = stream_.seed();
  draw_ = stream_.next_draw();
  // As Keras (and the Dropout layer): x / keep_prob, keep_prob = 1 - rate; rate 1 -> zeros.
  const T keep_prob = T(1.0 - rate_);
  const T* x = xs[0];
#pragma omp parallel for schedule(static) if (parallel_for_worth(n))
  for (Index i = 0; i < n; ++i) y[i] = keeps(i) ? x[i] / keep_prob : T(0);
}

template <class T>
void DropoutOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  T* dx = grad_xs[0];
  if (!dx) return;
  const Index n = element_count(this->in_shape(0));
  if (!masked_) {
    std::copy_n(grad_y, n, dx);
    return;
  }
  const T keep_prob = T(1.0 - rate_);
#pragma omp parallel for schedule(static) if (parallel_for_worth(n))
  for (Index i = 0; i < n; ++i) dx[i] = keeps(i) ? grad_y[i] / keep_prob : T(0);
}

// -- ShuffleOp -------------------------------------------------------------------------------
namespace {
Index checked_axis(const Shape& input, Index axis) {
  const auto rank = Index(input.size());
  if (axis < -rank || axis >= rank)
    throw std::invalid_argument("random.shuffle: axis " + std::to_string(axis) +
                                " is out of range for inputs " + full_shape_string(input));
  return axis < 0 ? axis + rank : axis;
}
}  // namespace

template <class T>
ShuffleOp<T>::ShuffleOp(const Shape& input, Index axis, uint64_t seed)
    : Op<T>("shuffle", {input}, input), axis_(checked_axis(input, axis)), stream_(seed) {}

template <class T>
void ShuffleOp<T>::compute(const T* const* xs, T* y, bool) {
  const Shape& shape = this->in_shape(0);
  const Index len = shape[axis_];
  Index outer = 1, inner = 1;
  for (Index a = 0; a < axis_; ++a) outer *= shape[a];
  for (size_t a = axis_ + 1; a < shape.size(); ++a) inner *= shape[a];
  // A uniform permutation: the order of one random key per position (ties by position).
  const uint64_t seed = stream_.seed(), draw = stream_.next_draw();
  perm_.resize(len);
  std::iota(perm_.begin(), perm_.end(), Index(0));
  std::vector<uint64_t> keys(len);
  for (Index j = 0; j < len; ++j) keys[j] = bits(seed, draw, uint64_t(j), 0);
  std::stable_sort(perm_.begin(), perm_.end(), [&](Index p, Index q) { return keys[p] < keys[q]; });
  const T* x = xs[0];
#pragma omp parallel for schedule(static) if (parallel_for_worth(outer * len * inner))
  for (Index o = 0; o < outer; ++o)
    for (Index j = 0; j < len; ++j)
      std::copy_n(x + (o * len + perm_[j]) * inner, inner, y + (o * len + j) * inner);
}

template <class T>
void ShuffleOp<T>::gradient(const T* const*, const T*, T* grad_y, T* const* grad_xs) {
  T* dx = grad_xs[0];
  if (!dx) return;
  const Shape& shape = this->in_shape(0);
  const Index len = shape[axis_];
  Index outer = 1, inner = 1;
  for (Index a = 0; a < axis_; ++a) outer *= shape[a];
  for (size_t a = axis_ + 1; a < shape.size(); ++a) inner *= shape[a];
#pragma omp parallel for schedule(static) if (parallel_for_worth(outer * len * inner))
  for (Index o = 0; o < outer; ++o)
    for (Index j = 0; j < len; ++j)
      std::copy_n(grad_y + (o * len + j) * inner, inner, dx + (o * len + perm_[j]) * inner);
}

template class RandomOp<float>;
template class RandomOp<double>;
template class DropoutOp<float>;
template class DropoutOp<double>;
template class ShuffleOp<float>;
template class ShuffleOp<double>;

}  // namespace eigennet
