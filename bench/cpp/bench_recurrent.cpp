// SimpleRNN, LSTM, GRU and Bidirectional forward and backward, at W6's size (LSTM(128) over
// 50 steps x 32 features, batch 64) and a small one. FLOPs with G gates, u units, in
// features, per sample and step: forward 2*G*u*(in + u) (input and recurrent products);
// backward 2*G*u*(in + 2u) for dK, dR and dh, plus 2*G*u*in for dX unless first layer.
#include <cstdio>
#include <memory>

#include "bench.hpp"
#include "eigennet/layers/bidirectional.hpp"
#include "eigennet/layers/recurrent.hpp"

namespace eigennet::bench {
namespace {

Index gates(CellKind kind) { return kind == CellKind::LSTM ? 4 : kind == CellKind::GRU ? 3 : 1; }

void recurrent(const char* label, Layer<float>& layer, CellKind kind, Index directions, Index batch,
               Index steps, Index in, Index units, bool first_layer, const Context& ctx) {
  layer.build({steps, in});
  randomize_parameters(layer, 0.1f);
  const LayerTimes t = time_layer(layer, batch, !first_layer);
  const double per_step = 2.0 * batch * gates(kind) * units * directions;
  const double fwd = per_step * steps * (in + units);
  const double bwd = per_step * steps * (in + 2 * units + (first_layer ? 0 : in));
  char what[96];
  std::snprintf(what, sizeof what, "%-22s b=%-3ld T=%-3ld %3ld->%-4ld%s", label, long(batch),
                long(steps), long(in), long(units), first_layer ? " (no dx)" : "");
  report_compute(std::string(what) + " fwd", t.forward, fwd, ctx);
  report_compute(std::string(what) + " bwd", t.backward, bwd, ctx);
  std::printf("  %-52s %11.0f samples/s (fwd+bwd)\n", "", batch / (t.forward + t.backward));
}

RecurrentConfig config(CellKind kind, Index units, bool return_sequences = false,
                       bool go_backwards = false) {
  RecurrentConfig c;
  c.kind = kind;
  c.units = units;
  c.return_sequences = return_sequences;
  c.go_backwards = go_backwards;
  return c;
}

void cell(const char* label, const RecurrentConfig& c, Index batch, Index steps, Index in,
          bool first_layer, const Context& ctx) {
  RecurrentLayer<float> layer(c);
  recurrent(label, layer, c.kind, 1, batch, steps, in, c.units, first_layer, ctx);
}

void run(const Context& ctx) {
  const auto lstm = CellKind::LSTM, gru = CellKind::GRU, rnn = CellKind::SimpleRNN;
  cell("W6 LSTM", config(lstm, 128), 64, 50, 32, true, ctx);
  cell("GRU", config(gru, 128), 64, 50, 32, true, ctx);
  cell("SimpleRNN", config(rnn, 128), 64, 50, 32, true, ctx);
  cell("LSTM sequences", config(lstm, 128, true), 64, 50, 128, false, ctx);
  cell("GRU sequences", config(gru, 128, true), 64, 50, 128, false, ctx);
  cell("LSTM small", config(lstm, 32), 32, 20, 16, true, ctx);
  {
    RecurrentConfig c = config(lstm, 128);
    c.dropout = c.recurrent_dropout = 0.2;
    cell("LSTM dropout 0.2/0.2", c, 64, 50, 32, true, ctx);
  }
  {
    Bidirectional<float> layer(config(lstm, 64), config(lstm, 64, false, true), MergeMode::Concat);
    recurrent("Bidirectional LSTM", layer, lstm, 2, 64, 50, 32, 64, true, ctx);
  }
  {
    Bidirectional<float> layer(config(gru, 64, true), config(gru, 64, true, true), MergeMode::Sum);
    recurrent("Bidirectional GRU sum", layer, gru, 2, 64, 50, 128, 64, false, ctx);
  }
}

const bool registered = register_group(
    {"recurrent", "SimpleRNN / LSTM / GRU / Bidirectional forward / backward", 50, run});

}  // namespace
}  // namespace eigennet::bench
