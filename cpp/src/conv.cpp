#include "eigennet/layers/conv.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "eigennet/checks.hpp"
#include "eigennet/gemm.hpp"
#include "eigennet/layers/im2col.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {
namespace {

// int8 products of at most this many taps are exact in float: 127² · 1040 < 2^24.
constexpr Index kExactFloatTaps = 1040;

// dz *= relu'(y) when relu; sum (when non-null) += the column sums of dz. One pass.
template <class T>
void relu_mask_and_sum(T* dz, const T* y, Index rows, Index cols, bool relu, T* sum) {
  for (Index r = 0; r < rows; ++r) {
    T* d = dz + r * cols;
    const T* out = y + r * cols;
    if (relu)
      for (Index f = 0; f < cols; ++f) d[f] = out[f] > T(0) ? d[f] : T(0);
    if (sum)
      for (Index f = 0; f < cols; ++f) sum[f] += d[f];
  }
}

}  // namespace

template <class T>
Conv<T>::Conv(int rank, Index filters, std::vector<Index> kernel_size, std::vector<Index> strides,
              Padding padding, std::vector<Index> dilation_rate, Activation activation,
              bool use_bias, bool int8)
    : rank_(rank),
      filters_(filters),
      kernel_size_(std::move(kernel_size)),
      strides_(std::move(strides)),
      dilation_(std::move(dilation_rate)),
      padding_(padding),
      activation_(activation),
      use_bias_(use_bias),
      int8_(int8) {
  if (rank < 1 || rank > 3) throw std::invalid_argument("convolution rank must be 1, 2 or 3");
  const std::string name = this->name();
  if (filters <= 0)
    throw std::invalid_argument(name + " filters must be a positive integer, got " +
                                std::to_string(filters));
  check_window_sizes(name, "kernel_size", kernel_size_, rank);
  check_window_sizes(name, "strides", strides_, rank);
  check_window_sizes(name, "dilation_rate", dilation_, rank);
  if (*std::max_element(strides_.begin(), strides_.end()) > 1 &&
      *std::max_element(dilation_.begin(), dilation_.end()) > 1)
    throw std::invalid_argument(name + ": strides > 1 is not supported with dilation_rate > 1");
  if (padding == Padding::Causal && rank != 1)
    throw std::invalid_argument("causal padding is only supported by Conv1D");
}

template <class T>
std::string Conv<T>::name() const {
  return "Conv" + std::to_string(rank_) + "D";
}

template <class T>
Shape Conv<T>::do_build(const Shape& input_shape) {
  if (input_shape.size() != size_t(rank_) + 1)
    throw std::invalid_argument(name() + " expects samples of shape " + sample_axes(rank_) +
                                " (inputs of rank " + std::to_string(rank_ + 2) +
                                " with the batch axis), got samples of shape " +
                                shape_string(input_shape));
  Window& w = window_;
  if (!w.resolve(input_shape, kernel_size_, strides_, dilation_, padding_))
    throw std::invalid_argument(name() + ": samples of shape " + shape_string(input_shape) +
                                " are smaller than kernel_size " + shape_string(kernel_size_) +
                                " with dilation_rate " + shape_string(dilation_) +
                                " and padding 'valid' (the output would be empty); use larger "
                                "inputs, a smaller kernel or padding='same'");
  in_size_ = w.in_pixels() * w.channels;
  pixels_ = w.out_pixels();
  patch_ = w.taps() * w.channels;
  direct_ = w.taps() == 1 && w.planes.stride == 1 && w.rows.stride == 1 && w.cols.stride == 1;
  taps_major_ = !direct_ && w.channels == 1 && (!int8_ || patch_ <= kExactFloatTaps);
  // Output columns [lo, hi) whose tap kw falls inside the data, for the taps-major im2col.
  tap_lo_.assign(size_t(w.cols.kernel), w.cols.out);
  tap_hi_.assign(size_t(w.cols.kernel), 0);
  for (Index kw = 0; kw < w.cols.kernel; ++kw) {
    const Index lo = w.cols.first_output(kw), hi = w.cols.last_output(kw);
    if (lo < hi) {
      tap_lo_[size_t(kw)] = lo;
      tap_hi_[size_t(kw)] = hi;
    }
  }
  Shape kernel(kernel_size_.begin(), kernel_size_.end());
  kernel.push_back(w.channels);
  kernel.push_back(filters_);
  this->add_weight("kernel", kernel, !int8_);
  if (use_bias_) this->add_weight("bias", {filters_});
  if (int8_) this->add_weight("kernel_scale", {filters_}, false);
  Shape out;
  if (rank_ == 3) out.push_back(w.planes.out);
  if (rank_ >= 2) out.push_back(w.rows.out);
  out.push_back(w.cols.out);
  out.push_back(filters_);
  return out;
}

template <class T>
Index Conv<T>::chunk_samples() const {
  return std::max<Index>(1, kChunkElements / (pixels_ * std::max(patch_, filters_)));
}

// One group per chunk up to kMaxGroups, fewer when the groups' gradient accumulators would
// outgrow kGroupGradientElements: a fixed function of the batch and the layer, so that the
// reduction order of the kernel gradient never depends on the thread count.
template <class T>
Index Conv<T>::group_count(Index n) const {
  const Index chunks = (n + chunk_samples() - 1) / chunk_samples();
  const Index by_memory = std::max<Index>(1, kGroupGradientElements / this->param_count());
  return std::max<Index>(1, std::min({chunks, kMaxGroups, by_memory}));
}

// Threads take whole groups when there are groups enough for each and the product is worth
// threads (the grain of gemm.hpp).
template <class T>
int Conv<T>::slot_count(Index n) const {
  const Index groups = group_count(n);
  if (groups < 2 || 2.0 * double(n * pixels_) * double(patch_ * filters_) < kGemmParallelFlops)
    return 1;
  return static_cast<int>(std::min<Index>(get_num_threads(), groups));
}

// Taps-major columns for single-channel inputs (a grayscale image, a univariate sequence):
// row t of the (taps, pixels) matrix holds tap t of every output pixel, so with stride 1 each
// output row's values are one contiguous run of an input row (vectorized copies, where the
// pixel-major layout copies one value per tap).
template <class T>
void Conv<T>::im2col_taps(const T* x, Index count, T* cols) const {
  const Window& w = window_;
  const WindowAxis& wc = w.cols;
  const Index rows = count * pixels_;
  std::vector<Index> in_row(size_t(w.kernel_rows()));
  for (Index s = 0; s < count; ++s)
    for (Index r = 0; r < w.out_rows(); ++r) {
      w.input_rows(r, in_row.data());
      for (Index q = 0; q < w.kernel_rows(); ++q)
        for (Index kw = 0; kw < wc.kernel; ++kw) {
          T* dst = cols + (q * wc.kernel + kw) * rows + (s * w.out_rows() + r) * wc.out;
          if (in_row[size_t(q)] < 0) {
            zero_short(dst, wc.out);
            continue;
          }
          const Index lo = tap_lo_[size_t(kw)], hi = std::max(lo, tap_hi_[size_t(kw)]);
          const T* src = x + s * in_size_ + in_row[size_t(q)] * wc.in + wc.tap(0, kw);
          zero_short(dst, lo);
          if (wc.stride == 1)
            copy_short(src + lo, hi - lo, dst + lo);
          else
            for (Index ow = lo; ow < hi; ++ow) dst[ow] = src[ow * wc.stride];
          zero_short(dst + hi, wc.out - hi);
        }
    }
}

template <class T>
void Conv<T>::col2im_taps(const T* cols, Index count, T* dx) const {
  const Window& w = window_;
  const WindowAxis& wc = w.cols;
  const Index rows = count * pixels_;
  std::vector<Index> in_row(size_t(w.kernel_rows()));
  std::fill_n(dx, count * in_size_, T(0));
  for (Index s = 0; s < count; ++s)
    for (Index r = 0; r < w.out_rows(); ++r) {
      w.input_rows(r, in_row.data());
      for (Index q = 0; q < w.kernel_rows(); ++q) {
        if (in_row[size_t(q)] < 0) continue;
        for (Index kw = 0; kw < wc.kernel; ++kw) {
          const T* src = cols + (q * wc.kernel + kw) * rows + (s * w.out_rows() + r) * wc.out;
          const Index lo = tap_lo_[size_t(kw)], hi = std::max(lo, tap_hi_[size_t(kw)]);
          T* d = dx + s * in_size_ + in_row[size_t(q)] * wc.in + wc.tap(0, kw);
          for (Index ow = lo; ow < hi; ++ow) d[ow * wc.stride] += src[ow];
        }
      }
    }
}

template <class T>
const PackedInt8B& Conv<T>::packed_kernel() {
  const Int8Kernel choice = int8_kernel_in_use();
  const std::uint64_t version = this->params_version();
  if (packed_version_ != version || packed_.kernel != choice) {
    packed_ = pack_whole_numbers(this->weight(0), patch_, filters_, choice);
    packed_version_ = version;
  }
  return packed_;
}

template <class T>
const T* Conv<T>::dequantized_kernel() {
  MatrixMap<T> w = dequantized_.view(patch_, filters_);
  const T* kernel = this->weight(0);
  const T* scale = this->weight(use_bias_ ? 2 : 1);
  for (Index p = 0; p < patch_; ++p)
    for (Index f = 0; f < filters_; ++f) w(p, f) = kernel[p * filters_ + f] / scale[f];
  return w.data();
}

// A single channel's taps-major columns (taps, rows) quantized in place, each row (output
// pixel) as Int8Products quantizes a row of its own, into whole numbers kept as floats: with
// at most kExactFloatTaps taps their integer product in float is exact, the same numbers as
// int32 sums. Vectorized along the pixels, which the pixel-major rows of a few taps are not.
template <class T>
Index Conv<T>::quantize_taps(T* cols, Index rows, AlignedVector<T>& scale) const {
  scale.assign(size_t(rows), T(0));  // the maxima first
  T* s = scale.data();
  int bad = 0;
  const T inf = std::numeric_limits<T>::infinity();
  for (Index t = 0; t < patch_; ++t) {
    const T* c = cols + t * rows;
#pragma omp simd reduction(| : bad)
    for (Index p = 0; p < rows; ++p) {
      const T a = std::abs(c[p]);
      s[p] = a > s[p] ? a : s[p];
      bad |= !(a < inf);
    }
  }
  if (bad)
    for (Index t = 0; t < patch_; ++t)
      for (Index p = 0; p < rows; ++p)
        if (!(std::abs(cols[t * rows + p]) < inf)) return p;
#pragma omp simd
  for (Index p = 0; p < rows; ++p) s[p] = T(127) / (s[p] + T(1e-7));
  for (Index t = 0; t < patch_; ++t) {
    T* c = cols + t * rows;
#pragma omp simd
    for (Index p = 0; p < rows; ++p) {
      T r = std::rint(c[p] * s[p]);
      r = r > T(127) ? T(127) : r;
      c[p] = r < T(-127) ? T(-127) : r;
    }
  }
  return -1;
}

// As the float forward: threads take whole groups of chunks when the batch has enough (each
// quantizes and multiplies its own chunks), else each pass uses the threads. A chunk holding
// NaN or inf stops its thread's work (threads must not throw); the first such sample is
// reported after.
template <class T>
void Conv<T>::forward_int8(ConstMatrixMap<T> x, MatrixMap<T> y) {
  const Index n = x.rows(), chunk = chunk_samples(), groups = group_count(n);
  const int slots = slot_count(n);
  const PackedInt8B& kernel = packed_kernel();
  const T* kscale = this->weight(use_bias_ ? 2 : 1);
  const T* bias = use_bias_ ? this->weight(1) : nullptr;
  T* z = activation_needs_input(activation_) ? preactivation_.view(n * pixels_, filters_).data()
                                             : y.data();
  T* buffers = direct_ ? nullptr : cols_.view(slots * chunk * pixels_, patch_).data();
  if (products_.size() < size_t(slots)) products_.resize(size_t(slots));
  std::atomic<Index> bad_sample{n};  // the first sample holding NaN or inf (n: none)
  for_chunks(n, chunk, groups, slots, [&](Index first, Index count, Index, int slot) {
    if (bad_sample.load() < n) return;
    const Index rows = count * pixels_;
    const T* cols = x.data() + first * in_size_;
    T* buffer = direct_ ? nullptr : buffers + slot * chunk * pixels_ * patch_;
    if (taps_major_)
      im2col_taps(cols, count, buffer);
    else if (!direct_)
      im2col(window_, cols, count, buffer);
    if (buffer) cols = buffer;
    Int8Products<T>& products = products_[size_t(slot)];
    const Index bad = taps_major_ ? quantize_taps(buffer, rows, products.inputs_scale)
                                  : products.try_compute(cols, rows, kernel);
    if (bad >= 0) {
      const Index sample = first + bad / pixels_;
      Index seen = bad_sample.load();
      while (sample < seen && !bad_sample.compare_exchange_weak(seen, sample)) {
      }
      return;
    }
    T* zc = z + first * pixels_ * filters_;
    if (taps_major_)  // whole numbers times whole numbers: the float product is exact
      gemm<T>(true, false, rows, filters_, patch_, cols, rows, this->weight(0), filters_, zc,
              filters_);
#pragma omp parallel for schedule(static) if (slots == 1 && rows * filters_ >= (Index(1) << 16))
    for (Index i = 0; i < rows; ++i) {
      T* zi = zc + i * filters_;
      if (taps_major_) {
        const T s = products.inputs_scale[size_t(i)];
#pragma omp simd
        for (Index f = 0; f < filters_; ++f) zi[f] = zi[f] / (kscale[f] * s);
      } else {
#pragma omp simd
        for (Index f = 0; f < filters_; ++f) zi[f] = products.value(i, f, filters_, kscale);
      }
      if (bias) {
#pragma omp simd
        for (Index f = 0; f < filters_; ++f) zi[f] += bias[f];
      }
    }
    T* yc = y.data() + first * pixels_ * filters_;
    if (activation_ != Activation::Linear || zc != yc)
      activation_forward<T>(activation_, ConstMatrixMap<T>(zc, rows, filters_),
                            MatrixMap<T>(yc, rows, filters_));
  });
  if (bad_sample.load() < n)
    throw NonFiniteRows("an int8 " + name() + " layer got NaN or inf in sample " +
                            std::to_string(bad_sample.load()) +
                            " of its input: int8 quantization needs finite values",
                        bad_sample.load());
}

template <class T>
void Conv<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  if (int8_) return forward_int8(x, y);
  const Index n = x.rows(), chunk = chunk_samples(), groups = group_count(n);
  const int slots = slot_count(n);
  T* z = activation_needs_input(activation_) ? preactivation_.view(n * pixels_, filters_).data()
                                             : y.data();
  // One column buffer per thread, taken before the parallel loop.
  T* buffers = direct_ ? nullptr : cols_.view(slots * chunk * pixels_, patch_).data();
  for_chunks(n, chunk, groups, slots, [&](Index first, Index count, Index, int slot) {
    const Index rows = count * pixels_;
    const T* cols = x.data() + first * in_size_;
    if (!direct_) {
      T* buffer = buffers + slot * chunk * pixels_ * patch_;
      if (taps_major_)
        im2col_taps(cols, count, buffer);
      else
        im2col(window_, cols, count, buffer);
      cols = buffer;
    }
    T* zc = z + first * pixels_ * filters_;
    // The product accumulates onto the broadcast bias: one pass less than adding it after.
    if (use_bias_) {
      const T* bias = this->weight(1);
      for (Index r = 0; r < rows; ++r)
        for (Index f = 0; f < filters_; ++f) zc[r * filters_ + f] = bias[f];
    }
    gemm<T>(taps_major_, false, rows, filters_, patch_, cols, taps_major_ ? rows : patch_,
            this->weight(0), filters_, zc, filters_, use_bias_);
    T* yc = y.data() + first * pixels_ * filters_;
    if (activation_ != Activation::Linear || zc != yc)
      activation_forward<T>(activation_, ConstMatrixMap<T>(zc, rows, filters_),
                            MatrixMap<T>(yc, rows, filters_));
  });
}

// Per chunk: the activation's derivative, dK += colsᵀ·dZ (im2col again, in cache, rather
// than keeping the whole batch's columns), db += column sums, dcols = dZ·Kᵀ and col2im. Each
// group of chunks accumulates dK and db in its own buffer and the groups are added in order,
// so the results are the same bits whatever the thread count.
template <class T>
void Conv<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                       MatrixMap<T>* grad_x) {
  const Index n = x.rows(), chunk = chunk_samples(), groups = group_count(n);
  const int slots = slot_count(n);
  const T* z = activation_needs_input(activation_) ? preactivation_.data() : y.data();
  const bool relu = activation_ == Activation::Relu;
  const Index kernel_size = patch_ * filters_, grad_size = this->param_count();
  const T* kernel = int8_ && grad_x ? dequantized_kernel() : this->weight(0);
  // Per-group accumulators of the kernel gradient and db. With pixel-major columns they hold
  // dKᵀ (filters, taps * in), which puts the long taps side where Eigen's kernel wants it
  // (~15% faster than dK); a single channel's few taps are better as dK itself (2x).
  const bool transposed = !taps_major_;
  T* group_grads = param_grad ? group_grads_.view(groups, grad_size).data() : nullptr;
  if (group_grads) std::fill_n(group_grads, groups * grad_size, T(0));
  T* buffers = direct_ ? nullptr : cols_.view(slots * chunk * pixels_, patch_).data();
  for_chunks(n, chunk, groups, slots, [&](Index first, Index count, Index group, int slot) {
    const Index rows = count * pixels_, offset = first * pixels_ * filters_;
    T* dz = grad_y.data() + offset;
    const T* yc = y.data() + offset;
    if (!relu)
      activation_backward<T>(activation_, ConstMatrixMap<T>(z + offset, rows, filters_),
                             ConstMatrixMap<T>(yc, rows, filters_),
                             MatrixMap<T>(dz, rows, filters_));
    T* grad = group_grads ? group_grads + group * grad_size : nullptr;
    T* bias_grad = grad && use_bias_ ? grad + kernel_size : nullptr;
    if (relu || bias_grad) relu_mask_and_sum(dz, yc, rows, filters_, relu, bias_grad);
    T* buffer = buffers ? buffers + slot * chunk * pixels_ * patch_ : nullptr;
    const T* xc = x.data() + first * in_size_;
    if (grad && !int8_) {  // int8: only the bias trains
      const T* cols = xc;
      if (taps_major_) {
        im2col_taps(xc, count, buffer);
        cols = buffer;
      } else if (!direct_) {
        im2col(window_, xc, count, buffer);
        cols = buffer;
      }
      if (transposed)
        gemm<T>(true, false, filters_, patch_, rows, dz, filters_, cols, patch_, grad, patch_,
                true);
      else
        gemm<T>(false, false, patch_, filters_, rows, cols, rows, dz, filters_, grad, filters_,
                true);
    }
    if (grad_x) {
      T* dx = grad_x->data() + first * in_size_;
      if (taps_major_) {
        gemm<T>(false, true, patch_, rows, filters_, kernel, filters_, dz, filters_, buffer, rows);
        col2im_taps(buffer, count, dx);
      } else {
        gemm<T>(false, true, rows, patch_, filters_, dz, filters_, kernel, filters_,
                direct_ ? dx : buffer, patch_);
        if (!direct_) col2im(window_, buffer, count, dx);
      }
    }
  });
  if (!param_grad) return;
  MatrixMap<T> kernel_grad(param_grad, patch_, filters_);
  VectorMap<T> bias_grad(param_grad + kernel_size, grad_size - kernel_size);
  for (Index s = 0; s < groups; ++s) {
    const T* g = group_grads + s * grad_size;
    if (int8_) {
      if (s == 0) kernel_grad.setZero();  // (the scale's, after the bias, stays zero)
    } else if (s == 0 && transposed)
      kernel_grad = ConstMatrixMap<T>(g, filters_, patch_).transpose();
    else if (s == 0)
      kernel_grad = ConstMatrixMap<T>(g, patch_, filters_);
    else if (transposed)
      kernel_grad += ConstMatrixMap<T>(g, filters_, patch_).transpose();
    else
      kernel_grad += ConstMatrixMap<T>(g, patch_, filters_);
    if (s == 0)
      bias_grad = ConstVectorMap<T>(g + kernel_size, grad_size - kernel_size);
    else
      bias_grad += ConstVectorMap<T>(g + kernel_size, grad_size - kernel_size);
  }
}

template class Conv<float>;
template class Conv<double>;

}  // namespace eigennet
