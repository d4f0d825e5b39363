#include "eigennet/layers/conv_transpose.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/gemm.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {
namespace {

// Elements of one chunk's column matrix: 1 MB in float, as the convolution's chunks.
constexpr Index kChunkElements = Index(1) << 18;

struct TransposeAxis {
  Index crop;    // elements of the full transposed result cut before the output (< 0: zeros)
  Index length;  // the output's length
};

// Keras 3's rule (see the header); output_padding < 0 is None.
TransposeAxis transpose_axis(Index in, Index kernel, Index stride, Index dilation, Padding p,
                             Index output_padding) {
  const Index span = dilation * (kernel - 1) + 1;
  Index left = 0, right = 0;
  if (p == Padding::Valid) {
    const Index op = output_padding < 0 ? std::max(span, stride) - span : output_padding;
    left = span - 1;
    right = span - 1 + op;
  } else {
    const Index pad = output_padding < 0 ? stride + span - 2 : span + span % 2 - 2 + output_padding;
    left = std::min(pad / 2 + pad % 2, span - 1);
    right = pad - left;
  }
  const Index crop_before = span - 1 - left, crop_after = span - 1 - right;
  return {crop_before, (in - 1) * stride + span - crop_before - crop_after};
}

}  // namespace

template <class T>
ConvTranspose<T>::ConvTranspose(int rank, Index filters, std::vector<Index> kernel_size,
                                std::vector<Index> strides, Padding padding,
                                std::vector<Index> output_padding, std::vector<Index> dilation_rate,
                                Activation activation, bool use_bias)
    : rank_(rank),
      filters_(filters),
      kernel_size_(std::move(kernel_size)),
      strides_(std::move(strides)),
      output_padding_(std::move(output_padding)),
      dilation_(std::move(dilation_rate)),
      padding_(padding),
      activation_(activation),
      use_bias_(use_bias) {
  if (rank != 1 && rank != 2)
    throw std::invalid_argument("transposed convolution rank must be 1 or 2");
  const std::string name = rank == 1 ? "Conv1DTranspose" : "Conv2DTranspose";
  if (filters <= 0)
    throw std::invalid_argument(name + " filters must be a positive integer, got " +
                                std::to_string(filters));
  check_window_sizes(name, "kernel_size", kernel_size_, size_t(rank));
  check_window_sizes(name, "strides", strides_, size_t(rank));
  check_window_sizes(name, "dilation_rate", dilation_, size_t(rank));
  if (*std::max_element(strides_.begin(), strides_.end()) > 1 &&
      *std::max_element(dilation_.begin(), dilation_.end()) > 1)
    throw std::invalid_argument(name + ": strides > 1 is not supported with dilation_rate > 1");
  if (padding == Padding::Causal)
    throw std::invalid_argument(name + ": padding must be 'valid' or 'same'");
  if (!output_padding_.empty()) {
    if (output_padding_.size() != size_t(rank))
      throw std::invalid_argument(name + " output_padding must hold " + std::to_string(rank) +
                                  " value(s)");
    for (size_t i = 0; i < output_padding_.size(); ++i)
      if (output_padding_[i] < 0 || output_padding_[i] >= strides_[i])
        throw std::invalid_argument(name +
                                    ": `output_padding` must be strictly less than "
                                    "`strides` and not negative, got output_padding " +
                                    shape_string(output_padding_) + " with strides " +
                                    shape_string(strides_));
  }
}

template <class T>
Shape ConvTranspose<T>::do_build(const Shape& input_shape) {
  const std::string name = rank_ == 1 ? "Conv1DTranspose" : "Conv2DTranspose";
  if (input_shape.size() != size_t(rank_) + 1)
    throw std::invalid_argument(name + " expects samples of shape " +
                                (rank_ == 1 ? "(steps, channels)" : "(rows, cols, channels)") +
                                " (inputs of rank " + std::to_string(rank_ + 2) +
                                " with the batch axis), got samples of shape " +
                                shape_string(input_shape));
  for (Index d : input_shape)
    if (d < 1) throw std::invalid_argument(name + ": empty samples " + shape_string(input_shape));
  Shape out;
  Window w;
  for (int a = 0; a < rank_; ++a) {
    const size_t i = size_t(a);
    const TransposeAxis t =
        transpose_axis(input_shape[i], kernel_size_[i], strides_[i], dilation_[i], padding_,
                       output_padding_.empty() ? -1 : output_padding_[i]);
    if (t.length < 1)
      throw std::invalid_argument(name + ": samples of shape " + shape_string(input_shape) +
                                  " give an empty output");
    out.push_back(t.length);
    WindowAxis axis(t.length, kernel_size_[i], strides_[i], dilation_[i]);
    axis.resolve(t.crop, input_shape[i]);
    (a == rank_ - 1 ? w.cols : w.rows) = axis;
  }
  if (rank_ == 1) w.rows.resolve(0, 1);
  w.channels = filters_;
  window_ = w;
  in_channels_ = input_shape.back();
  pixels_ = w.out_pixels();
  patch_ = w.taps() * filters_;
  in_size_ = pixels_ * in_channels_;
  out_size_ = w.in_pixels() * filters_;
  Shape kernel(kernel_size_.begin(), kernel_size_.end());
  kernel.push_back(filters_);
  kernel.push_back(in_channels_);
  this->add_weight("kernel", kernel);
  if (use_bias_) this->add_weight("bias", {filters_});
  out.push_back(filters_);
  return out;
}

template <class T>
Index ConvTranspose<T>::chunk_samples() const {
  return std::max<Index>(1, kChunkElements / (pixels_ * std::max(patch_, in_channels_)));
}

template <class T>
void ConvTranspose<T>::im2col(const T* v, Index count, T* cols) const {
  const Window& w = window_;
  const Index c = filters_, row_len = w.cols.kernel * c;
#pragma omp parallel for schedule(static) if (parallel_for_worth(count * pixels_ * patch_))
  for (Index s = 0; s < count; ++s) {
    const T* vs = v + s * out_size_;
    T* dst = cols + s * pixels_ * patch_;
    for (Index oh = 0; oh < w.rows.out; ++oh) {
      const Index kh0 = w.rows.first_tap(oh), kh1 = w.rows.last_tap(oh);
      for (Index ow = 0; ow < w.cols.out; ++ow, dst += patch_) {
        const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
        for (Index kh = 0; kh < w.rows.kernel; ++kh) {
          T* d = dst + kh * row_len;
          if (kh < kh0 || kh >= kh1) {
            std::fill_n(d, row_len, T(0));
            continue;
          }
          const T* src = vs + w.rows.tap(oh, kh) * w.cols.in * c;
          std::fill_n(d, kw0 * c, T(0));
          for (Index kw = kw0; kw < kw1; ++kw)
            std::copy_n(src + w.cols.tap(ow, kw) * c, c, d + kw * c);
          std::fill_n(d + kw1 * c, (w.cols.kernel - kw1) * c, T(0));
        }
      }
    }
  }
}

template <class T>
void ConvTranspose<T>::col2im(const T* cols, Index count, T* v) const {
  const Window& w = window_;
  const Index c = filters_, row_len = w.cols.kernel * c;
#pragma omp parallel for schedule(static) if (parallel_for_worth(count * pixels_ * patch_))
  for (Index s = 0; s < count; ++s) {
    T* vs = v + s * out_size_;
    std::fill_n(vs, out_size_, T(0));
    const T* in = cols + s * pixels_ * patch_;
    for (Index oh = 0; oh < w.rows.out; ++oh) {
      const Index kh0 = w.rows.first_tap(oh), kh1 = w.rows.last_tap(oh);
      for (Index ow = 0; ow < w.cols.out; ++ow, in += patch_) {
        const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
        for (Index kh = kh0; kh < kh1; ++kh) {
          const T* src = in + kh * row_len;
          T* dst = vs + w.rows.tap(oh, kh) * w.cols.in * c;
          for (Index kw = kw0; kw < kw1; ++kw) {
            T* d = dst + w.cols.tap(ow, kw) * c;
            const T* s2 = src + kw * c;
            for (Index i = 0; i < c; ++i) d[i] += s2[i];
          }
        }
      }
    }
  }
}

// Per chunk: cols = X·Kᵀ, col2im, then the bias and the activation while the chunk is in
// cache.
template <class T>
void ConvTranspose<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index n = x.rows(), chunk = chunk_samples(), out_pixels = out_size_ / filters_;
  if (n == 0) return;
  const bool keep_z = activation_needs_input(activation_);
  T* z = keep_z ? preactivation_.view(n * out_pixels, filters_).data() : y.data();
  T* cols = cols_.view(std::min(chunk, n) * pixels_, patch_).data();
  for (Index first = 0; first < n; first += chunk) {
    const Index count = std::min(chunk, n - first), rows = count * out_pixels;
    gemm<T>(false, true, count * pixels_, patch_, in_channels_, x.data() + first * in_size_,
            in_channels_, this->weight(0), in_channels_, cols, patch_);
    T* zc = z + first * out_size_;
    col2im(cols, count, zc);
    if (use_bias_) {
      const T* bias = this->weight(1);
      for (Index r = 0; r < rows; ++r)
        for (Index f = 0; f < filters_; ++f) zc[r * filters_ + f] += bias[f];
    }
    T* yc = y.data() + first * out_size_;
    if (activation_ != Activation::Linear || zc != yc)
      activation_forward<T>(activation_, ConstMatrixMap<T>(zc, rows, filters_),
                            MatrixMap<T>(yc, rows, filters_));
  }
}

// The activation's derivative and db over the batch, then per chunk: cols = im2col(dY),
// dK += colsᵀ·X (chunks in order), dX = cols·K.
template <class T>
void ConvTranspose<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                                T* param_grad, MatrixMap<T>* grad_x) {
  const Index n = x.rows(), chunk = chunk_samples(), out_pixels = out_size_ / filters_;
  const Index kernel_size = patch_ * in_channels_;
  if (n == 0) {
    if (param_grad) std::fill_n(param_grad, this->param_count(), T(0));
    return;
  }
  const Index out_rows = n * out_pixels;
  if (activation_ != Activation::Linear) {
    const T* z = activation_needs_input(activation_) ? preactivation_.data() : y.data();
    activation_backward<T>(activation_, ConstMatrixMap<T>(z, out_rows, filters_),
                           ConstMatrixMap<T>(y.data(), out_rows, filters_),
                           MatrixMap<T>(grad_y.data(), out_rows, filters_));
  }
  if (param_grad && use_bias_) {
    T* db = param_grad + kernel_size;
    std::fill_n(db, filters_, T(0));
    const T* dy = grad_y.data();
    for (Index r = 0; r < out_rows; ++r)
      for (Index f = 0; f < filters_; ++f) db[f] += dy[r * filters_ + f];
  }
  if (!param_grad && !grad_x) return;
  T* cols = cols_.view(std::min(chunk, n) * pixels_, patch_).data();
  for (Index first = 0; first < n; first += chunk) {
    const Index count = std::min(chunk, n - first), rows = count * pixels_;
    im2col(grad_y.data() + first * out_size_, count, cols);
    if (param_grad)
      gemm<T>(true, false, patch_, in_channels_, rows, cols, patch_, x.data() + first * in_size_,
              in_channels_, param_grad, in_channels_, first > 0);
    if (grad_x)
      gemm<T>(false, false, rows, in_channels_, patch_, cols, patch_, this->weight(0), in_channels_,
              grad_x->data() + first * in_size_, in_channels_);
  }
}

template class ConvTranspose<float>;
template class ConvTranspose<double>;

}  // namespace eigennet
