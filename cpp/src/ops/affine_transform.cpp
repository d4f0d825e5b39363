#include "eigennet/ops/affine_transform.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

using Fill = ImageFill;

Fill parse_fill(const std::string& mode) {
  if (mode == "reflect") return Fill::Reflect;
  if (mode == "wrap") return Fill::Wrap;
  if (mode == "constant") return Fill::Constant;
  if (mode == "nearest") return Fill::Nearest;
  if (mode == "mirror") return Fill::Mirror;
  throw std::invalid_argument(
      "affine_transform: fill_mode must be one of 'reflect', 'wrap', 'constant', 'nearest', "
      "'mirror'; got '" +
      mode + "'");
}

bool parse_bilinear(const std::string& interpolation) {
  if (interpolation == "bilinear") return true;
  if (interpolation == "nearest") return false;
  throw std::invalid_argument(
      "affine_transform: interpolation must be 'bilinear' or 'nearest'; got '" + interpolation +
      "'");
}

Shape output_shape(const Shape& images, const Shape& transform, bool channels_first,
                   const std::vector<Index>& size) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("affine_transform: images " + full_shape_string(images) +
                                ", transform " + full_shape_string(transform) + ": " + why);
  };
  if (images.size() != 4) fail("images must be a batch of rank 4");
  const Index h = channels_first ? images[2] : images[1];
  const Index w = channels_first ? images[3] : images[2];
  if (h < 1 || w < 1) fail("images must have a height and width of at least 1");
  const bool rows_ok = transform.size() == 1 ||
                       (transform.size() == 2 && (transform[0] == images[0] || transform[0] == 1));
  if (!rows_ok || transform.back() != 8) fail("transform must be (8,), (1, 8) or (batch, 8)");
  if (!size.empty() && (size.size() != 2 || size[0] < 1 || size[1] < 1))
    fail("output_size must be two positive ints");
  Shape out = images;
  if (!size.empty()) {
    out[channels_first ? 2 : 1] = size[0];
    out[channels_first ? 3 : 2] = size[1];
  }
  return out;
}

// Python's modulo (the result has the sign of n > 0).
inline int64_t floor_mod(int64_t i, int64_t n) {
  const int64_t r = i % n;
  return r < 0 ? r + n : r;
}

// Keras's index fixers: the index read for index i of an axis of length n.
inline int64_t fix_index(int64_t i, int64_t n, Fill fill) {
  if (i >= 0 && i < n) return i;  // every rule reads the data there (most pixels)
  switch (fill) {
    case Fill::Wrap:
      return floor_mod(i, n);
    case Fill::Mirror: {  // (d c b | a b c d | c b a): a triangle wave of half period n - 1
      if (n == 1) return 0;
      const int64_t s = n - 1;
      return std::abs(floor_mod(i + s, 2 * s) - s);
    }
    case Fill::Reflect: {  // (d c b a | a b c d | d c b a): the mirror of 2i + 1 over 2n + 1
      const int64_t s = 2 * n;
      const int64_t m = std::abs(floor_mod(2 * i + 1 + s, 2 * s) - s);
      return (m - 1) / 2;  // m is odd, so m - 1 >= 0
    }
    default:  // Constant, Nearest
      return std::clamp<int64_t>(i, 0, n - 1);
  }
}

// The nodes of one axis (N = 2: bilinear, 1: nearest): fixed indices, weights, and whether
// each index was inside the data.
template <int N>
struct Nodes {
  int64_t index[N];
  double weight[N];
  bool inside[N];
};

template <int N>
[[gnu::always_inline]] inline Nodes<N> axis_nodes(double coordinate, int64_t n, Fill fill) {
  // A bound keeps the index arithmetic in range (beyond it doubles hold no fraction anyway).
  coordinate = std::clamp(coordinate, -1e15, 1e15);
  Nodes<N> nodes;
  if constexpr (N == 2) {
    const double low = std::floor(coordinate), up = coordinate - low;
    nodes.index[0] = int64_t(low);
    nodes.index[1] = int64_t(low) + 1;
    nodes.weight[0] = 1.0 - up;
    nodes.weight[1] = up;
  } else {
    nodes.index[0] = int64_t(std::nearbyint(coordinate));  // half to even, as torch.round
    nodes.weight[0] = 1.0;
  }
  for (int k = 0; k < N; ++k) {
    nodes.inside[k] = nodes.index[k] >= 0 && nodes.index[k] < n;
    nodes.index[k] = fix_index(nodes.index[k], n, fill);
  }
  return nodes;
}

// What one output pixel reads: N * N taps (element offset of an input pixel, weight; a tap
// outside the image with "constant" reads fill_value instead: weight 0 here, its weight in
// fill_weight, and its bit of `valid` clear). A fixed N keeps the taps in registers.
template <int N, class T>
struct Taps {
  Index offset[N * N];
  T weight[N * N];
  unsigned valid = (1u << (N * N)) - 1;
  T fill_weight = T(0);
};

// `scale`: the elements per pixel step (the channels when they are last, else 1).
template <int N, class T>
[[gnu::always_inline]] inline Taps<N, T> pixel_taps(const T* t, Index height, Index width,
                                                    Index scale, Index row, Index col, Fill fill) {
  Taps<N, T> taps;
  const double x = double(col), y = double(row);
  double src_col = double(t[0]) * x + double(t[1]) * y + double(t[2]);
  double src_row = double(t[3]) * x + double(t[4]) * y + double(t[5]);
  double k = 1.0;
  if (t[6] != T(0) || t[7] != T(0)) {  // projective
    k += double(t[6]) * x + double(t[7]) * y;
    src_col /= k;
    src_row /= k;
  }
  if (k == 0.0 || !std::isfinite(src_col) || !std::isfinite(src_row)) {  // all fill_value
    for (int i = 0; i < N * N; ++i) taps.offset[i] = 0, taps.weight[i] = T(0);
    taps.valid = 0;
    taps.fill_weight = T(1);
    return taps;
  }
  const Nodes<N> rows = axis_nodes<N>(src_row, height, fill);
  const Nodes<N> cols = axis_nodes<N>(src_col, width, fill);
  for (int r = 0; r < N; ++r)
    for (int c = 0; c < N; ++c) {
      const int i = r * N + c;
      const T w = T(rows.weight[r] * cols.weight[c]);
      taps.offset[i] = Index(rows.index[r] * width + cols.index[c]) * scale;
      taps.weight[i] = w;
      if (fill == Fill::Constant && !(rows.inside[r] && cols.inside[c])) {
        taps.valid &= ~(1u << i);
        taps.weight[i] = T(0);
        taps.fill_weight += w;
      }
    }
  return taps;
}

}  // namespace

template <class T>
AffineTransformOp<T>::AffineTransformOp(const Shape& images, const Shape& transform,
                                        const std::string& interpolation,
                                        const std::string& fill_mode, double fill_value,
                                        bool channels_first, const std::vector<Index>& output_size)
    : Op<T>("affine_transform", {images, transform},
            output_shape(images, transform, channels_first, output_size)),
      bilinear_(parse_bilinear(interpolation)),
      channels_first_(channels_first),
      fill_(parse_fill(fill_mode)),
      fill_value_(T(fill_value)) {
  if (!std::isfinite(fill_value))
    throw std::invalid_argument("affine_transform: fill_value must be finite");
}

template <class T>
typename AffineTransformOp<T>::Geometry AffineTransformOp<T>::geometry() const {
  const Shape& in = this->in_shape(0);
  const Shape& out = this->out_shape();
  const Shape& t = this->in_shape(1);
  const bool cf = channels_first_;
  return {in[0],
          cf ? in[2] : in[1],
          cf ? in[3] : in[2],
          cf ? in[1] : in[3],
          cf ? out[2] : out[1],
          cf ? out[3] : out[2],
          t.size() == 2 && t[0] == in[0] && in[0] > 1};
}

template <class T>
void AffineTransformOp<T>::compute(const T* const* xs, T* y, bool) {
  if (bilinear_)
    sample<2>(xs, y);
  else
    sample<1>(xs, y);
}

template <class T>
template <int N>
void AffineTransformOp<T>::sample(const T* const* xs, T* y) const {
  const Geometry g = geometry();
  const Index pixels = g.height * g.width, out_pixels = g.rows * g.cols;
  const bool cf = channels_first_;
  const Fill fill = fill_;
  const T fill_value = fill_value_;
  // Steps between channels in the input and the output, and the elements per pixel step.
  const Index in_step = cf ? pixels : 1, out_step = cf ? out_pixels : 1,
              scale = cf ? 1 : g.channels;
  // One output row of one image per iteration: every output element is written once.
#pragma omp parallel for schedule( \
        static) if (parallel_for_worth(g.batch * out_pixels * g.channels, kParallelGrain / 16))
  for (Index br = 0; br < g.batch * g.rows; ++br) {
    const Index b = br / g.rows, row = br % g.rows;
    const T* t = xs[1] + (g.per_image ? b * 8 : 0);
    const T* x = xs[0] + b * pixels * g.channels;
    T* yb = y + b * out_pixels * g.channels;
    for (Index col = 0; col < g.cols; ++col) {
      const auto taps = pixel_taps<N>(t, g.height, g.width, scale, row, col, fill);
      const T filled = taps.fill_weight * fill_value;
      const Index p = row * g.cols + col;
      T* out = yb + (cf ? p : p * g.channels);
      if (taps.valid == (1u << (N * N)) - 1) {  // every tap inside (or a rule other than
                                                // "constant"): the sum of the N * N taps
        for (Index ch = 0; ch < g.channels; ++ch) {
          const T* at = x + ch * in_step;
          T v = taps.weight[0] * at[taps.offset[0]];
          for (int i = 1; i < N * N; ++i) v += taps.weight[i] * at[taps.offset[i]];
          out[ch * out_step] = v;
        }
      } else {  // some taps read fill_value (Keras: where(valid, x, fill_value) * weight)
        for (Index ch = 0; ch < g.channels; ++ch) {
          const T* at = x + ch * in_step;
          T v = T(0);
          for (int i = 0; i < N * N; ++i)
            if (taps.valid >> i & 1u) v += taps.weight[i] * at[taps.offset[i]];
          out[ch * out_step] = v + filled;
        }
      }
    }
  }
}

template <class T>
void AffineTransformOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  if (grad_xs[1]) std::fill_n(grad_xs[1], element_count(this->in_shape(1)), T(0));
  if (!grad_xs[0]) return;
  if (bilinear_)
    sample_gradient<2>(xs, grad_y, grad_xs[0]);
  else
    sample_gradient<1>(xs, grad_y, grad_xs[0]);
}

template <class T>
template <int N>
void AffineTransformOp<T>::sample_gradient(const T* const* xs, const T* grad_y, T* dx) const {
  const Geometry g = geometry();
  const Index pixels = g.height * g.width, out_pixels = g.rows * g.cols;
  const bool cf = channels_first_;
  const Fill fill = fill_;
  const Index in_step = cf ? pixels : 1, out_step = cf ? out_pixels : 1,
              scale = cf ? 1 : g.channels;
  // The transposed sampling: each output pixel's gradient goes back to the taps it read (not
  // to fill_value). One image per iteration (its taps stay inside its own image, so threads
  // never share a value).
#pragma omp parallel for schedule(                                                       \
        static) if (g.batch > 1 && parallel_for_worth(g.batch * out_pixels * g.channels, \
                                                          kParallelGrain / 16))
  for (Index b = 0; b < g.batch; ++b) {
    const T* t = xs[1] + (g.per_image ? b * 8 : 0);
    T* dxb = dx + b * pixels * g.channels;
    const T* dyb = grad_y + b * out_pixels * g.channels;
    std::fill_n(dxb, pixels * g.channels, T(0));
    for (Index row = 0; row < g.rows; ++row)
      for (Index col = 0; col < g.cols; ++col) {
        const auto taps = pixel_taps<N>(t, g.height, g.width, scale, row, col, fill);
        const Index p = row * g.cols + col;
        const T* d = dyb + (cf ? p : p * g.channels);
        for (int i = 0; i < N * N; ++i) {
          if (!(taps.valid >> i & 1u)) continue;
          T* at = dxb + taps.offset[i];
          const T w = taps.weight[i];
          for (Index ch = 0; ch < g.channels; ++ch) at[ch * in_step] += w * d[ch * out_step];
        }
      }
  }
}

template class AffineTransformOp<float>;
template class AffineTransformOp<double>;

}  // namespace eigennet
