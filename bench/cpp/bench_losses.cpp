// Every loss's value and gradient (Loss::value_and_grad) at the workloads' output sizes
// (W1's single sigmoid, W3/W4's 10 classes, W6's regression output) and a large one.
// Memory-bound: GB/s of the prediction and target read and the gradient written, and ns per
// predicted value.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "bench.hpp"
#include "eigennet/losses.hpp"

namespace eigennet::bench {
namespace {

struct LossCase {
  const char* label;
  LossConfig config;
};

// Targets and predictions in each loss's domain: probabilities (rows summing to 1 for the
// categorical ones) unless from_logits, integer labels for the sparse loss.
void loss(const LossCase& c, Index rows, Index cols) {
  const Loss<float> l(c.config);
  const bool sparse = l.sparse();
  const bool probabilities =
      !c.config.from_logits && (c.config.kind == LossKind::BinaryCrossentropy ||
                                c.config.kind == LossKind::CategoricalCrossentropy || sparse);
  auto pred = random_vector(static_cast<size_t>(rows * cols), 5);
  auto target = random_vector(static_cast<size_t>(rows * l.target_cols(cols)), 6);
  if (probabilities)
    for (Index r = 0; r < rows; ++r) {
      float* p = pred.data() + r * cols;
      float sum = 0;
      for (Index j = 0; j < cols; ++j) sum += p[j] = std::exp(p[j]);
      for (Index j = 0; j < cols; ++j) p[j] /= sum;
    }
  if (sparse)
    for (Index r = 0; r < rows; ++r) target[size_t(r)] = float(r % cols);
  else if (c.config.kind == LossKind::BinaryCrossentropy)
    for (auto& t : target) t = t > 0 ? 1.f : 0.f;
  else if (c.config.kind == LossKind::CategoricalCrossentropy)
    for (Index r = 0; r < rows; ++r)
      for (Index j = 0; j < cols; ++j) target[size_t(r * cols + j)] = float(j == r % cols);
  std::vector<float> grad(pred.size());
  const ConstMatrixMap<float> y_true(target.data(), rows, l.target_cols(cols));
  const ConstMatrixMap<float> y_pred(pred.data(), rows, cols);
  double value = 0;
  const double s = time_per_call([&] {
    value += l.value_and_grad(y_true, y_pred, nullptr, MatrixMap<float>(grad.data(), rows, cols));
  });
  const double values = double(rows) * double(cols);
  char what[96];
  std::snprintf(what, sizeof what, "%-32s %5ldx%-4ld", c.label, long(rows), long(cols));
  report_memory(what, s, 4.0 * (2 * values + double(target.size())), values);
  if (!std::isfinite(value)) std::printf("  (loss is not finite)\n");
}

LossConfig config(LossKind kind, bool from_logits = false) {
  LossConfig c;
  c.kind = kind;
  c.from_logits = from_logits;
  return c;
}

void run(const Context&) {
  const std::vector<LossCase> regression = {
      {"mean_squared_error", config(LossKind::MeanSquaredError)},
      {"mean_absolute_error", config(LossKind::MeanAbsoluteError)},
      {"huber", config(LossKind::Huber)},
  };
  const std::vector<LossCase> binary = {
      {"binary_crossentropy", config(LossKind::BinaryCrossentropy)},
      {"binary_crossentropy logits", config(LossKind::BinaryCrossentropy, true)},
  };
  const std::vector<LossCase> classes = {
      {"categorical_crossentropy", config(LossKind::CategoricalCrossentropy)},
      {"categorical_crossentropy logits", config(LossKind::CategoricalCrossentropy, true)},
      {"sparse_categorical_ce", config(LossKind::SparseCategoricalCrossentropy)},
      {"sparse_categorical_ce logits", config(LossKind::SparseCategoricalCrossentropy, true)},
  };
  for (const auto& c : binary) loss(c, 1, 1);       // W1, W2
  for (const auto& c : regression) loss(c, 64, 1);  // W6
  for (const auto& c : binary) loss(c, 128, 1);
  for (const auto& c : classes) loss(c, 128, 10);  // W3
  for (const auto& c : classes) loss(c, 256, 10);  // W4
  for (const auto& c : regression) loss(c, 4096, 100);
  for (const auto& c : classes) loss(c, 4096, 100);
}

const bool registered =
    register_group({"losses", "Every loss's value + gradient (GB/s, ns per prediction)", 90, run});

}  // namespace
}  // namespace eigennet::bench
