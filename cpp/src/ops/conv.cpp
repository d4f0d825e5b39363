#include "eigennet/ops/conv.hpp"

#include <algorithm>
#include <stdexcept>

#include "eigennet/threading.hpp"

namespace eigennet {

namespace {

// The spatial rank (1 or 2) of channels-last inputs (B, [rows,] cols, C).
int spatial_rank(const std::string& op, const Shape& input) {
  if (input.size() != 3 && input.size() != 4)
    throw std::invalid_argument(op + ": inputs " + full_shape_string(input) +
                                " must be (batch, steps, channels) or (batch, rows, cols, "
                                "channels); only 1-D and 2-D are supported");
  for (size_t i = 1; i < input.size(); ++i)
    if (input[i] < 1)
      throw std::invalid_argument(op + ": inputs " + full_shape_string(input) + " are empty");
  return int(input.size()) - 2;
}

Padding window_padding(const std::string& op, const std::string& padding) {
  if (padding != "valid" && padding != "same")
    throw std::invalid_argument(op + ": padding must be 'valid' or 'same', got '" + padding + "'");
  return padding_from_name(padding);
}

// `kernel` ([kr,] kc, channels, out) for inputs of this spatial rank.
void check_kernel(const std::string& op, const Shape& input, const Shape& kernel, int rank,
                  const char* last) {
  if (kernel.size() != size_t(rank) + 2 || is_batched(kernel) ||
      kernel[size_t(rank)] != input.back())
    throw std::invalid_argument(op + ": kernel " + full_shape_string(kernel) +
                                " does not fit inputs " + full_shape_string(input) +
                                "; it must be (" + (rank == 2 ? "rows, cols" : "width") + ", " +
                                std::to_string(input.back()) + ", " + last + ")");
  for (Index d : kernel)
    if (d < 1)
      throw std::invalid_argument(op + ": kernel " + full_shape_string(kernel) + " is empty");
}

// The batch axis of `input` with a sample shape after it.
Shape with_batch(const Shape& input, const Shape& sample) {
  Shape out{input[0]};
  out.insert(out.end(), sample.begin(), sample.end());
  return out;
}

template <class Fn>
auto rethrow_as(const std::string& op, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::invalid_argument& e) {  // the layer's message, under the op's name
    throw std::invalid_argument(op + ": " + e.what());
  }
}

}  // namespace

// -- ConvOp ----------------------------------------------------------------------------------
namespace {
template <class T>
std::shared_ptr<Conv<T>> make_conv(const Shape& input, const Shape& kernel,
                                   const std::vector<Index>& strides, const std::string& padding,
                                   const std::vector<Index>& dilation) {
  const int rank = spatial_rank("conv", input);
  check_kernel("conv", input, kernel, rank, "filters");
  const Padding p = window_padding("conv", padding);
  return rethrow_as("conv", [&] {
    auto conv = std::make_shared<Conv<T>>(rank, kernel.back(),
                                          std::vector<Index>(kernel.begin(), kernel.end() - 2),
                                          strides, p, dilation, Activation::Linear, false);
    conv->build(row_shape(input));
    return conv;
  });
}
}  // namespace

template <class T>
ConvOp<T>::ConvOp(const Shape& input, const Shape& kernel, const std::vector<Index>& strides,
                  const std::string& padding, const std::vector<Index>& dilation)
    : ConvOp(input, kernel, make_conv<T>(input, kernel, strides, padding, dilation), strides,
             padding, dilation) {}

template <class T>
ConvOp<T>::ConvOp(const Shape& input, const Shape& kernel, std::shared_ptr<Conv<T>> conv,
                  std::vector<Index> strides, std::string padding, std::vector<Index> dilation)
    : Op<T>("conv", {input, kernel}, with_batch(input, conv->output_shape())),
      conv_(std::move(conv)),
      strides_(std::move(strides)),
      dilation_(std::move(dilation)),
      padding_(std::move(padding)) {}

template <class T>
std::shared_ptr<Layer<T>> ConvOp<T>::clone() const {
  const auto& in = this->full_input_shapes();
  return std::make_shared<ConvOp>(in[0], in[1], strides_, padding_, dilation_);
}

template <class T>
void ConvOp<T>::compute(const T* const* xs, T* y, bool training) {
  const Index n = this->in_shape(0)[0];
  if (n == 0) return;
  std::copy_n(xs[1], conv_->param_count(), conv_->params());
  const Index in = element_count(row_shape(this->in_shape(0)));
  const Index out = element_count(row_shape(this->out_shape()));
  conv_->forward(ConstMatrixMap<T>(xs[0], n, in), MatrixMap<T>(y, n, out), training);
}

template <class T>
void ConvOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  const Index n = this->in_shape(0)[0];
  const Index in = element_count(row_shape(this->in_shape(0)));
  const Index out = element_count(row_shape(this->out_shape()));
  if (n == 0) {
    if (grad_xs[1]) std::fill_n(grad_xs[1], conv_->param_count(), T(0));
    return;
  }
  MatrixMap<T> dx(grad_xs[0], n, in);
  conv_->backward(ConstMatrixMap<T>(xs[0], n, in), ConstMatrixMap<T>(y, n, out),
                  MatrixMap<T>(grad_y, n, out), grad_xs[1], grad_xs[0] ? &dx : nullptr);
}

// -- DepthwiseConvOp -------------------------------------------------------------------------
namespace {
Window depthwise_window(const Shape& input, const Shape& kernel, const std::vector<Index>& strides,
                        const std::string& padding, const std::vector<Index>& dilation) {
  const int rank = spatial_rank("depthwise_conv", input);
  check_kernel("depthwise_conv", input, kernel, rank, "depth multiplier");
  const Padding p = window_padding("depthwise_conv", padding);
  check_window_sizes("depthwise_conv", "strides", strides, size_t(rank));
  check_window_sizes("depthwise_conv", "dilation_rate", dilation, size_t(rank));
  Window w;
  const size_t last = size_t(rank) - 1;
  w.cols = {input[last + 1], kernel[last], strides[last], dilation[last]};
  if (rank == 2) w.rows = {input[1], kernel[0], strides[0], dilation[0]};
  w.channels = input.back();
  if (!w.rows.resolve(p) || !w.cols.resolve(p))
    throw std::invalid_argument("depthwise_conv: inputs " + full_shape_string(input) +
                                " are smaller than the kernel " + full_shape_string(kernel) +
                                " with padding 'valid'");
  return w;
}
}  // namespace

template <class T>
DepthwiseConvOp<T>::DepthwiseConvOp(const Shape& input, const Shape& kernel,
                                    const std::vector<Index>& strides, const std::string& padding,
                                    const std::vector<Index>& dilation)
    : DepthwiseConvOp(input, kernel, depthwise_window(input, kernel, strides, padding, dilation)) {}

template <class T>
DepthwiseConvOp<T>::DepthwiseConvOp(const Shape& input, const Shape& kernel, Window window)
    : Op<T>("depthwise_conv", {input, kernel},
            with_batch(input, input.size() == 4
                                  ? Shape{window.rows.out, window.cols.out,
                                          window.channels * kernel.back()}
                                  : Shape{window.cols.out, window.channels * kernel.back()})),
      window_(std::move(window)),
      multiplier_(kernel.back()) {}

// Direct loops (a depthwise product is too thin for a GEMM): each output pixel sums its
// window's taps, channel by channel.
template <class T>
void DepthwiseConvOp<T>::compute(const T* const* xs, T* y, bool) {
  const Window& w = window_;
  const Index n = this->in_shape(0)[0], C = w.channels, M = multiplier_, CM = C * M;
  const Index in_size = w.in_pixels() * C, out_size = w.out_pixels() * CM;
  const T* k = xs[1];
#pragma omp parallel for schedule( \
        static) if (parallel_for_worth(n * out_size * w.taps(), kParallelGrain))
  for (Index s = 0; s < n; ++s) {
    const T* x = xs[0] + s * in_size;
    T* out = y + s * out_size;
    for (Index oh = 0; oh < w.rows.out; ++oh)
      for (Index ow = 0; ow < w.cols.out; ++ow, out += CM) {
        std::fill_n(out, CM, T(0));
        for (Index kh = w.rows.first_tap(oh); kh < w.rows.last_tap(oh); ++kh)
          for (Index kw = w.cols.first_tap(ow); kw < w.cols.last_tap(ow); ++kw) {
            const T* v = x + (w.rows.tap(oh, kh) * w.cols.in + w.cols.tap(ow, kw)) * C;
            const T* kv = k + (kh * w.cols.kernel + kw) * CM;
            for (Index c = 0; c < C; ++c)
              for (Index m = 0; m < M; ++m) out[c * M + m] += v[c] * kv[c * M + m];
          }
      }
  }
}

// dx per sample (in parallel: samples are disjoint); dK summed over samples in order, on one
// thread, so that it does not depend on the thread count.
template <class T>
void DepthwiseConvOp<T>::gradient(const T* const* xs, const T*, T* grad_y, T* const* grad_xs) {
  const Window& w = window_;
  const Index n = this->in_shape(0)[0], C = w.channels, M = multiplier_, CM = C * M;
  const Index in_size = w.in_pixels() * C, out_size = w.out_pixels() * CM;
  const T* k = xs[1];
  if (T* dx_all = grad_xs[0]) {
#pragma omp parallel for schedule( \
        static) if (parallel_for_worth(n * out_size * w.taps(), kParallelGrain))
    for (Index s = 0; s < n; ++s) {
      T* dx = dx_all + s * in_size;
      std::fill_n(dx, in_size, T(0));
      const T* dy = grad_y + s * out_size;
      for (Index oh = 0; oh < w.rows.out; ++oh)
        for (Index ow = 0; ow < w.cols.out; ++ow, dy += CM)
          for (Index kh = w.rows.first_tap(oh); kh < w.rows.last_tap(oh); ++kh)
            for (Index kw = w.cols.first_tap(ow); kw < w.cols.last_tap(ow); ++kw) {
              T* d = dx + (w.rows.tap(oh, kh) * w.cols.in + w.cols.tap(ow, kw)) * C;
              const T* kv = k + (kh * w.cols.kernel + kw) * CM;
              for (Index c = 0; c < C; ++c) {
                T sum = 0;
                for (Index m = 0; m < M; ++m) sum += dy[c * M + m] * kv[c * M + m];
                d[c] += sum;
              }
            }
    }
  }
  if (T* dk = grad_xs[1]) {
    std::fill_n(dk, w.taps() * CM, T(0));
    for (Index s = 0; s < n; ++s) {
      const T* x = xs[0] + s * in_size;
      const T* dy = grad_y + s * out_size;
      for (Index oh = 0; oh < w.rows.out; ++oh)
        for (Index ow = 0; ow < w.cols.out; ++ow, dy += CM)
          for (Index kh = w.rows.first_tap(oh); kh < w.rows.last_tap(oh); ++kh)
            for (Index kw = w.cols.first_tap(ow); kw < w.cols.last_tap(ow); ++kw) {
              const T* v = x + (w.rows.tap(oh, kh) * w.cols.in + w.cols.tap(ow, kw)) * C;
              T* g = dk + (kh * w.cols.kernel + kw) * CM;
              for (Index c = 0; c < C; ++c)
                for (Index m = 0; m < M; ++m) g[c * M + m] += v[c] * dy[c * M + m];
            }
    }
  }
}

// -- PoolOp ----------------------------------------------------------------------------------
namespace {
template <class T>
std::shared_ptr<Pool<T>> make_pool(const std::string& mode, const Shape& input,
                                   const std::vector<Index>& pool_size,
                                   const std::vector<Index>& strides, const std::string& padding) {
  const std::string op = mode + "_pool";
  if (mode != "max" && mode != "average")
    throw std::invalid_argument("pool: mode must be 'max' or 'average', got '" + mode + "'");
  const int rank = spatial_rank(op, input);
  const Padding p = window_padding(op, padding);
  return rethrow_as(op, [&] {
    auto pool = std::make_shared<Pool<T>>(rank, mode == "max" ? PoolMode::Max : PoolMode::Average,
                                          pool_size, strides, p);
    pool->build(row_shape(input));
    return pool;
  });
}
}  // namespace

template <class T>
PoolOp<T>::PoolOp(const std::string& mode, const Shape& input, const std::vector<Index>& pool_size,
                  const std::vector<Index>& strides, const std::string& padding)
    : PoolOp(mode, input, make_pool<T>(mode, input, pool_size, strides, padding), pool_size,
             strides, padding) {}

template <class T>
PoolOp<T>::PoolOp(const std::string& mode, const Shape& input, std::shared_ptr<Pool<T>> pool,
                  std::vector<Index> pool_size, std::vector<Index> strides, std::string padding)
    : Op<T>(mode + "_pool", {input}, with_batch(input, pool->output_shape())),
      pool_(std::move(pool)),
      mode_(mode),
      pool_size_(std::move(pool_size)),
      strides_(std::move(strides)),
      padding_(std::move(padding)) {}

template <class T>
std::shared_ptr<Layer<T>> PoolOp<T>::clone() const {
  return std::make_shared<PoolOp>(mode_, this->full_input_shapes()[0], pool_size_, strides_,
                                  padding_);
}

template <class T>
void PoolOp<T>::compute(const T* const* xs, T* y, bool training) {
  const Index n = this->in_shape(0)[0];
  if (n == 0) return;
  const Index in = element_count(row_shape(this->in_shape(0)));
  const Index out = element_count(row_shape(this->out_shape()));
  pool_->forward(ConstMatrixMap<T>(xs[0], n, in), MatrixMap<T>(y, n, out), training);
}

template <class T>
void PoolOp<T>::gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) {
  const Index n = this->in_shape(0)[0];
  if (n == 0 || !grad_xs[0]) return;
  const Index in = element_count(row_shape(this->in_shape(0)));
  const Index out = element_count(row_shape(this->out_shape()));
  MatrixMap<T> dx(grad_xs[0], n, in);
  pool_->backward(ConstMatrixMap<T>(xs[0], n, in), ConstMatrixMap<T>(y, n, out),
                  MatrixMap<T>(grad_y, n, out), nullptr, &dx);
}

template class ConvOp<float>;
template class ConvOp<double>;
template class DepthwiseConvOp<float>;
template class DepthwiseConvOp<double>;
template class PoolOp<float>;
template class PoolOp<double>;

}  // namespace eigennet
