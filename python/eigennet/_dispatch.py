"""Chooses the native core's instruction-set variant at import and registers it as eigennet._core.

The core is built once per level (eigennet/_core_baseline, _core_v3, _core_v4, and _core_native
in a source build that asked for it). Importing a variant the CPU cannot run dies with SIGILL, so
nothing is tried and caught: the baseline-compiled probe (eigennet/_cpuprobe) says which levels
the CPU and OS can run, and only then is one variant imported. `EIGENNET_ISA` overrides the
choice; a value that cannot work raises ImportError before any variant is loaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

LEVELS = ("baseline", "v3", "v4")  # least to most capable; the probe reports one of them
NATIVE = "native"  # -march=native: built for the build machine, preferred when present
VARIANTS = (*LEVELS, NATIVE)
_ISA_HELP = "baseline = x86-64 (SSE2), v3 = AVX2+FMA, v4 = AVX-512"


def built_variants() -> list[str]:
    """The variants present in this installation, least capable first."""
    return [v for v in VARIANTS if importlib.util.find_spec(f"eigennet._core_{v}") is not None]


def cpu_level() -> str:
    """The most capable level this CPU and OS can run ("baseline", "v3" or "v4").

    `EIGENNET_PROBE_LIMIT` (a private test hook) caps it, to test a CPU without AVX-512 here.
    """
    from eigennet import _cpuprobe

    level = _cpuprobe.best_level()
    limit = os.environ.get("EIGENNET_PROBE_LIMIT", "").strip().lower()
    if limit:
        if limit not in LEVELS:
            raise ImportError(f"EIGENNET_PROBE_LIMIT={limit!r}: use one of {', '.join(LEVELS)}")
        level = LEVELS[min(LEVELS.index(level), LEVELS.index(limit))]
    return level


def _runnable(variant: str, level: str) -> bool:
    # A native build is made for the machine it runs on (a source build's choice).
    return variant == NATIVE or LEVELS.index(variant) <= LEVELS.index(level)


def choose(requested: str, built: list[str], level: str) -> str:
    """The variant to import: `requested` (EIGENNET_ISA, "" for automatic) if it can work,
    else the most capable built variant the CPU can run. Raises ImportError with what to do."""
    built_text = ", ".join(built) or "none"
    if requested:
        if requested not in VARIANTS:
            raise ImportError(
                f"EIGENNET_ISA={requested!r} is not an instruction-set variant of eigennet; use "
                f"one of {', '.join(VARIANTS)} ({_ISA_HELP}) or unset it to choose "
                f"automatically. Built here: {built_text}."
            )
        if requested not in built:
            raise ImportError(
                f"EIGENNET_ISA={requested!r}: that variant of the native core is not built in "
                f"this installation (built: {built_text}). Unset EIGENNET_ISA, pick a built "
                f"variant, or rebuild with EIGENNET_ISA_VARIANTS including {requested!r}."
            )
        if not _runnable(requested, level):
            raise ImportError(
                f"EIGENNET_ISA={requested!r}: this CPU cannot run that variant (it runs up to "
                f"{level!r}; {_ISA_HELP}); loading it would crash with an illegal instruction. "
                "Unset EIGENNET_ISA or choose a lower variant."
            )
        return requested
    candidates = [v for v in built if _runnable(v, level)]
    if not candidates:
        raise ImportError(
            f"No variant of eigennet's native core that this CPU can run is installed (built: "
            f"{built_text}; the CPU runs up to {level!r}; {_ISA_HELP}). Reinstall with "
            "EIGENNET_ISA_VARIANTS including baseline (the default builds baseline;v3;v4)."
        )
    return NATIVE if NATIVE in candidates else candidates[-1]


def _load():
    variant = choose(
        os.environ.get("EIGENNET_ISA", "").strip().lower(), built_variants(), cpu_level()
    )
    module = importlib.import_module(f"eigennet._core_{variant}")
    # Every module does `from eigennet import _core`: make that name the chosen variant.
    sys.modules["eigennet._core"] = module
    sys.modules["eigennet"]._core = module
    return variant


CHOSEN = _load()
