#include "eigennet/layers/conv_transpose.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/gemm.hpp"
#include "eigennet/layers/im2col.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {
namespace {

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
  if (rank < 1 || rank > 3)
    throw std::invalid_argument("transposed convolution rank must be 1, 2 or 3");
  const std::string name = this->name();
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
std::string ConvTranspose<T>::name() const {
  return "Conv" + std::to_string(rank_) + "DTranspose";
}

template <class T>
Shape ConvTranspose<T>::do_build(const Shape& input_shape) {
  const std::string name = this->name();
  if (input_shape.size() != size_t(rank_) + 1)
    throw std::invalid_argument(name + " expects samples of shape " + sample_axes(rank_) +
                                " (inputs of rank " + std::to_string(rank_ + 2) +
                                " with the batch axis), got samples of shape " +
                                shape_string(input_shape));
  for (Index d : input_shape)
    if (d < 1) throw std::invalid_argument(name + ": empty samples " + shape_string(input_shape));
  Shape out;
  Window w;
  WindowAxis* axes[] = {&w.planes, &w.rows, &w.cols};  // the last rank_ of them are spatial
  for (WindowAxis* axis : axes) axis->resolve(0, 1);
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
    *axes[3 - rank_ + a] = axis;
  }
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
Index ConvTranspose<T>::group_count(Index n) const {
  const Index chunks = (n + chunk_samples() - 1) / chunk_samples();
  const Index by_memory = std::max<Index>(1, kGroupGradientElements / this->param_count());
  return std::max<Index>(1, std::min({chunks, kMaxGroups, by_memory}));
}

template <class T>
int ConvTranspose<T>::slot_count(Index n) const {
  const Index groups = group_count(n);
  if (groups < 2 || 2.0 * double(n * pixels_) * double(patch_ * in_channels_) < kGemmParallelFlops)
    return 1;
  return static_cast<int>(std::min<Index>(get_num_threads(), groups));
}

// Per chunk: cols = X·Kᵀ, col2im, then the bias and the activation while the chunk is in
// cache. Chunks write disjoint outputs, so threads take whole groups of them.
template <class T>
void ConvTranspose<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Index n = x.rows(), chunk = chunk_samples(), out_pixels = out_size_ / filters_;
  if (n == 0) return;
  const int slots = slot_count(n);
  T* z = activation_needs_input(activation_) ? preactivation_.view(n * out_pixels, filters_).data()
                                             : y.data();
  T* buffers = cols_.view(slots * std::min(chunk, n) * pixels_, patch_).data();
  for_chunks(n, chunk, group_count(n), slots, [&](Index first, Index count, Index, int slot) {
    const Index rows = count * out_pixels;
    T* cols = buffers + slot * std::min(chunk, n) * pixels_ * patch_;
    gemm<T>(false, true, count * pixels_, patch_, in_channels_, x.data() + first * in_size_,
            in_channels_, this->weight(0), in_channels_, cols, patch_);
    T* zc = z + first * out_size_;
    col2im(window_, cols, count, zc);
    if (use_bias_) {
      const T* bias = this->weight(1);
      for (Index r = 0; r < rows; ++r)
        for (Index f = 0; f < filters_; ++f) zc[r * filters_ + f] += bias[f];
    }
    T* yc = y.data() + first * out_size_;
    if (activation_ != Activation::Linear || zc != yc)
      activation_forward<T>(activation_, ConstMatrixMap<T>(zc, rows, filters_),
                            MatrixMap<T>(yc, rows, filters_));
  });
}

// Per chunk: the activation's derivative, db += column sums of dY, cols = im2col(dY),
// dK += colsᵀ·X and dX = cols·K. Each group of chunks accumulates dK and db in its own buffer
// and the groups are added in order, so the results do not depend on the thread count.
template <class T>
void ConvTranspose<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y,
                                T* param_grad, MatrixMap<T>* grad_x) {
  const Index n = x.rows(), chunk = chunk_samples(), out_pixels = out_size_ / filters_;
  const Index kernel_size = patch_ * in_channels_, grad_size = this->param_count();
  if (n == 0) {
    if (param_grad) std::fill_n(param_grad, grad_size, T(0));
    return;
  }
  const Index groups = group_count(n);
  const int slots = slot_count(n);
  const T* z = activation_needs_input(activation_) ? preactivation_.data() : y.data();
  T* group_grads = param_grad ? group_grads_.view(groups, grad_size).data() : nullptr;
  if (group_grads) std::fill_n(group_grads, groups * grad_size, T(0));
  T* buffers = cols_.view(slots * std::min(chunk, n) * pixels_, patch_).data();
  for_chunks(n, chunk, groups, slots, [&](Index first, Index count, Index group, int slot) {
    const Index rows = count * out_pixels, offset = first * out_size_;
    T* dy = grad_y.data() + offset;
    if (activation_ != Activation::Linear)
      activation_backward<T>(activation_, ConstMatrixMap<T>(z + offset, rows, filters_),
                             ConstMatrixMap<T>(y.data() + offset, rows, filters_),
                             MatrixMap<T>(dy, rows, filters_));
    T* grad = group_grads ? group_grads + group * grad_size : nullptr;
    if (grad && use_bias_) {
      T* db = grad + kernel_size;
      for (Index r = 0; r < rows; ++r)
        for (Index f = 0; f < filters_; ++f) db[f] += dy[r * filters_ + f];
    }
    if (!grad && !grad_x) return;
    T* cols = buffers + slot * std::min(chunk, n) * pixels_ * patch_;
    im2col(window_, dy, count, cols);
    const Index in_rows = count * pixels_;
    if (grad)
      gemm<T>(true, false, patch_, in_channels_, in_rows, cols, patch_, x.data() + first * in_size_,
              in_channels_, grad, in_channels_, true);
    if (grad_x)
      gemm<T>(false, false, in_rows, in_channels_, patch_, cols, patch_, this->weight(0),
              in_channels_, grad_x->data() + first * in_size_, in_channels_);
  });
  if (!param_grad) return;
  std::copy_n(group_grads, grad_size, param_grad);
  for (Index g = 1; g < groups; ++g) {
    const T* src = group_grads + g * grad_size;
    for (Index i = 0; i < grad_size; ++i) param_grad[i] += src[i];
  }
}

template class ConvTranspose<float>;
template class ConvTranspose<double>;

}  // namespace eigennet
