#include "eigennet/layers/pooling.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "eigennet/row_blocks.hpp"

namespace eigennet {

template <class T>
Pool<T>::Pool(int rank, PoolMode mode, std::vector<Index> pool_size, std::vector<Index> strides,
              Padding padding)
    : rank_(rank),
      mode_(mode),
      global_(false),
      pool_size_(std::move(pool_size)),
      strides_(std::move(strides)),
      padding_(padding) {
  if (rank != 1 && rank != 2) throw std::invalid_argument("pooling rank must be 1 or 2");
  for (const auto* v : {&pool_size_, &strides_}) {
    const char* what = v == &pool_size_ ? "pool_size" : "strides";
    if (v->size() != size_t(rank))
      throw std::invalid_argument(name() + " " + what + " must hold " + std::to_string(rank) +
                                  " value(s), got " + std::to_string(v->size()));
    for (Index d : *v)
      if (d <= 0)
        throw std::invalid_argument(name() + " " + what + " must be positive integers, got " +
                                    shape_string(*v));
  }
  if (padding == Padding::Causal)
    throw std::invalid_argument(name() + " padding must be 'valid' or 'same'");
}

template <class T>
Pool<T>::Pool(int rank, PoolMode mode, bool keepdims)
    : rank_(rank), mode_(mode), global_(true), keepdims_(keepdims) {
  if (rank != 1 && rank != 2) throw std::invalid_argument("pooling rank must be 1 or 2");
}

template <class T>
std::string Pool<T>::name() const {
  return std::string(global_ ? "Global" : "") + (mode_ == PoolMode::Max ? "Max" : "Average") +
         "Pooling" + std::to_string(rank_) + "D";
}

template <class T>
Shape Pool<T>::do_build(const Shape& input_shape) {
  if (input_shape.size() != size_t(rank_) + 1)
    throw std::invalid_argument(name() + " expects samples of shape " +
                                (rank_ == 1 ? "(steps, channels)" : "(rows, cols, channels)") +
                                " (inputs of rank " + std::to_string(rank_ + 2) +
                                " with the batch axis), got samples of shape " +
                                shape_string(input_shape));
  Window& w = window_;
  const size_t last = size_t(rank_) - 1;
  if (global_) {
    w.cols = {input_shape[last], input_shape[last]};
    if (rank_ == 2) w.rows = {input_shape[0], input_shape[0]};
  } else {
    w.cols = {input_shape[last], pool_size_[last], strides_[last]};
    if (rank_ == 2) w.rows = {input_shape[0], pool_size_[0], strides_[0]};
  }
  w.channels = input_shape.back();
  if (!w.rows.resolve(padding_) || !w.cols.resolve(padding_))
    throw std::invalid_argument(name() + ": samples of shape " + shape_string(input_shape) +
                                " are smaller than pool_size " + shape_string(pool_size_) +
                                " with padding 'valid' (the output would be empty); use "
                                "larger inputs, a smaller pool_size or padding='same'");
  in_size_ = w.in_pixels() * w.channels;
  if (in_size_ > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument(name() + ": samples of shape " + shape_string(input_shape) +
                                " are too large (more than 2^31 values each)");
  out_size_ = w.out_pixels() * w.channels;
  Shape out;
  if (global_) {
    if (keepdims_) out.assign(size_t(rank_), 1);
  } else {
    if (rank_ == 2) out.push_back(w.rows.out);
    out.push_back(w.cols.out);
  }
  out.push_back(w.channels);
  return out;
}

template <class T>
void Pool<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Window& w = window_;
  const Index c = w.channels, n = x.rows();
  int32_t* argmax =
      mode_ == PoolMode::Max ? argmax_.view(n, out_size_).data() : static_cast<int32_t*>(nullptr);
  for_row_blocks(n, in_size_, [&](Index first, Index count) {
    for (Index s = first; s < first + count; ++s) {
      const T* xs = x.data() + s * in_size_;
      T* out = y.data() + s * out_size_;
      int32_t* arg = argmax ? argmax + s * out_size_ : nullptr;
      for (Index oh = 0; oh < w.rows.out; ++oh) {
        const Index kh0 = w.rows.first_tap(oh), kh1 = w.rows.last_tap(oh);
        for (Index ow = 0; ow < w.cols.out; ++ow, out += c) {
          const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
          bool first_tap = true;
          for (Index kh = kh0; kh < kh1; ++kh) {
            for (Index kw = kw0; kw < kw1; ++kw) {
              const Index off = (w.rows.tap(oh, kh) * w.cols.in + w.cols.tap(ow, kw)) * c;
              const T* v = xs + off;
              if (first_tap) {
                std::copy_n(v, c, out);
                if (arg)
                  for (Index i = 0; i < c; ++i) arg[i] = int32_t(off + i);
                first_tap = false;
              } else if (arg) {
                // PyTorch's rule: a later value wins only if strictly larger (or NaN).
                // Branch-free, so the channel loop vectorizes.
                for (Index i = 0; i < c; ++i) {
                  const T value = v[i];
                  const bool take = value > out[i] || value != value;
                  out[i] = take ? value : out[i];
                  arg[i] = take ? int32_t(off + i) : arg[i];
                }
              } else {
                for (Index i = 0; i < c; ++i) out[i] += v[i];
              }
            }
          }
          if (arg) {
            arg += c;
          } else {
            const T count_in = T((kh1 - kh0) * (kw1 - kw0));
            for (Index i = 0; i < c; ++i) out[i] /= count_in;
          }
        }
      }
    }
  });
}

template <class T>
void Pool<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y, T*,
                       MatrixMap<T>* grad_x) {
  if (!grad_x) return;
  const Window& w = window_;
  const Index c = w.channels, n = x.rows();
  const int32_t* argmax = mode_ == PoolMode::Max ? argmax_.data() : nullptr;
  for_row_blocks(n, in_size_, [&](Index first, Index count) {
    std::fill_n(grad_x->data() + first * in_size_, count * in_size_, T(0));
    for (Index s = first; s < first + count; ++s) {
      T* dx = grad_x->data() + s * in_size_;
      const T* dy = grad_y.data() + s * out_size_;
      if (argmax) {
        const int32_t* arg = argmax + s * out_size_;
        for (Index i = 0; i < out_size_; ++i) dx[arg[i]] += dy[i];
        continue;
      }
      for (Index oh = 0; oh < w.rows.out; ++oh) {
        const Index kh0 = w.rows.first_tap(oh), kh1 = w.rows.last_tap(oh);
        for (Index ow = 0; ow < w.cols.out; ++ow, dy += c) {
          const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
          const T count_in = T((kh1 - kh0) * (kw1 - kw0));
          for (Index kh = kh0; kh < kh1; ++kh)
            for (Index kw = kw0; kw < kw1; ++kw) {
              T* d = dx + (w.rows.tap(oh, kh) * w.cols.in + w.cols.tap(ow, kw)) * c;
              for (Index i = 0; i < c; ++i) d[i] += dy[i] / count_in;
            }
        }
      }
    }
  });
}

template class Pool<float>;
template class Pool<double>;

}  // namespace eigennet
