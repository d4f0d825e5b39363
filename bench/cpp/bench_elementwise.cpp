// Element-wise layers: Activation for every activation of the core, Dropout (training) and
// Flatten (a copy between the network's buffers). At W3's hidden size (32k values: below the
// parallel grain, one thread) and W4's (512k values: split between the threads).
// Memory-bound: GB/s of the least traffic (forward reads x and writes y; backward reads y or
// x and dL/dy and writes dL/dx) and ns per value.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "bench.hpp"
#include "eigennet/activations.hpp"
#include "eigennet/layers/activation.hpp"
#include "eigennet/layers/dropout.hpp"
#include "eigennet/layers/reshape.hpp"

namespace eigennet::bench {
namespace {

void elementwise(const std::string& label, Layer<float>& layer, Index batch, const Shape& input,
                 double backward_bytes_per_value) {
  layer.build(input);
  const LayerTimes t = time_layer(layer, batch, true);
  const double values = double(batch) * double(shape_size(input));
  char what[96];
  std::snprintf(what, sizeof what, "%-18s b=%-4ld %s", label.c_str(), long(batch),
                shape_string(input).c_str());
  report_memory(std::string(what) + " fwd", t.forward, 8.0 * values, values);
  report_memory(std::string(what) + " bwd", t.backward, backward_bytes_per_value * values, values);
}

void run(const Context&) {
  for (const auto& [batch, width] : {std::pair<Index, Index>{128, 256}, {256, 2048}}) {
    std::vector<Activation> done;
    for (const auto& name : activation_names()) {
      const Activation a = activation_from_name(name);
      if (std::find(done.begin(), done.end(), a) != done.end()) continue;  // silu is swish
      done.push_back(a);
      ActivationLayer<float> layer(a);
      elementwise(name, layer, batch, {width}, 12.0);
    }
    Dropout<float> dropout(0.5, 1);
    elementwise("Dropout 0.5", dropout, batch, {width}, 12.0);  // reads the mask, not y
    Reshape<float> flatten({-1});
    elementwise("Flatten", flatten, batch, {width / 32, 32}, 8.0);
  }
}

const bool registered = register_group(
    {"elementwise", "Activation (every activation), Dropout, Flatten (GB/s, ns/value)", 80, run});

}  // namespace
}  // namespace eigennet::bench
