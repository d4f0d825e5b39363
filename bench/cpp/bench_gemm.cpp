// GEMM at the shapes the workloads run: the ceiling every other figure is compared with
// (2048^3), W3's, W4's and W7's Dense products, and the per-step recurrent product of W6.
#include <cstdio>

#include "bench.hpp"
#include "eigennet/gemm.hpp"

namespace eigennet::bench {
namespace {

// C (m x n) = op(A) op(B) over depth k, as gemm() runs it.
void product(const char* label, Index m, Index n, Index k, bool trans_a, bool trans_b,
             const Context& ctx) {
  Matrix<float> a = Matrix<float>::Random(trans_a ? k : m, trans_a ? m : k);
  Matrix<float> b = Matrix<float>::Random(trans_b ? n : k, trans_b ? k : n);
  Matrix<float> c(m, n);
  const double s = time_per_call([&] {
    gemm<float>(trans_a, trans_b, m, n, k, a.data(), a.cols(), b.data(), b.cols(), c.data(), n);
  });
  char what[96];
  std::snprintf(what, sizeof what, "%-22s %5ldx%-5ldx%-5ld%s%s", label, long(m), long(n), long(k),
                trans_a ? " At" : "", trans_b ? " Bt" : "");
  report_compute(what, s, 2.0 * m * n * k, ctx);
}

void run(const Context& ctx) {
  product("square", 512, 512, 512, false, false, ctx);
  product("square (the ceiling)", 2048, 2048, 2048, false, false, ctx);
  // Dense forward X W, weight gradient X^T dY, input gradient dY W^T.
  product("W3 layer-1 forward", 128, 256, 784, false, false, ctx);
  product("W3 layer-1 dW", 784, 256, 128, true, false, ctx);
  product("W3 layer-2 dX", 128, 256, 256, false, true, ctx);
  // W7's residual blocks: every hidden Dense is 256 -> 256 at batch 128.
  product("W7 block forward", 128, 256, 256, false, false, ctx);
  product("W7 block dW", 256, 256, 128, true, false, ctx);
  product("W7 block dX", 128, 256, 256, false, true, ctx);
  product("W3P layer-1 forward", 1024, 256, 784, false, false, ctx);
  product("W4 layer-2 forward", 256, 2048, 2048, false, false, ctx);
  product("W4 layer-2 dW", 2048, 2048, 256, true, false, ctx);
  product("W4 layer-2 dX", 256, 2048, 2048, false, true, ctx);
  // W6's per-step recurrent product h R (batch 64, 128 units, 4 gates) and a half batch, as
  // each of two threads runs it.
  product("W6 step h R", 64, 512, 128, false, false, ctx);
  product("W6 step h R, half batch", 32, 512, 128, false, false, ctx);
}

const bool registered = register_group(
    {"gemm", "fp32 products at the workloads' shapes (GFLOP/s = 2 m n k / s)", 10, run});

}  // namespace
}  // namespace eigennet::bench
