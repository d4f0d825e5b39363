#include "eigennet/layers/window.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace eigennet {
namespace {

// ceil(a / b) and floor(a / b) for b > 0 and any sign of a.
Index ceil_div(Index a, Index b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
Index floor_div(Index a, Index b) { return a >= 0 ? a / b : -ceil_div(-a, b); }

}  // namespace

Padding padding_from_name(const std::string& name) {
  if (name == "valid") return Padding::Valid;
  if (name == "same") return Padding::Same;
  if (name == "causal") return Padding::Causal;
  throw std::invalid_argument("padding must be 'valid', 'same' or 'causal', got '" + name + "'");
}

const char* padding_name(Padding p) {
  switch (p) {
    case Padding::Valid:
      return "valid";
    case Padding::Same:
      return "same";
    case Padding::Causal:
      return "causal";
  }
  return "?";
}

std::string shape_string(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

void check_window_sizes(const std::string& layer, const char* what, const std::vector<Index>& sizes,
                        size_t rank) {
  if (sizes.size() != rank)
    throw std::invalid_argument(layer + " " + what + " must hold " + std::to_string(rank) +
                                " value(s), got " + std::to_string(sizes.size()));
  for (Index d : sizes)
    if (d <= 0 || d > kMaxWindowSize)
      throw std::invalid_argument(layer + " " + what + " must be positive integers of at most " +
                                  std::to_string(kMaxWindowSize) + ", got " + shape_string(sizes));
}

Index WindowAxis::first_output(Index k) const {
  return std::max<Index>(0, ceil_div(pad - k * dilation, stride));
}

Index WindowAxis::last_output(Index k) const {
  return std::min<Index>(out, floor_div(in - 1 + pad - k * dilation, stride) + 1);
}

bool WindowAxis::resolve(Padding p) {
  if (p == Padding::Valid) {
    pad = 0;
    out = in >= span() ? (in - span()) / stride + 1 : 0;
  } else {
    out = ceil_div(in, stride);
    if (p == Padding::Causal) {
      pad = span() - 1;
    } else {
      const Index total =
          stride == 1 ? span() - 1 : std::max<Index>(0, (out - 1) * stride + span() - in);
      pad = total / 2;
    }
  }
  return resolve(pad, out);
}

bool WindowAxis::resolve(Index pad_before, Index out_size) {
  pad = pad_before;
  out = out_size;
  if (out < 1) return false;
  first_.resize(size_t(out));
  last_.resize(size_t(out));
  for (Index o = 0; o < out; ++o) {
    first_[size_t(o)] = std::clamp<Index>(ceil_div(pad - o * stride, dilation), 0, kernel);
    last_[size_t(o)] =
        std::clamp<Index>(ceil_div(in + pad - o * stride, dilation), first_[size_t(o)], kernel);
  }
  return true;
}

bool Window::resolve(const Shape& sample, const std::vector<Index>& kernel,
                     const std::vector<Index>& strides, const std::vector<Index>& dilation,
                     Padding padding) {
  WindowAxis* axes[] = {&planes, &rows, &cols};
  const size_t rank = kernel.size(), missing = 3 - rank;
  for (size_t a = 0; a < 3; ++a)
    *axes[a] = a < missing ? WindowAxis()
                           : WindowAxis(sample[a - missing], kernel[a - missing],
                                        strides[a - missing], dilation[a - missing]);
  channels = sample.back();
  return planes.resolve(padding) && rows.resolve(padding) && cols.resolve(padding);
}

void Window::input_rows(Index r, Index* in_row) const {
  const Index od = r / rows.out, oh = r % rows.out;
  for (Index kd = 0; kd < planes.kernel; ++kd) {
    const bool plane_in = kd >= planes.first_tap(od) && kd < planes.last_tap(od);
    const Index plane = planes.tap(od, kd) * rows.in;
    for (Index kh = 0; kh < rows.kernel; ++kh, ++in_row)
      *in_row = plane_in && kh >= rows.first_tap(oh) && kh < rows.last_tap(oh)
                    ? plane + rows.tap(oh, kh)
                    : -1;
  }
}

const char* sample_axes(int rank) {
  if (rank == 1) return "(steps, channels)";
  return rank == 2 ? "(rows, cols, channels)" : "(depth, rows, cols, channels)";
}

}  // namespace eigennet
