// The microbenchmark harness shared by every group: timing, random data, one-line reports and
// the registry through which each bench_*.cpp file adds its group.
//
// Compute-bound lines report GFLOP/s and the percentage of the fp32 GEMM ceiling (2048^3,
// measured at the start of every run with the same thread count); FLOPs are counted honestly,
// 2*m*n*k per product, nothing for the element-wise epilogues. Memory-bound lines report GB/s
// (bytes each call must read and write at least once) and ns per element.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "eigennet/layer.hpp"
#include "eigennet/layers/window.hpp"  // shape_string
#include "eigennet/tensor.hpp"

namespace eigennet::bench {

struct Context {
  int threads = 1;
  double gemm_ceiling = 0;  // GFLOP/s of the 2048^3 fp32 product
};

// A group of benchmarks run by `eigennet_bench [threads] [group]`.
struct Group {
  std::string name;
  std::string summary;
  int order;  // position in the full run and in --list
  std::function<void(const Context&)> run;
};

// Called once per group from a static initializer in its bench_*.cpp file.
bool register_group(Group group);
// The registered groups, in `order`.
std::vector<Group> groups();

// Median seconds per call of fn over 5 repeats of enough calls to fill ~0.1 s, after a warm-up
// call (which sizes the workspaces).
double time_per_call(const std::function<void()>& fn);
// The same, timing only fn: setup runs untimed before every call (e.g. the forward pass and a
// fresh dL/dy before a backward pass that overwrites them).
double time_per_call(const std::function<void()>& setup, const std::function<void()>& fn);

// Standard normal values (seeded, so every run times the same data).
std::vector<float> random_vector(size_t n, unsigned seed);
// Fills a built layer's parameters with scaled standard normal values.
void randomize_parameters(Layer<float>& layer, float scale, unsigned seed = 1);

// "fwd", "bwd", "step" ... lines: `what` is padded to one column so the figures line up.
void report_compute(const std::string& what, double seconds, double flops, const Context& ctx);
void report_memory(const std::string& what, double seconds, double bytes, double elements);
// A section heading inside a group.
void report_heading(const std::string& text);

// Forward, then backward, of a built layer on a random (batch, input) matrix (input values
// from make_input when given, e.g. integer indices). The backward is timed alone, after an
// untimed forward and a fresh copy of dL/dy. grad_x is skipped for the first layer of a
// network (needs_grad_x false), as the trainer does.
struct LayerTimes {
  double forward, backward;
};
LayerTimes time_layer(Layer<float>& layer, Index batch, bool needs_grad_x,
                      const std::vector<float>* input = nullptr);

}  // namespace eigennet::bench
