// Sliding-window geometry shared by convolutions and pooling (channels last), with Keras 3's
// output-size and padding rules along each spatial axis:
//   valid:  no padding, out = floor((in - span) / stride) + 1 with span = dilation*(kernel-1)+1;
//   same:   out = ceil(in / stride); total padding max(0, (out-1)*stride + span - in) (span - 1
//           when stride is 1), the odd element after the data (TensorFlow's rule, which Keras's
//           torch backend reproduces);
//   causal: (Conv1D) span - 1 zeros before the data, out = ceil(in / stride).
// A 1-D layer is a 2-D one with a single row, so one kernel serves both ranks.
#pragma once

#include <string>
#include <vector>

#include "eigennet/tensor.hpp"

namespace eigennet {

enum class Padding { Valid, Same, Causal };

// "valid", "same" or "causal"; throws std::invalid_argument otherwise.
Padding padding_from_name(const std::string& name);
const char* padding_name(Padding p);
// "(28, 28, 1)", for error messages.
std::string shape_string(const Shape& shape);

// The largest kernel, pool, stride or dilation size: with every size at most 2^30, no product
// of two of them nor a window position (out * stride + span) can overflow an Index.
constexpr Index kMaxWindowSize = Index(1) << 30;
// Throws std::invalid_argument naming `layer` and `what` unless `sizes` holds `rank` integers
// in [1, kMaxWindowSize].
void check_window_sizes(const std::string& layer, const char* what, const std::vector<Index>& sizes,
                        size_t rank);

struct WindowAxis {
  WindowAxis() = default;
  WindowAxis(Index in, Index kernel, Index stride = 1, Index dilation = 1)
      : in(in), kernel(kernel), stride(stride), dilation(dilation) {}

  Index in = 1, kernel = 1, stride = 1, dilation = 1;
  Index pad = 0;  // padding before the data (the padding after it is implied by out)
  Index out = 1;

  Index span() const { return dilation * (kernel - 1) + 1; }
  // Fills pad, out and the tap ranges from in, kernel, stride and dilation. Returns false
  // when the window does not fit (out would be < 1).
  bool resolve(Padding p);
  // The same with pad (may be negative: zeros before the data) and out given, for the
  // transposed convolutions, whose geometry is that of the convolution they are the adjoint of.
  bool resolve(Index pad_before, Index out_size);
  // Input index of tap k of output position o (may fall in the padding: < 0 or >= in).
  Index tap(Index o, Index k) const { return o * stride - pad + k * dilation; }
  // Output positions [lo, hi) whose tap k falls inside the data (lo >= hi when none does);
  // O(1), so a layer's tables cost O(kernel + out), never O(kernel * out).
  Index first_output(Index k) const;
  Index last_output(Index k) const;
  // Taps [first, last) of output position o that fall inside the data (tabulated: the
  // inner loops ask for every output pixel).
  Index first_tap(Index o) const { return first_[size_t(o)]; }
  Index last_tap(Index o) const { return last_[size_t(o)]; }

 private:
  std::vector<Index> first_, last_;
};

// A window over samples of shape (rows, cols, channels); a 1-D layer has rows.in == 1.
struct Window {
  WindowAxis rows, cols;
  Index channels = 1;

  Index in_pixels() const { return rows.in * cols.in; }
  Index out_pixels() const { return rows.out * cols.out; }
  Index taps() const { return rows.kernel * cols.kernel; }
};

}  // namespace eigennet
