// Counter-based random numbers: value i of draw k under a seed is a pure function of
// (seed, k, i), so results do not depend on how work is split between threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

namespace eigennet {

inline uint64_t mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits (exact in float and double).
inline float uniform01(uint64_t seed, uint64_t draw, uint64_t index) {
  const uint64_t bits = mix64(seed ^ mix64(draw * 0x9E3779B97F4A7C15ULL + index));
  return float(bits >> 40) * (1.0f / 16777216.0f);
}

// A layer's random stream: (seed, draws so far) decides every later draw. Copies share it, so
// every call of one layer (each network's copy, see Layer::clone) draws from the one stream,
// as a Keras layer's SeedGenerator; the counter is atomic because two networks sharing the
// layer may run in two threads.
class RandomStream {
 public:
  explicit RandomStream(uint64_t seed) : state_(std::make_shared<State>(seed)) {}
  uint64_t seed() const { return state_->seed; }
  uint64_t next_draw() { return state_->draws++; }
  std::pair<uint64_t, uint64_t> state() const { return {state_->seed, state_->draws}; }
  void set_state(std::pair<uint64_t, uint64_t> state) {
    state_->seed = state.first;
    state_->draws = state.second;
  }

 private:
  struct State {
    explicit State(uint64_t s) : seed(s) {}
    std::atomic<uint64_t> seed, draws{0};
  };
  std::shared_ptr<State> state_;
};

}  // namespace eigennet
