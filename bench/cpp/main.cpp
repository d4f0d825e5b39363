// C++ microbenchmarks of the core, one group per layer family (bench_*.cpp).
// Build: cmake -S . -B build/bench -G Ninja -DEIGENNET_BUILD_BENCH=ON && ninja -C build/bench
// Run:   build/bench/eigennet_bench [threads] [group[,group...]]   (default: 2 threads, all)
//        build/bench/eigennet_bench --list
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>

#include "bench.hpp"
#include "eigennet/gemm.hpp"
#include "eigennet/threading.hpp"

namespace eigennet::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kSecondsPerRepeat = 0.08;
constexpr int kRepeats = 5;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<Group>& registry() {
  static std::vector<Group> all;  // function-local: safe whatever the static init order
  return all;
}

// Ceiling every compute-bound figure is compared with: the largest product this build runs.
double measure_gemm_ceiling() {
  const Index n = 2048;
  Matrix<float> a = Matrix<float>::Random(n, n), b = Matrix<float>::Random(n, n), c(n, n);
  const double s = time_per_call(
      [&] { gemm<float>(false, false, n, n, n, a.data(), n, b.data(), n, c.data(), n); });
  return 2.0 * n * n * n / s / 1e9;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

// The 1-minute load average (other processes on the cores skew every figure), or -1.
double load_average() {
  double load = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

void usage(const char* program) {
  std::printf("usage: %s [threads] [group[,group...]]   (default: 2 threads, every group)\n",
              program);
  std::printf("       %s --list\n\ngroups:\n", program);
  for (const auto& g : groups()) std::printf("  %-14s %s\n", g.name.c_str(), g.summary.c_str());
}

}  // namespace

bool register_group(Group group) {
  registry().push_back(std::move(group));
  return true;
}

std::vector<Group> groups() {
  auto all = registry();
  std::sort(all.begin(), all.end(),
            [](const Group& a, const Group& b) { return a.order < b.order; });
  return all;
}

double time_per_call(const std::function<void()>& fn) {
  fn();  // warm-up: sizes workspaces
  auto t0 = Clock::now();
  fn();
  const double once = seconds_since(t0);
  const int calls = std::max(1, static_cast<int>(kSecondsPerRepeat / std::max(once, 1e-9)));
  std::vector<double> repeats;
  for (int r = 0; r < kRepeats; ++r) {
    t0 = Clock::now();
    for (int i = 0; i < calls; ++i) fn();
    repeats.push_back(seconds_since(t0) / calls);
  }
  return median(repeats);
}

double time_per_call(const std::function<void()>& setup, const std::function<void()>& fn) {
  setup();
  fn();  // warm-up
  auto t0 = Clock::now();
  setup();
  fn();
  const double once = seconds_since(t0);  // calibrates the calls per repeat, setup included
  const int calls = std::max(1, static_cast<int>(kSecondsPerRepeat / std::max(once, 1e-9)));
  std::vector<double> repeats;
  for (int r = 0; r < kRepeats; ++r) {
    double total = 0;
    for (int i = 0; i < calls; ++i) {
      setup();
      t0 = Clock::now();
      fn();
      total += seconds_since(t0);
    }
    repeats.push_back(total / calls);
  }
  return median(repeats);
}

std::vector<float> random_vector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

void randomize_parameters(Layer<float>& layer, float scale, unsigned seed) {
  const auto w = random_vector(static_cast<size_t>(layer.param_count()), seed);
  std::transform(w.begin(), w.end(), layer.params(), [scale](float v) { return scale * v; });
}

void report_compute(const std::string& what, double seconds, double flops, const Context& ctx) {
  const double gflops = flops / seconds / 1e9;
  std::printf("  %-52s %11.1f us %8.1f GFLOP/s %5.1f%% of GEMM\n", what.c_str(), seconds * 1e6,
              gflops, 100 * gflops / ctx.gemm_ceiling);
}

void report_memory(const std::string& what, double seconds, double bytes, double elements) {
  std::printf("  %-52s %11.1f us %8.2f GB/s    %7.3f ns/elem\n", what.c_str(), seconds * 1e6,
              bytes / seconds / 1e9, seconds * 1e9 / elements);
}

void report_heading(const std::string& text) { std::printf("%s\n", text.c_str()); }

LayerTimes time_layer(Layer<float>& layer, Index batch, bool needs_grad_x,
                      const std::vector<float>* input) {
  const Index in = shape_size(layer.input_shape()), out = shape_size(layer.output_shape());
  const auto x = input ? *input : random_vector(static_cast<size_t>(batch * in), 2);
  if (static_cast<Index>(x.size()) != batch * in)
    throw std::logic_error("time_layer: input size does not match the layer");
  std::vector<float> y(static_cast<size_t>(batch * out)), dy(y.size()), dx(x.size()),
      grad(static_cast<size_t>(layer.param_count()));
  const auto dy0 = random_vector(dy.size(), 3);
  ConstMatrixMap<float> xm(x.data(), batch, in);
  MatrixMap<float> ym(y.data(), batch, out);
  MatrixMap<float> dxm(dx.data(), batch, in);
  LayerTimes t{};
  t.forward = time_per_call([&] { layer.forward(xm, ym, true); });
  t.backward = time_per_call(
      [&] {
        layer.forward(xm, ym, true);
        std::copy(dy0.begin(), dy0.end(), dy.begin());
      },
      [&] {
        layer.backward(xm, ConstMatrixMap<float>(y.data(), batch, out),
                       MatrixMap<float>(dy.data(), batch, out),
                       grad.empty() ? nullptr : grad.data(), needs_grad_x ? &dxm : nullptr);
      });
  return t;
}

}  // namespace eigennet::bench

int main(int argc, char** argv) {
  using namespace eigennet::bench;
  if (argc > 1 && (std::string(argv[1]) == "--list" || std::string(argv[1]) == "--help" ||
                   std::string(argv[1]) == "-h")) {
    usage(argv[0]);
    return 0;
  }
  Context ctx;
  ctx.threads = argc > 1 ? std::atoi(argv[1]) : 2;
  if (ctx.threads < 1) {
    usage(argv[0]);
    return 2;
  }
  const auto wanted = argc > 2 ? split(argv[2], ',') : std::vector<std::string>{};
  const auto all = groups();
  for (const auto& name : wanted)
    if (std::none_of(all.begin(), all.end(), [&](const Group& g) { return g.name == name; })) {
      std::fprintf(stderr, "unknown group '%s'\n", name.c_str());
      usage(argv[0]);
      return 2;
    }
  eigennet::set_num_threads(ctx.threads);
  ctx.gemm_ceiling = measure_gemm_ceiling();
  std::printf(
      "eigennet microbenchmarks, %d thread(s); fp32 GEMM ceiling (2048^3) %.1f GFLOP/s; "
      "load average %.2f\n",
      ctx.threads, ctx.gemm_ceiling, load_average());
  for (const auto& g : all) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), g.name) == wanted.end())
      continue;
    std::printf("\n[%s] %s\n", g.name.c_str(), g.summary.c_str());
    g.run(ctx);
    std::fflush(stdout);
  }
  // Measured again: when it moved, other processes changed the machine during the run.
  std::printf("\nat the end: GEMM ceiling %.1f GFLOP/s, load average %.2f\n",
              measure_gemm_ceiling(), load_average());
  return 0;
}
