// Conv1D and Conv2D forward and backward: W5's two convolutions (the first has one input
// channel, so no input gradient and the taps-major im2col), wider ones, strides, dilation,
// 'same' and causal padding. FLOPs are the im2col products: forward 2*b*pixels*taps*in*out,
// backward the same once for dK and once more for dX.
#include <cstdio>
#include <vector>

#include "bench.hpp"
#include "eigennet/layers/conv.hpp"

namespace eigennet::bench {
namespace {

struct ConvCase {
  const char* label;
  Index batch;
  Shape input;  // (steps, c) or (h, w, c)
  Index filters;
  std::vector<Index> kernel, strides, dilation;
  Padding padding;
  bool first_layer;
};

void conv(const ConvCase& c, const Context& ctx) {
  const int rank = static_cast<int>(c.input.size()) - 1;
  Conv<float> layer(rank, c.filters, c.kernel, c.strides, c.padding, c.dilation, Activation::Relu,
                    true);
  layer.build(c.input);
  randomize_parameters(layer, 0.05f);
  const LayerTimes t = time_layer(layer, c.batch, !c.first_layer);
  const Shape& out = layer.output_shape();
  double pixels = 1, taps = 1;
  for (int a = 0; a < rank; ++a) pixels *= double(out[size_t(a)]);
  for (Index k : c.kernel) taps *= double(k);
  const double product = 2.0 * c.batch * pixels * taps * c.input.back() * c.filters;
  char what[96];
  std::snprintf(what, sizeof what, "%-24s b=%-3ld %s ->%-3ld", c.label, long(c.batch),
                shape_string(c.input).c_str(), long(c.filters));
  report_compute(std::string(what) + " fwd", t.forward, product, ctx);
  report_compute(std::string(what) + " bwd", t.backward, product * (c.first_layer ? 1 : 2), ctx);
}

void run(const Context& ctx) {
  const auto valid = Padding::Valid, same = Padding::Same;
  const std::vector<ConvCase> cases = {
      {"W5 conv1 3x3 (no dx)", 64, {28, 28, 1}, 32, {3, 3}, {1, 1}, {1, 1}, valid, true},
      {"W5 conv2 3x3", 64, {13, 13, 32}, 64, {3, 3}, {1, 1}, {1, 1}, valid, false},
      {"3x3 same", 16, {32, 32, 64}, 64, {3, 3}, {1, 1}, {1, 1}, same, false},
      {"3x3 stride 2 same", 64, {28, 28, 32}, 64, {3, 3}, {2, 2}, {1, 1}, same, false},
      {"3x3 dilation 2", 64, {26, 26, 32}, 32, {3, 3}, {1, 1}, {2, 2}, valid, false},
      {"1x1 (direct product)", 64, {13, 13, 64}, 64, {1, 1}, {1, 1}, {1, 1}, valid, false},
      {"5x5 same", 64, {14, 14, 32}, 64, {5, 5}, {1, 1}, {1, 1}, same, false},
      {"Conv1D k5 (no dx)", 64, {100, 1}, 32, {5}, {1}, {1}, valid, true},
      {"Conv1D k3", 64, {100, 64}, 64, {3}, {1}, {1}, valid, false},
      {"Conv1D k3 causal dil 2", 64, {100, 64}, 64, {3}, {1}, {2}, Padding::Causal, false},
      {"Conv1D k3 stride 2 same", 64, {100, 64}, 64, {3}, {2}, {1}, same, false},
  };
  for (const auto& c : cases) conv(c, ctx);
}

const bool registered = register_group(
    {"conv", "Conv1D / Conv2D forward / backward (GFLOP/s of the im2col products)", 30, run});

}  // namespace
}  // namespace eigennet::bench
