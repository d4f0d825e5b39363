// Embedding forward (a gather of table rows) and backward (zeroing the table's gradient,
// then a scatter-add of dL/dy), for a text-classifier-sized table. Memory-bound: GB/s of the
// rows gathered (forward) or of the gradient table written plus the rows added (backward).
#include <cstdio>
#include <random>
#include <vector>

#include "bench.hpp"
#include "eigennet/layers/embedding.hpp"

namespace eigennet::bench {
namespace {

void embedding(Index batch, Index steps, Index vocabulary, Index dim) {
  Embedding<float> layer(vocabulary, dim);
  layer.build({steps});
  randomize_parameters(layer, 0.05f);
  std::mt19937 rng(4);
  std::uniform_int_distribution<Index> index(0, vocabulary - 1);
  std::vector<float> x(static_cast<size_t>(batch * steps));
  for (auto& v : x) v = float(index(rng));
  const LayerTimes t = time_layer(layer, batch, false, &x);
  const double values = double(batch) * double(steps) * double(dim);
  const double table = double(vocabulary) * double(dim);
  char what[96];
  std::snprintf(what, sizeof what, "Embedding %6ldx%-4ld b=%-4ld T=%-4ld", long(vocabulary),
                long(dim), long(batch), long(steps));
  report_memory(std::string(what) + " fwd", t.forward, 8.0 * values, values);
  report_memory(std::string(what) + " bwd", t.backward, 4.0 * table + 12.0 * values, values);
}

void run(const Context&) {
  embedding(32, 20, 1000, 16);
  embedding(256, 32, 2000, 64);
  embedding(64, 200, 20000, 128);
}

const bool registered = register_group(
    {"embedding", "Embedding gather / scatter-add (GB/s of the values moved)", 70, run});

}  // namespace
}  // namespace eigennet::bench
