// BatchNormalization (training: batch statistics) and LayerNormalization forward and
// backward, after a Dense layer (W3's and W4's widths) and on convolution feature maps.
// Memory-bound: GB/s of the least traffic a pass needs (forward reads x and writes y;
// backward reads x and dL/dy and writes dL/dx) and ns per value.
#include <cstdio>

#include "bench.hpp"
#include "eigennet/layers/normalization.hpp"

namespace eigennet::bench {
namespace {

void normalization(const char* label, Layer<float>& layer, Index batch, const Shape& input) {
  layer.build(input);
  const LayerTimes t = time_layer(layer, batch, true);
  const double values = double(batch) * double(shape_size(input));
  char what[96];
  std::snprintf(what, sizeof what, "%-20s b=%-4ld %s", label, long(batch),
                shape_string(input).c_str());
  report_memory(std::string(what) + " fwd", t.forward, 8.0 * values, values);
  report_memory(std::string(what) + " bwd", t.backward, 12.0 * values, values);
}

void batch_norm(Index batch, const Shape& input) {
  BatchNormalization<float> layer(0.99, 1e-3, true, true);
  normalization("BatchNormalization", layer, batch, input);
}

void layer_norm(Index batch, const Shape& input) {
  LayerNormalization<float> layer(1e-3, true, true, false);
  normalization("LayerNormalization", layer, batch, input);
}

void run(const Context&) {
  batch_norm(128, {256});
  batch_norm(256, {2048});
  batch_norm(64, {26, 26, 32});
  batch_norm(64, {11, 11, 64});
  layer_norm(128, {256});
  layer_norm(256, {2048});
  layer_norm(64, {50, 128});
}

const bool registered = register_group(
    {"normalization", "BatchNormalization / LayerNormalization forward / backward", 60, run});

}  // namespace
}  // namespace eigennet::bench
