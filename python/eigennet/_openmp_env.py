"""OpenMP settings that must be in the environment before the native core loads libgomp.

GNU OpenMP lets a thread that waits at a barrier spin for about 300k iterations before it
sleeps. When another process needs the cores, the spinning thread holds a core that the
thread it waits for needs, and every parallel step stalls: W3 at 2 threads with one busy
neighbour process trained at 14-18k samples/s with the default and 34-36k with
GOMP_SPINCOUNT=10000, which costs nothing measurable on idle cores (70-82k samples/s either
way; 2026-11-22). A value the user set (GOMP_SPINCOUNT or OMP_WAIT_POLICY) is left alone.
"""

import os

if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "10000"
