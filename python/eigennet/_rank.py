"""Which process writes files and progress output: rank 0 under MPI, this one otherwise.

Kept apart from `eigennet.distributed` so callbacks and saving can ask without importing mpi4py:
MPI is in use exactly when `eigennet.distributed` has been imported.
"""

from __future__ import annotations

import sys


def is_primary() -> bool:
    """True unless this process is an MPI rank other than 0 (True without MPI)."""
    distributed = sys.modules.get("eigennet.distributed")
    rank_of = getattr(distributed, "rank", None)
    return rank_of is None or rank_of() == 0


def say(message: str) -> None:
    """Prints a callback's verbose message on the primary process only."""
    if is_primary():
        print(message, flush=True)
