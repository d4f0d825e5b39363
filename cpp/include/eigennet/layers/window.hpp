// Sliding-window geometry shared by convolutions and pooling (channels last), with Keras 3's
// output-size and padding rules along each spatial axis:
//   valid:  no padding, out = floor((in - span) / stride) + 1 with span = dilation*(kernel-1)+1;
//   same:   out = ceil(in / stride); total padding max(0, (out-1)*stride + span - in) (span - 1
//           when stride is 1), the odd element after the data (TensorFlow's rule, which Keras's
//           torch backend reproduces);
//   causal: (Conv1D) span - 1 zeros before the data, out = ceil(in / stride).
// A 2-D layer is a 3-D one with a single plane and a 1-D one has a single row too, so one
// kernel serves the three ranks.
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

// A window over samples of shape (planes, rows, cols, channels); a 2-D layer has planes.in == 1
// and a 1-D one rows.in == 1 too. The loops see a volume as an image whose rows are its (plane,
// row) pairs: output row r = od * rows.out + oh reads kernel row q = kd * rows.kernel + kh from
// input row id * rows.in + ih, each row holding cols.in * channels values.
struct Window {
  WindowAxis planes, rows, cols;
  Index channels = 1;

  // The window of a rank-N layer (N <= 3) over samples `sample` (N spatial axes, then the
  // channels), with N kernel sizes, strides and dilations; the leading missing axes have
  // length 1. Returns false when it does not fit (an empty output).
  bool resolve(const Shape& sample, const std::vector<Index>& kernel,
               const std::vector<Index>& strides, const std::vector<Index>& dilation,
               Padding padding);

  Index in_pixels() const { return planes.in * rows.in * cols.in; }
  Index out_pixels() const { return planes.out * rows.out * cols.out; }
  Index taps() const { return planes.kernel * rows.kernel * cols.kernel; }
  Index out_rows() const { return planes.out * rows.out; }
  Index kernel_rows() const { return planes.kernel * rows.kernel; }
  // Fills in_row[q] for every kernel row q with the input row that it reads for output row r,
  // or -1 where that falls in the padding (a table per output row: O(kernel) memory, no
  // division in the inner loops).
  void input_rows(Index r, Index* in_row) const;
};

// "(steps, channels)", "(rows, cols, channels)" or "(depth, rows, cols, channels)": the sample
// shape a rank-N layer expects, for error messages.
const char* sample_axes(int rank);

}  // namespace eigennet
