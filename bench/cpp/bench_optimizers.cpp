// One step of every optimizer of the core (cpp/include/eigennet/optimizers.hpp: SGD plain,
// with momentum, Nesterov; Adagrad; RMSprop plain, with momentum, centered; Adam, AMSGrad,
// AdamW; and Adam with each kind of gradient clipping) over the weight tensors of W2's, W3's
// and W4's models (91, 269k and 6.3M parameters), laid out as the trainer lays them out.
// Memory-bound: GB/s of the least traffic (parameters and slots read and written, gradient
// read) and ns per parameter.
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

#include "bench.hpp"
#include "eigennet/optimizers.hpp"

namespace eigennet::bench {
namespace {

// A model's weight tensors in one flat parameter and one flat gradient buffer.
struct Model {
  const char* label;
  std::vector<float> params, grads;
  std::vector<Segment<float>> segments;

  Model(const char* name, const std::vector<Index>& widths) : label(name) {
    std::vector<Index> sizes;
    for (size_t i = 1; i < widths.size(); ++i) {
      sizes.push_back(widths[i - 1] * widths[i]);  // kernel
      sizes.push_back(widths[i]);                  // bias
    }
    Index total = 0;
    for (Index s : sizes) total += s;
    params = random_vector(static_cast<size_t>(total), 4);
    grads = random_vector(static_cast<size_t>(total), 5);
    Index offset = 0;
    for (Index s : sizes) {
      segments.push_back({params.data() + offset, s, offset});
      offset += s;
    }
  }
  Index size() const { return static_cast<Index>(params.size()); }
};

using Factory = std::function<std::unique_ptr<Optimizer<float>>()>;

void step(const char* name, const Factory& make, Model& model) {
  auto opt = make();
  // Clipping scales the gradient in place: step a copy, refreshed untimed before each step.
  const std::vector<float> grads = model.grads;
  const double s = time_per_call([&] { model.grads = grads; },
                                 [&] { opt->step(model.segments, model.grads.data()); });
  const double n = double(model.size());
  const double slots = double(opt->slot_names().size());
  char what[96];
  std::snprintf(what, sizeof what, "%-24s %-3s n=%-8ld", name, model.label, long(model.size()));
  report_memory(what, s, 4.0 * n * (3 + 2 * slots), n);
}

OptimizerConfig rate(double learning_rate) {
  OptimizerConfig c;
  c.learning_rate = learning_rate;
  return c;
}

void run(const Context&) {
  OptimizerConfig adamw = rate(1e-3), clipnorm = rate(1e-3), global = rate(1e-3),
                  clipvalue = rate(1e-3);
  adamw.weight_decay = 0.004;  // Keras AdamW's default
  clipnorm.clipnorm = 1;
  global.global_clipnorm = 1;
  clipvalue.clipvalue = 0.5;
  const std::vector<std::pair<const char*, Factory>> optimizers = {
      {"SGD", [] { return make_sgd<float>(rate(0.01), {0, false}); }},
      {"SGD momentum", [] { return make_sgd<float>(rate(0.01), {0.9, false}); }},
      {"SGD Nesterov", [] { return make_sgd<float>(rate(0.01), {0.9, true}); }},
      {"Adagrad", [] { return make_adagrad<float>(rate(0.01), {}); }},
      {"RMSprop", [] { return make_rmsprop<float>(rate(1e-3), {}); }},
      {"RMSprop momentum", [] { return make_rmsprop<float>(rate(1e-3), {0.9, 0.9, 1e-7, false}); }},
      {"RMSprop centered", [] { return make_rmsprop<float>(rate(1e-3), {0.9, 0, 1e-7, true}); }},
      {"RMSprop mom+centered",
       [] { return make_rmsprop<float>(rate(1e-3), {0.9, 0.9, 1e-7, true}); }},
      {"Adam", [] { return make_adam<float>(rate(1e-3), {}); }},
      {"Adam amsgrad", [] { return make_adam<float>(rate(1e-3), {0.9, 0.999, 1e-7, true}); }},
      {"AdamW", [adamw] { return make_adam<float>(adamw, {}); }},
      {"Adam clipnorm", [clipnorm] { return make_adam<float>(clipnorm, {}); }},
      {"Adam global_clipnorm", [global] { return make_adam<float>(global, {}); }},
      {"Adam clipvalue", [clipvalue] { return make_adam<float>(clipvalue, {}); }},
  };
  Model w2("W2", {2, 10, 5, 1}), w3("W3", {784, 256, 256, 10}), w4("W4", {1024, 2048, 2048, 10});
  for (Model* model : {&w2, &w3, &w4})
    for (const auto& [name, make] : optimizers) step(name, make, *model);
}

const bool registered = register_group(
    {"optimizers", "One step of every optimizer (GB/s of params, grads, slots; ns/param)", 100,
     run});

}  // namespace
}  // namespace eigennet::bench
