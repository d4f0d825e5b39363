#include "eigennet/layers/pooling.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "eigennet/row_blocks.hpp"

namespace eigennet {
namespace {

// The input rows of output row r's window that fall inside the data, first in kernel order
// (a window always holds one); returns how many.
Index data_rows(const Window& w, Index r, std::vector<Index>& in_row) {
  w.input_rows(r, in_row.data());
  return std::remove(in_row.begin(), in_row.end(), Index(-1)) - in_row.begin();
}

}  // namespace

template <class T>
Pool<T>::Pool(int rank, PoolMode mode, std::vector<Index> pool_size, std::vector<Index> strides,
              Padding padding)
    : rank_(rank),
      mode_(mode),
      global_(false),
      pool_size_(std::move(pool_size)),
      strides_(std::move(strides)),
      padding_(padding) {
  if (rank < 1 || rank > 3) throw std::invalid_argument("pooling rank must be 1, 2 or 3");
  check_window_sizes(name(), "pool_size", pool_size_, size_t(rank));
  check_window_sizes(name(), "strides", strides_, size_t(rank));
  if (padding == Padding::Causal)
    throw std::invalid_argument(name() + " padding must be 'valid' or 'same'");
}

template <class T>
Pool<T>::Pool(int rank, PoolMode mode, bool keepdims)
    : rank_(rank), mode_(mode), global_(true), keepdims_(keepdims) {
  if (rank < 1 || rank > 3) throw std::invalid_argument("pooling rank must be 1, 2 or 3");
}

template <class T>
std::string Pool<T>::name() const {
  return std::string(global_ ? "Global" : "") + (mode_ == PoolMode::Max ? "Max" : "Average") +
         "Pooling" + std::to_string(rank_) + "D";
}

template <class T>
Shape Pool<T>::do_build(const Shape& input_shape) {
  if (input_shape.size() != size_t(rank_) + 1)
    throw std::invalid_argument(name() + " expects samples of shape " + sample_axes(rank_) +
                                " (inputs of rank " + std::to_string(rank_ + 2) +
                                " with the batch axis), got samples of shape " +
                                shape_string(input_shape));
  Window& w = window_;
  const std::vector<Index> ones(size_t(rank_), 1);
  // Global pooling: one window covering the whole sample.
  const std::vector<Index> whole(input_shape.begin(), input_shape.end() - 1);
  if (!w.resolve(input_shape, global_ ? whole : pool_size_, global_ ? ones : strides_, ones,
                 padding_))
    throw std::invalid_argument(name() + ": samples of shape " + shape_string(input_shape) +
                                " are smaller than pool_size " + shape_string(pool_size_) +
                                " with padding 'valid' (the output would be empty); use "
                                "larger inputs, a smaller pool_size or padding='same'");
  in_size_ = w.in_pixels() * w.channels;
  out_size_ = w.out_pixels() * w.channels;
  Shape out;
  if (global_) {
    if (keepdims_) out.assign(size_t(rank_), 1);
  } else {
    if (rank_ == 3) out.push_back(w.planes.out);
    if (rank_ >= 2) out.push_back(w.rows.out);
    out.push_back(w.cols.out);
  }
  out.push_back(w.channels);
  return out;
}

// Max pooling records, per output value, which tap of its window won (its ordinal among the
// window's in-data taps), so backward reads that instead of the whole input again.
template <class T>
void Pool<T>::forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) {
  const Window& w = window_;
  const Index c = w.channels;
  const bool max = mode_ == PoolMode::Max;
  int32_t* winners = max ? winners_.view(x.rows(), out_size_).data() : nullptr;
  for_row_blocks(x.rows(), in_size_, [&](Index first, Index count) {
    std::vector<Index> in_row(size_t(w.kernel_rows()));
    for (Index s = first; s < first + count; ++s) {
      const T* xs = x.data() + s * in_size_;
      T* out = y.data() + s * out_size_;
      int32_t* win = max ? winners + s * out_size_ : nullptr;
      for (Index r = 0; r < w.out_rows(); ++r) {
        const Index rows_in = data_rows(w, r, in_row);
        for (Index ow = 0; ow < w.cols.out; ++ow, out += c) {
          const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
          const T* v = xs + (in_row[0] * w.cols.in + w.cols.tap(ow, kw0)) * c;
          std::copy_n(v, c, out);
          if (max) std::fill_n(win, c, 0);
          int32_t t = 0;
          for (Index row = 0; row < rows_in; ++row) {
            for (Index kw = row == 0 ? kw0 + 1 : kw0; kw < kw1; ++kw) {
              v = xs + (in_row[size_t(row)] * w.cols.in + w.cols.tap(ow, kw)) * c;
              ++t;
              if (max) {
                // PyTorch's rule: a later value wins if larger, or NaN. Branch-free, so the
                // channel loop vectorizes.
                for (Index i = 0; i < c; ++i) {
                  const bool take = v[i] > out[i] || v[i] != v[i];
                  out[i] = take ? v[i] : out[i];
                  win[i] = take ? t : win[i];
                }
              } else {
                for (Index i = 0; i < c; ++i) out[i] += v[i];
              }
            }
          }
          if (max) {
            win += c;
          } else {
            const T count_in = T(rows_in * (kw1 - kw0));
            for (Index i = 0; i < c; ++i) out[i] /= count_in;
          }
        }
      }
    }
  });
}

// When windows do not overlap, every input position gets one plain write (no zero fill first).
template <class T>
void Pool<T>::backward(ConstMatrixMap<T> x, ConstMatrixMap<T>, MatrixMap<T> grad_y, T*,
                       MatrixMap<T>* grad_x) {
  if (!grad_x) return;
  const Window& w = window_;
  const Index c = w.channels;
  const bool max = mode_ == PoolMode::Max;
  auto overlaps = [](const WindowAxis& a) { return a.out > 1 && a.stride < a.kernel; };
  auto covers = [](const WindowAxis& a) {
    return (a.out == 1 || a.stride == a.kernel) &&
           (a.out - 1) * a.stride - a.pad + a.kernel >= a.in;
  };
  const bool accumulate = overlaps(w.planes) || overlaps(w.rows) || overlaps(w.cols);
  const bool zero_first = accumulate || !covers(w.planes) || !covers(w.rows) || !covers(w.cols);
  const int32_t* winners = max ? winners_.data() : nullptr;
  for_row_blocks(x.rows(), in_size_, [&](Index first, Index count) {
    std::vector<Index> in_row(size_t(w.kernel_rows()));
    if (zero_first) std::fill_n(grad_x->data() + first * in_size_, count * in_size_, T(0));
    for (Index s = first; s < first + count; ++s) {
      T* dxs = grad_x->data() + s * in_size_;
      const T* dy = grad_y.data() + s * out_size_;
      const int32_t* win = max ? winners + s * out_size_ : nullptr;
      for (Index r = 0; r < w.out_rows(); ++r) {
        const Index rows_in = data_rows(w, r, in_row);
        for (Index ow = 0; ow < w.cols.out; ++ow, dy += c) {
          const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
          const T count_in = T(rows_in * (kw1 - kw0));
          int32_t t = 0;
          for (Index row = 0; row < rows_in; ++row) {
            for (Index kw = kw0; kw < kw1; ++kw, ++t) {
              T* d = dxs + (in_row[size_t(row)] * w.cols.in + w.cols.tap(ow, kw)) * c;
              if (max) {
                for (Index i = 0; i < c; ++i) {
                  const T give = win[i] == t ? dy[i] : T(0);
                  d[i] = accumulate ? d[i] + give : give;
                }
              } else {
                for (Index i = 0; i < c; ++i)
                  d[i] = accumulate ? d[i] + dy[i] / count_in : dy[i] / count_in;
              }
            }
          }
          if (max) win += c;
        }
      }
    }
  });
}

template class Pool<float>;
template class Pool<double>;

}  // namespace eigennet
