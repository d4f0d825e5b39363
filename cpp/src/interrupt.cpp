#include "eigennet/interrupt.hpp"

#include <chrono>

namespace eigennet {
namespace {

std::function<void()>& hook() {
  static std::function<void()> h;
  return h;
}

thread_local std::chrono::steady_clock::time_point next_poll;

}  // namespace

void set_interrupt_hook(std::function<void()> h) { hook() = std::move(h); }

void poll_interrupt() {
  if (!hook()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_poll) return;
  next_poll = now + std::chrono::milliseconds(100);
  hook()();
}

}  // namespace eigennet
