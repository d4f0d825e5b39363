// Lets a long native loop notice Ctrl-C. The Python binding installs a hook that checks for
// pending signals and throws; batch loops call poll_interrupt(), which runs the hook at most
// every 100 ms (otherwise it costs one clock read).
#pragma once

#include <functional>

namespace eigennet {

void set_interrupt_hook(std::function<void()> hook);
void poll_interrupt();

}  // namespace eigennet
