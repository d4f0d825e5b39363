// C++ microbenchmarks of the core: GEMM ceiling, Dense, Conv2D and pooling, recurrent layers
// (LSTM, GRU, SimpleRNN) forward+backward, optimizer steps.
// Build: cmake -S . -B build-bench -DEIGENNET_BUILD_BENCH=ON && cmake --build build-bench
// Run:   ./build-bench/eigennet_bench [threads] [group]   (median of repeats; GFLOP/s vs the GEMM
//        ceiling; group = dense | conv | recurrent | optimizer runs only that group)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "eigennet/gemm.hpp"
#include "eigennet/layers/conv.hpp"
#include "eigennet/layers/dense.hpp"
#include "eigennet/layers/pooling.hpp"
#include "eigennet/layers/recurrent.hpp"
#include "eigennet/optimizers.hpp"
#include "eigennet/threading.hpp"

using namespace eigennet;

namespace {

// Median seconds per call of fn, over enough calls to fill ~0.2 s per repeat.
double time_per_call(const std::function<void()>& fn) {
  using clock = std::chrono::steady_clock;
  fn();  // warm-up: sizes workspaces
  auto t0 = clock::now();
  fn();
  const double once = std::chrono::duration<double>(clock::now() - t0).count();
  const int calls = std::max(1, static_cast<int>(0.2 / std::max(once, 1e-9)));
  std::vector<double> repeats;
  for (int r = 0; r < 5; ++r) {
    t0 = clock::now();
    for (int i = 0; i < calls; ++i) fn();
    repeats.push_back(std::chrono::duration<double>(clock::now() - t0).count() / calls);
  }
  std::sort(repeats.begin(), repeats.end());
  return repeats[repeats.size() / 2];
}

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double gemm_ceiling(Index n) {
  Matrix<float> a = Matrix<float>::Random(n, n), b = Matrix<float>::Random(n, n), c(n, n);
  const double s = time_per_call(
      [&] { gemm<float>(false, false, n, n, n, a.data(), n, b.data(), n, c.data(), n); });
  const double gflops = 2.0 * n * n * n / s / 1e9;
  std::printf("gemm %4ldx%4ldx%4ld            %10.3f ms  %7.1f GFLOP/s\n", long(n), long(n),
              long(n), s * 1e3, gflops);
  return gflops;
}

void dense(Index batch, Index in, Index units, double ceiling) {
  Dense<float> layer(units, Activation::Relu, true);
  layer.build({in});
  auto w = random_vector(static_cast<size_t>(layer.param_count()), 1);
  std::copy(w.begin(), w.end(), layer.params());
  auto x = random_vector(static_cast<size_t>(batch * in), 2);
  std::vector<float> y(static_cast<size_t>(batch * units)), dy(y.size()), dx(x.size()),
      grad(w.size());
  ConstMatrixMap<float> xm(x.data(), batch, in);
  MatrixMap<float> ym(y.data(), batch, units);
  const double fwd = time_per_call([&] { layer.forward(xm, ym, true); });
  const auto dy0 = random_vector(dy.size(), 3);
  const double both = time_per_call([&] {
    layer.forward(xm, ym, true);
    std::copy(dy0.begin(), dy0.end(), dy.begin());
    MatrixMap<float> dxm(dx.data(), batch, in);
    layer.backward(xm, ConstMatrixMap<float>(y.data(), batch, units),
                   MatrixMap<float>(dy.data(), batch, units), grad.data(), &dxm);
  });
  const double flops = 6.0 * batch * in * units;  // forward 2, backward 4 per multiply-add
  std::printf(
      "dense fwd+bwd b=%-4ld %5ld->%-5ld %8.3f ms  %7.1f GFLOP/s  %5.1f%% of GEMM  (fwd %.3f ms)\n",
      long(batch), long(in), long(units), both * 1e3, flops / both / 1e9,
      100 * flops / both / 1e9 / ceiling, fwd * 1e3);
}

// Times forward and forward+backward of a built layer on a random batch; returns seconds of
// forward+backward. grad_x is skipped for the first layer of a network (first_layer).
double layer_timing(Layer<float>& layer, Index batch, bool first_layer, double* fwd_seconds) {
  const Index in = shape_size(layer.input_shape()), out = shape_size(layer.output_shape());
  auto w = random_vector(static_cast<size_t>(layer.param_count()), 1);
  std::transform(w.begin(), w.end(), layer.params(), [](float v) { return 0.1f * v; });
  auto x = random_vector(static_cast<size_t>(batch * in), 2);
  std::vector<float> y(static_cast<size_t>(batch * out)), dy(y.size()), dx(x.size()),
      grad(w.size());
  const auto dy0 = random_vector(dy.size(), 3);
  ConstMatrixMap<float> xm(x.data(), batch, in);
  MatrixMap<float> ym(y.data(), batch, out);
  *fwd_seconds = time_per_call([&] { layer.forward(xm, ym, true); });
  return time_per_call([&] {
    layer.forward(xm, ym, true);
    std::copy(dy0.begin(), dy0.end(), dy.begin());
    MatrixMap<float> dxm(dx.data(), batch, in);
    layer.backward(xm, ConstMatrixMap<float>(y.data(), batch, out),
                   MatrixMap<float>(dy.data(), batch, out), grad.data(),
                   first_layer ? nullptr : &dxm);
  });
}

// Conv2D (relu) on (h, w, c) images; GFLOP/s counts the three products (forward, dK, dX).
void conv2d(Index batch, Index h, Index w, Index c, Index filters, Index k, bool first_layer,
            double ceiling) {
  Conv<float> layer(2, filters, {k, k}, {1, 1}, Padding::Valid, {1, 1}, Activation::Relu, true);
  layer.build({h, w, c});
  double fwd;
  const double both = layer_timing(layer, batch, first_layer, &fwd);
  const Shape& o = layer.output_shape();
  const double product = 2.0 * batch * o[0] * o[1] * filters * k * k * c;
  const double flops = product * (first_layer ? 2 : 3);
  std::printf(
      "conv2d fwd+bwd b=%-3ld %2ldx%2ldx%-2ld k%ld ->%-3ld %s %7.3f ms  %6.1f GFLOP/s  %5.1f%% of "
      "GEMM  (fwd %.3f ms, %.1f GFLOP/s)\n",
      long(batch), long(h), long(w), long(c), long(k), long(filters),
      first_layer ? "(no dx)" : "       ", both * 1e3, flops / both / 1e9,
      100 * flops / both / 1e9 / ceiling, fwd * 1e3, product / fwd / 1e9);
}

void pool2d(const char* name, PoolMode mode, Index batch, Index h, Index w, Index c) {
  Pool<float> layer(2, mode, {2, 2}, {2, 2}, Padding::Valid);
  layer.build({h, w, c});
  double fwd;
  const double both = layer_timing(layer, batch, false, &fwd);
  const double bytes = 4.0 * batch * h * w * c;
  std::printf(
      "%s 2x2 fwd+bwd b=%-3ld %2ldx%2ldx%-3ld %7.3f ms  %6.1f GB/s of input  (fwd %.3f ms)\n", name,
      long(batch), long(h), long(w), long(c), both * 1e3, bytes / both / 1e9, fwd * 1e3);
}

void optimizer(const std::string& name, std::unique_ptr<Optimizer<float>> opt, Index n) {
  auto p = random_vector(static_cast<size_t>(n), 4), g = random_vector(static_cast<size_t>(n), 5);
  std::vector<Segment<float>> segments{{p.data(), n, 0}};
  const double s = time_per_call([&] { opt->step(segments, g.data()); });
  std::printf("%-8s step n=%-9ld %10.4f ms  %7.2f ns/param\n", name.c_str(), long(n), s * 1e3,
              s * 1e9 / n);
}

// A recurrent layer over (batch, steps, in) as the first layer of a model (no input gradient),
// e.g. W6: LSTM(128) over 50 steps x 32 features, batch 64.
void recurrent(CellKind kind, Index batch, Index steps, Index in, Index units, double ceiling) {
  RecurrentConfig config;
  config.kind = kind;
  config.units = units;
  RecurrentLayer<float> layer(config);
  layer.build({steps, in});
  auto w = random_vector(static_cast<size_t>(layer.param_count()), 1);
  for (auto& v : w) v *= 0.1f;
  std::copy(w.begin(), w.end(), layer.params());
  auto x = random_vector(static_cast<size_t>(batch * steps * in), 2);
  std::vector<float> y(static_cast<size_t>(batch * units)), dy(y.size()), grad(w.size());
  ConstMatrixMap<float> xm(x.data(), batch, steps * in);
  MatrixMap<float> ym(y.data(), batch, units);
  const double fwd = time_per_call([&] { layer.forward(xm, ym, true); });
  const auto dy0 = random_vector(dy.size(), 3);
  const double both = time_per_call([&] {
    layer.forward(xm, ym, true);
    std::copy(dy0.begin(), dy0.end(), dy.begin());
    layer.backward(xm, ConstMatrixMap<float>(y.data(), batch, units),
                   MatrixMap<float>(dy.data(), batch, units), grad.data(), nullptr);
  });
  const Index gu = (kind == CellKind::LSTM ? 4 : kind == CellKind::GRU ? 3 : 1) * units;
  // forward: input projection + recurrent product; backward: recurrent dh, dR, dK
  const double flops = 2.0 * batch * steps * gu * (2.0 * in + 3.0 * units);
  std::printf(
      "%-9s fwd+bwd b=%ld T=%ld %ld->%-4ld %8.3f ms  %7.1f GFLOP/s  %5.1f%% of GEMM  (fwd %.3f "
      "ms)  %.0f samples/s\n",
      cell_name(kind), long(batch), long(steps), long(in), long(units), both * 1e3,
      flops / both / 1e9, 100 * flops / both / 1e9 / ceiling, fwd * 1e3, batch / both);
}

// One step's recurrent product alone, (rows, u) x (u, G*u), on one thread.
void step_gemm(Index rows, Index units, Index gu) {
  Matrix<float> h = Matrix<float>::Random(rows, units), r = Matrix<float>::Random(units, gu),
                z(rows, gu);
  const double s = time_per_call([&] {
    gemm<float>(false, false, rows, gu, units, h.data(), units, r.data(), gu, z.data(), gu, true);
  });
  std::printf("step gemm %3ldx%ldx%-4ld            %8.4f ms  %7.1f GFLOP/s\n", long(rows),
              long(units), long(gu), s * 1e3, 2.0 * rows * units * gu / s / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const std::string group = argc > 2 ? argv[2] : "";
  auto runs = [&](const char* name) { return group.empty() || group == name; };
  set_num_threads(threads);
  std::printf("eigennet microbenchmarks, %d thread(s)\n", threads);
  gemm_ceiling(512);
  const double ceiling = gemm_ceiling(2048);
  if (runs("dense")) {
    dense(1, 4, 2, ceiling);
    dense(32, 64, 64, ceiling);
    dense(128, 784, 256, ceiling);
    dense(128, 256, 256, ceiling);
    dense(256, 1024, 2048, ceiling);
    dense(256, 2048, 2048, ceiling);
  }
  if (runs("conv")) {
    // W5's layers at batch 64 (first convolution: no input gradient), then a wider one.
    conv2d(64, 28, 28, 1, 32, 3, true, ceiling);
    conv2d(64, 13, 13, 32, 64, 3, false, ceiling);
    conv2d(32, 32, 32, 64, 64, 3, false, ceiling);
    pool2d("maxpool", PoolMode::Max, 64, 26, 26, 32);
    pool2d("maxpool", PoolMode::Max, 64, 11, 11, 64);
    pool2d("avgpool", PoolMode::Average, 64, 26, 26, 32);
  }
  if (runs("recurrent")) {
    step_gemm(32, 128, 512);
    step_gemm(64, 128, 512);
    recurrent(CellKind::LSTM, 64, 50, 32, 128, ceiling);  // W6
    recurrent(CellKind::GRU, 64, 50, 32, 128, ceiling);
    recurrent(CellKind::LSTM, 32, 20, 16, 32, ceiling);
    recurrent(CellKind::SimpleRNN, 64, 50, 32, 128, ceiling);
  }
  if (runs("optimizer")) {
    for (Index n : {Index(16), Index(100000), Index(4000000)}) {
      optimizer("sgd", make_sgd<float>({0.01}, {0.9, false}), n);
      optimizer("adagrad", make_adagrad<float>({0.01}, {}), n);
      optimizer("rmsprop", make_rmsprop<float>({0.001}, {}), n);
      optimizer("adam", make_adam<float>({0.001}, {}), n);
    }
  }
  return 0;
}
