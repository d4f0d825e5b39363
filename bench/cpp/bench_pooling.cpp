// Pooling forward and backward, 1-D and 2-D, max and average, windowed and global, at W5's
// sizes and a 1-D sequence's. Memory-bound: GB/s of the input read (forward) or the input
// gradient written (backward), and ns per input value.
#include <cstdio>
#include <memory>

#include "bench.hpp"
#include "eigennet/layers/pooling.hpp"

namespace eigennet::bench {
namespace {

void pool(const char* label, std::unique_ptr<Pool<float>> layer, Index batch, const Shape& input) {
  layer->build(input);
  const LayerTimes t = time_layer(*layer, batch, true);
  const double values = double(batch) * double(shape_size(input));
  const double out = double(batch) * double(shape_size(layer->output_shape()));
  char what[96];
  std::snprintf(what, sizeof what, "%-22s b=%-3ld %s", label, long(batch),
                shape_string(input).c_str());
  // Forward reads the input and writes the output; backward reads dL/dy and writes dL/dx.
  report_memory(std::string(what) + " fwd", t.forward, 4.0 * (values + out), values);
  report_memory(std::string(what) + " bwd", t.backward, 4.0 * (values + out), values);
}

std::unique_ptr<Pool<float>> window(int rank, PoolMode mode, Index size, Index stride,
                                    Padding padding = Padding::Valid) {
  return std::make_unique<Pool<float>>(rank, mode, std::vector<Index>(size_t(rank), size),
                                       std::vector<Index>(size_t(rank), stride), padding);
}
std::unique_ptr<Pool<float>> global(int rank, PoolMode mode) {
  return std::make_unique<GlobalPool<float>>(rank, mode, false);
}

void run(const Context&) {
  const auto max = PoolMode::Max, avg = PoolMode::Average;
  pool("W5 MaxPool2D 2", window(2, max, 2, 2), 64, {26, 26, 32});
  pool("W5 MaxPool2D 2", window(2, max, 2, 2), 64, {11, 11, 64});
  pool("AvgPool2D 2", window(2, avg, 2, 2), 64, {26, 26, 32});
  pool("MaxPool2D 3 stride 1", window(2, max, 3, 1, Padding::Same), 64, {26, 26, 32});
  pool("AvgPool2D 3 stride 2", window(2, avg, 3, 2, Padding::Same), 64, {26, 26, 32});
  pool("GlobalMaxPool2D", global(2, max), 64, {11, 11, 64});
  pool("GlobalAvgPool2D", global(2, avg), 64, {11, 11, 64});
  pool("MaxPool1D 2", window(1, max, 2, 2), 64, {100, 64});
  pool("AvgPool1D 2", window(1, avg, 2, 2), 64, {100, 64});
  pool("GlobalMaxPool1D", global(1, max), 64, {100, 64});
  pool("GlobalAvgPool1D", global(1, avg), 256, {32, 64});
}

const bool registered = register_group(
    {"pooling", "Max / average pooling 1D, 2D, global (GB/s of input + output)", 40, run});

}  // namespace
}  // namespace eigennet::bench
