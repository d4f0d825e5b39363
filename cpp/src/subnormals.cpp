#include "eigennet/subnormals.hpp"

#include "eigennet/threading.hpp"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define EIGENNET_HAS_MXCSR 1
#endif

namespace eigennet {
namespace {

#ifdef EIGENNET_HAS_MXCSR
constexpr unsigned kFlushBits = 0x8040;  // FTZ (bit 15) and DAZ (bit 6)
unsigned control_word() { return _mm_getcsr(); }
void set_control_word(unsigned word) { _mm_setcsr(word); }
#else
constexpr unsigned kFlushBits = 0;
unsigned control_word() { return 0; }
void set_control_word(unsigned) {}
#endif

// Per calling thread: how many scopes are open, and its control word before the first.
thread_local int depth = 0;
thread_local unsigned outer_word = 0;

// The team's other threads take `word` too (a team reuses its threads from region to region).
void set_team(unsigned word) {
  const int threads = get_num_threads();
  if (threads <= 1 || kFlushBits == 0) return;
#pragma omp parallel num_threads(threads)
  set_control_word(word);
}

}  // namespace

FlushSubnormalsScope::FlushSubnormalsScope() : saved_(control_word()) {
  if (depth++ == 0) {
    outer_word = saved_;
    set_control_word(saved_ | kFlushBits);
    set_team(saved_ | kFlushBits);
  } else {
    set_control_word(saved_ | kFlushBits);
  }
}

FlushSubnormalsScope::~FlushSubnormalsScope() {
  if (--depth == 0) set_team(outer_word);
  set_control_word(saved_);
}

CallerFloatEnvironment::CallerFloatEnvironment() : inside_(control_word()) {
  if (depth > 0) set_control_word(outer_word);
}

CallerFloatEnvironment::~CallerFloatEnvironment() { set_control_word(inside_); }

}  // namespace eigennet
