#include "eigennet/layers/conv.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/gemm.hpp"
#include "eigennet/row_blocks.hpp"

namespace eigennet {
namespace {

// Elements of one column matrix: 32 MB in float. A training batch of W5's second convolution
// (64 samples, 11x11 pixels, 288 taps) needs 2.2 M, so its columns are kept for backward;
// a large predict batch is cut into chunks instead of allocating gigabytes.
constexpr Index kColumnBudget = Index(1) << 23;
// Rows per partial sum of the bias gradient: fixed, so the sum does not depend on threads.
constexpr Index kBiasRowBlock = 512;

void check_sizes(const char* name, const char* what, const std::vector<Index>& v, size_t rank) {
  if (v.size() != rank)
    throw std::invalid_argument(std::string(name) + " " + what + " must hold " +
                                std::to_string(rank) + " value(s), got " +
                                std::to_string(v.size()));
  for (Index d : v)
    if (d <= 0)
      throw std::invalid_argument(std::string(name) + " " + what +
                                  " must be positive integers, got " + shape_string(v));
}

// dz *= relu'(y) when relu, and bias_grad (when non-null) = column sums of dz, in one pass
// over fixed blocks of rows whose partial sums are added in order.
template <class T>
void relu_backward_and_bias(T* dz, const T* y, Index rows, Index cols, bool relu, T* bias_grad,
                            Workspace<T>& partials) {
  const Index blocks = (rows + kBiasRowBlock - 1) / kBiasRowBlock;
  T* partial = bias_grad ? partials.view(blocks, cols).data() : nullptr;
#pragma omp parallel for schedule(static) if (parallel_for_worth(rows * cols))
  for (Index b = 0; b < blocks; ++b) {
    T* sum = partial ? partial + b * cols : nullptr;
    if (sum) std::fill_n(sum, cols, T(0));
    const Index end = std::min(rows, (b + 1) * kBiasRowBlock);
    for (Index r = b * kBiasRowBlock; r < end; ++r) {
      T* d = dz + r * cols;
      const T* out = y + r * cols;
      if (relu)
        for (Index f = 0; f < cols; ++f) d[f] = out[f] > T(0) ? d[f] : T(0);
      if (sum)
        for (Index f = 0; f < cols; ++f) sum[f] += d[f];
    }
  }
  if (!bias_grad) return;
  std::fill_n(bias_grad, cols, T(0));
  for (Index b = 0; b < blocks; ++b)
    for (Index f = 0; f < cols; ++f) bias_grad[f] += partial[b * cols + f];
}

}  // namespace

template <class T>
Conv<T>::Conv(int rank, Index filters, std::vector<Index> kernel_size, std::vector<Index> strides,
              Padding padding, std::vector<Index> dilation_rate, Activation activation,
              bool use_bias)
    : rank_(rank),
      filters_(filters),
      kernel_size_(std::move(kernel_size)),
      strides_(std::move(strides)),
      dilation_(std::move(dilation_rate)),
      padding_(padding),
      activation_(activation),
      use_bias_(use_bias) {
  if (rank != 1 && rank != 2) throw std::invalid_argument("convolution rank must be 1 or 2");
  const char* name = rank == 1 ? "Conv1D" : "Conv2D";
  if (filters <= 0)
    throw std::invalid_argument(std::string(name) + " filters must be a positive integer, got " +
                                std::to_string(filters));
  check_sizes(name, "kernel_size", kernel_size_, rank);
  check_sizes(name, "strides", strides_, rank);
  check_sizes(name, "dilation_rate", dilation_, rank);
  if (*std::max_element(strides_.begin(), strides_.end()) > 1 &&
      *std::max_element(dilation_.begin(), dilation_.end()) > 1)
    throw std::invalid_argument(std::string(name) +
                                ": strides > 1 is not supported with dilation_rate > 1");
  if (padding == Padding::Causal && rank != 1)
    throw std::invalid_argument("causal padding is only supported by Conv1D");
}

template <class T>
Shape Conv<T>::do_build(const Shape& input_shape) {
  const char* name = rank_ == 1 ? "Conv1D" : "Conv2D";
  if (input_shape.size() != size_t(rank_) + 1)
    throw std::invalid_argument(std::string(name) + " expects samples of shape " +
                                (rank_ == 1 ? "(steps, channels)" : "(rows, cols, channels)") +
                                " (inputs of rank " + std::to_string(rank_ + 2) +
                                " with the batch axis), got samples of " + "shape " +
                                shape_string(input_shape));
  Window& w = window_;
  const size_t last = size_t(rank_) - 1;  // the cols axis is the last spatial one
  w.cols = {input_shape[last], kernel_size_[last], strides_[last], dilation_[last]};
  if (rank_ == 2) w.rows = {input_shape[0], kernel_size_[0], strides_[0], dilation_[0]};
  w.channels = input_shape.back();
  if (!w.rows.resolve(padding_) || !w.cols.resolve(padding_))
    throw std::invalid_argument(std::string(name) + ": samples of shape " +
                                shape_string(input_shape) + " are smaller than kernel_size " +
                                shape_string(kernel_size_) + " with dilation_rate " +
                                shape_string(dilation_) +
                                " and padding 'valid' (the output would be empty); use larger "
                                "inputs, a smaller kernel or padding='same'");
  in_size_ = w.in_pixels() * w.channels;
  pixels_ = w.out_pixels();
  patch_ = w.taps() * w.channels;
  direct_ = w.taps() == 1 && w.rows.stride == 1 && w.cols.stride == 1;
  Shape kernel(kernel_size_.begin(), kernel_size_.end());
  kernel.push_back(w.channels);
  kernel.push_back(filters_);
  this->add_weight("kernel", kernel);
  if (use_bias_) this->add_weight("bias", {filters_});
  Shape out;
  if (rank_ == 2) out.push_back(w.rows.out);
  out.push_back(w.cols.out);
  out.push_back(filters_);
  return out;
}

template <class T>
Index Conv<T>::chunk_samples() const {
  return std::max<Index>(1, kColumnBudget / std::max<Index>(1, pixels_ * patch_));
}

template <class T>
const T* Conv<T>::columns(const T* x, Index first, Index count) {
  if (direct_) return x + first * in_size_;
  T* cols = cols_.view(count * pixels_, patch_).data();
  im2col(x + first * in_size_, count, cols);
  return cols;
}

template <class T>
void Conv<T>::im2col(const T* x, Index count, T* cols) const {
  const Window& w = window_;
  const Index c = w.channels, row_len = w.cols.kernel * c;
  for_row_blocks(count, pixels_ * patch_, [&](Index first, Index n) {
    for (Index s = first; s < first + n; ++s) {
      const T* xs = x + s * in_size_;
      T* out = cols + s * pixels_ * patch_;
      for (Index oh = 0; oh < w.rows.out; ++oh) {
        const Index kh0 = w.rows.first_tap(oh), kh1 = w.rows.last_tap(oh);
        for (Index ow = 0; ow < w.cols.out; ++ow, out += patch_) {
          const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
          for (Index kh = 0; kh < w.rows.kernel; ++kh) {
            T* dst = out + kh * row_len;
            if (kh < kh0 || kh >= kh1) {
              std::fill_n(dst, row_len, T(0));
              continue;
            }
            const T* src = xs + w.rows.tap(oh, kh) * w.cols.in * c;
            std::fill_n(dst, kw0 * c, T(0));
            if (w.cols.dilation == 1) {
              std::copy_n(src + w.cols.tap(ow, kw0) * c, (kw1 - kw0) * c, dst + kw0 * c);
            } else {
              for (Index kw = kw0; kw < kw1; ++kw)
                std::copy_n(src + w.cols.tap(ow, kw) * c, c, dst + kw * c);
            }
            std::fill_n(dst + kw1 * c, (w.cols.kernel - kw1) * c, T(0));
          }
        }
      }
    }
  });
}

// The adjoint of im2col: every column entry is added back to the input position it came
// from. Samples are independent, so blocks of samples run in parallel deterministically.
template <class T>
void Conv<T>::col2im(const T* cols, Index count, T* dx) const {
  const Window& w = window_;
  const Index c = w.channels, row_len = w.cols.kernel * c;
  for_row_blocks(count, pixels_ * patch_, [&](Index first, Index n) {
    std::fill_n(dx + first * in_size_, n * in_size_, T(0));
    for (Index s = first; s < first + n; ++s) {
      T* xs = dx + s * in_size_;
      const T* in = cols + s * pixels_ * patch_;
      for (Index oh = 0; oh < w.rows.out; ++oh) {
        const Index kh0 = w.rows.first_tap(oh), kh1 = w.rows.last_tap(oh);
        for (Index ow = 0; ow < w.cols.out; ++ow, in += patch_) {
          const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
          for (Index kh = kh0; kh < kh1; ++kh) {
            const T* src = in + kh * row_len;
            T* dst = xs + w.rows.tap(oh, kh) * w.cols.in * c;
            for (Index kw = kw0; kw < kw1; ++kw) {
              T* d = dst + w.cols.tap(ow, kw) * c;
              const T* s2 = src + kw * c;
              for (Index i = 0; i < c; ++i) d[i] += s2[i];
            }
          }
        }
      }
    }
  });
}

template <class T>
void Conv<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index n = x.rows(), rows = n * pixels_, chunk = chunk_samples();
  T* z =
      activation_needs_input(activation_) ? preactivation_.view(rows, filters_).data() : y.data();
  for (Index first = 0; first < n; first += chunk) {
    const Index count = std::min(chunk, n - first);
    T* zc = z + first * pixels_ * filters_;
    // The product accumulates onto the broadcast bias: one pass less than adding it after.
    if (use_bias_) {
      const T* bias = this->weight(1);
      for (Index r = 0; r < count * pixels_; ++r)
        for (Index f = 0; f < filters_; ++f) zc[r * filters_ + f] = bias[f];
    }
    gemm<T>(false, false, count * pixels_, filters_, patch_, columns(x.data(), first, count),
            patch_, this->weight(0), filters_, zc, filters_, use_bias_);
  }
  cached_rows_ = !direct_ && chunk >= n ? n : -1;
  MatrixMap<T> ys(y.data(), rows, filters_);
  if (activation_ != Activation::Linear || z != y.data())
    activation_forward<T>(activation_, ConstMatrixMap<T>(z, rows, filters_), ys);
}

template <class T>
void Conv<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                       MatrixMap<T>* grad_x) {
  const Index n = x.rows(), rows = n * pixels_, chunk = chunk_samples();
  MatrixMap<T> dz(grad_y.data(), rows, filters_);
  const T* z = activation_needs_input(activation_) ? preactivation_.data() : y.data();
  const bool relu = activation_ == Activation::Relu;
  if (!relu)
    activation_backward<T>(activation_, ConstMatrixMap<T>(z, rows, filters_),
                           ConstMatrixMap<T>(y.data(), rows, filters_), dz);
  T* bias_grad = param_grad && use_bias_ ? param_grad + patch_ * filters_ : nullptr;
  if (relu || bias_grad)
    relu_backward_and_bias(dz.data(), y.data(), rows, filters_, relu, bias_grad, bias_partials_);
  if (param_grad) {
    for (Index first = 0; first < n; first += chunk) {
      const Index count = std::min(chunk, n - first);
      const T* cols = cached_rows_ == n ? cols_.data() : columns(x.data(), first, count);
      gemm<T>(true, false, patch_, filters_, count * pixels_, cols, patch_,
              dz.data() + first * pixels_ * filters_, filters_, param_grad, filters_, first > 0);
    }
  }
  if (grad_x) {
    for (Index first = 0; first < n; first += chunk) {
      const Index count = std::min(chunk, n - first);
      const T* dzc = dz.data() + first * pixels_ * filters_;
      T* dx = grad_x->data() + first * in_size_;
      if (direct_) {
        gemm<T>(false, true, count * pixels_, patch_, filters_, dzc, filters_, this->weight(0),
                filters_, dx, patch_);
        continue;
      }
      T* dcols = grad_cols_.view(count * pixels_, patch_).data();
      gemm<T>(false, true, count * pixels_, patch_, filters_, dzc, filters_, this->weight(0),
              filters_, dcols, patch_);
      col2im(dcols, count, dx);
    }
  }
}

template class Conv<float>;
template class Conv<double>;

}  // namespace eigennet
