// Dense forward and backward at the workloads' layer sizes: W1/W2's tiny layers (per-call
// overhead), W3's and W4's layers (compute-bound; the first layer of a model has no input
// gradient, as in training).
#include <cstdio>

#include "bench.hpp"
#include "eigennet/layers/dense.hpp"

namespace eigennet::bench {
namespace {

void dense(const char* workload, Index batch, Index in, Index units, Activation activation,
           bool first_layer, const Context& ctx) {
  Dense<float> layer(units, activation, true);
  layer.build({in});
  randomize_parameters(layer, 0.05f);
  const LayerTimes t = time_layer(layer, batch, !first_layer);
  const double product = 2.0 * batch * in * units;  // one of the GEMMs
  char what[96];
  std::snprintf(what, sizeof what, "%-4s b=%-5ld %5ld->%-5ld %-8s", workload, long(batch), long(in),
                long(units), first_layer ? "(no dx)" : "");
  report_compute(std::string(what) + " fwd", t.forward, product, ctx);
  // dW = X^T dY and, unless first, dX = dY W^T
  report_compute(std::string(what) + " bwd", t.backward, product * (first_layer ? 1 : 2), ctx);
}

void run(const Context& ctx) {
  dense("W1", 1, 4, 2, Activation::Sigmoid, true, ctx);
  dense("W1", 1, 2, 1, Activation::Sigmoid, false, ctx);
  dense("W2", 1, 2, 10, Activation::Relu, true, ctx);
  dense("W2", 1, 10, 5, Activation::Relu, false, ctx);
  dense("W3", 128, 784, 256, Activation::Relu, true, ctx);
  dense("W3", 128, 256, 256, Activation::Relu, false, ctx);
  dense("W3", 128, 256, 10, Activation::Softmax, false, ctx);
  dense("W3P", 1024, 784, 256, Activation::Relu, true, ctx);
  dense("W4", 256, 1024, 2048, Activation::Relu, true, ctx);
  dense("W4", 256, 2048, 2048, Activation::Relu, false, ctx);
  dense("W4", 256, 2048, 10, Activation::Softmax, false, ctx);
  dense("W5", 64, 1600, 128, Activation::Relu, false, ctx);
  dense("", 32, 64, 64, Activation::Tanh, false, ctx);
}

const bool registered = register_group(
    {"dense", "Dense forward / backward (GFLOP/s of the GEMMs: fwd 2bmn, bwd 4bmn)", 20, run});

}  // namespace
}  // namespace eigennet::bench
