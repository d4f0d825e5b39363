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


def distributed_job():
    """The eigennet.distributed module when this process is one of several MPI ranks, else
    None."""
    distributed = sys.modules.get("eigennet.distributed")
    size_of = getattr(distributed, "size", None)
    return distributed if size_of is not None and size_of() > 1 else None


def say(message: str) -> None:
    """Prints a callback's verbose message on the primary process only."""
    if is_primary():
        print(message, flush=True)
