#include "eigennet/layers/im2col.hpp"

#include <algorithm>
#include <vector>

namespace eigennet {

// Kernel row q of every patch of output row r is one row of the input (or zeros): walking the
// patches of an output row with q fixed keeps the source row hot and the inner copy short.
template <class T>
void im2col(const Window& w, const T* x, Index count, T* cols) {
  const WindowAxis& wc = w.cols;
  const Index c = w.channels, row_len = wc.kernel * c, patch = w.taps() * c;
  const Index in_size = w.in_pixels() * c, pixels = w.out_pixels();
  std::vector<Index> in_row(size_t(w.kernel_rows()));
  for (Index s = 0; s < count; ++s) {
    const T* xs = x + s * in_size;
    for (Index r = 0; r < w.out_rows(); ++r) {
      w.input_rows(r, in_row.data());
      T* patches = cols + (s * pixels + r * wc.out) * patch;
      for (Index q = 0; q < w.kernel_rows(); ++q) {
        T* dst = patches + q * row_len;
        if (in_row[size_t(q)] < 0) {
          for (Index ow = 0; ow < wc.out; ++ow, dst += patch) zero_short(dst, row_len);
          continue;
        }
        const T* src = xs + in_row[size_t(q)] * wc.in * c;
        for (Index ow = 0; ow < wc.out; ++ow, dst += patch) {
          const Index kw0 = wc.first_tap(ow), kw1 = wc.last_tap(ow);
          if (wc.dilation == 1) {
            if (kw0 == 0 && kw1 == wc.kernel) {  // the window is inside: one contiguous run
              copy_short(src + wc.tap(ow, 0) * c, row_len, dst);
              continue;
            }
            copy_short(src + wc.tap(ow, kw0) * c, (kw1 - kw0) * c, dst + kw0 * c);
          } else {
            for (Index kw = kw0; kw < kw1; ++kw)
              copy_short(src + wc.tap(ow, kw) * c, c, dst + kw * c);
          }
          zero_short(dst, kw0 * c);
          zero_short(dst + kw1 * c, (wc.kernel - kw1) * c);
        }
      }
    }
  }
}

// The adjoint of im2col: every column entry is added back to the input position it came
// from.
template <class T>
void col2im(const Window& w, const T* cols, Index count, T* dx) {
  const Index c = w.channels, row_len = w.cols.kernel * c, patch = w.taps() * c;
  const Index in_size = w.in_pixels() * c, pixels = w.out_pixels();
  std::vector<Index> in_row(size_t(w.kernel_rows()));
  std::fill_n(dx, count * in_size, T(0));
  for (Index s = 0; s < count; ++s) {
    T* xs = dx + s * in_size;
    const T* in = cols + s * pixels * patch;
    for (Index r = 0; r < w.out_rows(); ++r) {
      w.input_rows(r, in_row.data());
      for (Index ow = 0; ow < w.cols.out; ++ow, in += patch) {
        const Index kw0 = w.cols.first_tap(ow), kw1 = w.cols.last_tap(ow);
        for (Index q = 0; q < w.kernel_rows(); ++q) {
          if (in_row[size_t(q)] < 0) continue;
          const T* src = in + q * row_len;
          T* dst = xs + in_row[size_t(q)] * w.cols.in * c;
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

template void im2col<float>(const Window&, const float*, Index, float*);
template void im2col<double>(const Window&, const double*, Index, double*);
template void col2im<float>(const Window&, const float*, Index, float*);
template void col2im<double>(const Window&, const double*, Index, double*);

}  // namespace eigennet
