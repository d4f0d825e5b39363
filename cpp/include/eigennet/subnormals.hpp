// Subnormal floats (below 1.2e-38 in float) cost x86 cores a microcode assist of about a
// hundred cycles per operation. Training on data in [0, 1) (pixels scaled as Keras's examples
// do) fills Adam's second moments and small gradients with them, and ran at half speed
// (docs/benchmarks.md). As TensorFlow does, the core flushes them to zero (MXCSR's FTZ and
// DAZ) while it trains, evaluates and predicts: on the calling thread and the OpenMP threads
// of its team, restored when the outermost scope ends and, on the calling thread, while a
// Python callback runs. Elsewhere (eager ops, other libraries) IEEE subnormals are kept.
#pragma once

namespace eigennet {

class FlushSubnormalsScope {
 public:
  FlushSubnormalsScope();
  ~FlushSubnormalsScope();
  FlushSubnormalsScope(const FlushSubnormalsScope&) = delete;
  FlushSubnormalsScope& operator=(const FlushSubnormalsScope&) = delete;

 private:
  unsigned saved_ = 0;  // the calling thread's control word on entry
};

// Inside a FlushSubnormalsScope: the calling thread's control word as it was before the
// outermost scope, for the duration of a call into Python (NumPy in a callback sees IEEE
// subnormals).
class CallerFloatEnvironment {
 public:
  CallerFloatEnvironment();
  ~CallerFloatEnvironment();
  CallerFloatEnvironment(const CallerFloatEnvironment&) = delete;
  CallerFloatEnvironment& operator=(const CallerFloatEnvironment&) = delete;

 private:
  unsigned inside_ = 0;
};

}  // namespace eigennet
