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

}  // namespace eigennet
