"""A Keras-3-style text progress bar.

Output format (``verbose=1``)::

    12/50 ━━━━━━━━━━━━━━━━━━━━ 1s 20ms/step - accuracy: 0.5000 - loss: 0.6931

On a terminal (or in a Jupyter kernel) the line is redrawn in place with ``\\r`` at most once
every ``interval`` seconds, with the same colours as Keras. When standard output is not a
terminal (a pipe, a file, a captured stream) only the final line of the bar is written, once,
without colour codes, so logs stay readable. ``verbose=2`` writes one line when the bar
finishes::

    50/50 - 1s - 20ms/step - accuracy: 0.5000 - loss: 0.6931

Metric values are displayed as given ("stateful"): a training loop passes running averages
it already computed. For compatibility with ``keras.utils.Progbar`` a caller may instead
name the metrics that the bar should average over steps itself: with ``stateful_metrics``
every *other* metric is averaged, with ``stateless_metrics`` exactly the listed ones are.
(Keras averages every metric when neither is given; here nothing is averaged then, since a
Keras-style ``fit`` hands the bar running averages, and the final line is the same either
way.)

``update`` is cheap when nothing is drawn: it stores the values and returns before any
formatting, so it can be called after every batch.
"""

import math
import os
import sys
import time

__all__ = ["Progbar"]

_clock = time.monotonic

_BOLD = "\x1b[1m"
_GREEN = "\x1b[32m"
_WHITE = "\x1b[37m"
_RESET = "\x1b[0m"
_BAR_CHAR = "\u2501"  # '━'


def _stdout_is_live():
    """True when stdout can redraw a line in place (a terminal or a Jupyter kernel)."""
    stream = sys.stdout
    try:
        if stream is not None and stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def write(message, flush=True):
    """Writes `message` to stdout (one call per line drawn) and, unless told not to, flushes
    it."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.write(message)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        message = message.replace(_BAR_CHAR, "=")
        stream.write(message.encode(encoding, errors="replace").decode(encoding))
    if flush:
        flush_stdout()


def flush_stdout():
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError, OSError):
        pass


def _format_value(value):
    if type(value) is float:  # the usual case, first
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    if isinstance(value, str):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        try:  # an array of values: show its mean, as Keras does
            import numpy as np

            value = float(np.mean(value))
        except Exception:  # noqa: BLE001 - anything else is shown as its str()
            return str(value)
    if abs(value) > 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


def _format_step_time(seconds, unit_name):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(seconds):
    whole = int(seconds)
    if seconds > 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    if seconds > 60:
        return f"{whole // 60}:{whole % 60:02d}"
    return f"{whole}s"


class Progbar:
    """Displays a progress bar.

    Args:
        target: total number of steps expected, or None if unknown.
        width: width of the bar itself, in characters.
        verbose: 0 (silent), 1 (progress bar), 2 (one line when finished).
        interval: minimum time in seconds between two redraws of the bar on a terminal.
        stateful_metrics: names of metrics shown as given; every other metric is then
            averaged over steps by the bar. If neither this nor ``stateless_metrics`` is
            given, every metric is shown as given.
        stateless_metrics: names of metrics the bar averages over steps; every other
            metric is shown as given. Do not pass both.
        unit_name: name of one step in the time display ("step", "sample", ...).
    """

    def __init__(
        self,
        target,
        width=20,
        verbose=1,
        interval=0.05,
        stateful_metrics=None,
        stateless_metrics=None,
        unit_name="step",
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` or `stateless_metrics` can be provided."
            )
        self.target = target
        self.width = int(width)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else None
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        # True when some metric must be averaged by the bar (slower path in update()).
        self._averaging = stateful_metrics is not None or bool(self.stateless_metrics)

        self._dynamic_display = _stdout_is_live()
        # Intermediate redraws only make sense on a live terminal with verbose=1.
        self._live = verbose == 1 and self._dynamic_display
        self._bar_key = self._bar_drawn = None  # the last bar drawn, kept for the next epoch
        # Whether a finished bar's line is flushed at once (a logger printing many short
        # epochs flushes them itself, less often).
        self._flush_final = True

        self._restart()

    def _restart(self):
        """Starts the bar over (a new epoch of the same progress logger)."""
        self._values = {}  # name -> latest value, in first-seen order
        self._sums = {}  # name -> [weighted sum, weight] for metrics averaged by the bar
        self._seen_so_far = 0
        self._start = _clock()
        self._last_update = float("-inf")
        self._first_time = None  # time and step count of the first update with current > 0
        self._first_step = 0
        self._prev_total_width = 0

    # -- public API ---------------------------------------------------------------------------

    def update(self, current, values=None, finalize=None):
        """Updates the progress bar.

        Args:
            current: index of the current step (number of steps done).
            values: list of ``(name, value)`` pairs, or a dict.
            finalize: whether this is the last update; defaults to ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if values:
            if self._averaging:
                self._accumulate(current, values, finalize)
            else:
                self._values.update(values)
        if self._first_time is None and current:
            self._first_time = _clock()
            self._first_step = current
        self._seen_so_far = current
        if not finalize:
            if not self._live:
                return
            now = _clock()
            if now - self._last_update < self.interval:
                return
        else:
            if not self.verbose:
                return
            now = _clock()
        self._draw(current, now, finalize)
        self._last_update = now

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)

    # -- internals ----------------------------------------------------------------------------

    def _is_averaged(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return self.stateless_metrics is not None and name in self.stateless_metrics

    def _accumulate(self, current, values, finalize):
        items = values.items() if isinstance(values, dict) else values
        weight = max(current - self._seen_so_far, 1)
        for name, value in items:
            self._values[name] = value
            if not self._is_averaged(name):
                continue
            if finalize:
                # The last update carries the value for the whole run (as in Keras).
                self._sums[name] = [value, 1]
            elif name in self._sums:
                entry = self._sums[name]
                entry[0] = entry[0] + value * weight
                entry[1] += weight
            else:
                self._sums[name] = [value * weight, weight]

    def _step_time(self, current, now):
        if not current:
            return 0.0
        # Leave out the first step (it includes warm-up) when later steps are known.
        if self._first_time is not None and current > self._first_step:
            return (now - self._first_time) / (current - self._first_step)
        return (now - self._start) / current

    def _metrics_text(self):
        if not self._sums:
            return "".join([f" - {name}: {_format_value(v)}" for name, v in self._values.items()])
        parts = []
        for name, value in self._values.items():
            if name in self._sums:
                total, weight = self._sums[name]
                value = total / max(weight, 1)
            parts.append(f" - {name}: {_format_value(value)}")
        return "".join(parts)

    def finished_line(self, values, now) -> str:
        """The line update(target, values, finalize=True) writes on a display that is not
        live (no averaged metrics), returned instead (a progress logger gathers the lines of
        many tiny epochs and writes them together)."""
        self._values.update(values)
        if self._first_time is None:
            self._first_time, self._first_step = now, self.target
        self._seen_so_far = self.target
        return self._message(self.target, now, True)

    def _draw(self, current, now, finalize):
        message = self._message(current, now, finalize)
        if message:
            write(message, self._flush_final or not finalize)

    def _message(self, current, now, finalize) -> str:
        """The text that draws the bar as it is now ("" when nothing is drawn)."""
        step_time = self._step_time(current, now)
        known_target = self.target is not None and self.target > 0
        rest = f" {_format_step_time(step_time, self.unit_name)}{self._metrics_text()}"
        if self.verbose == 2:
            if known_target:
                count = self._bar_parts(current, known_target)[2]
                return f"{count} - {now - self._start:.0f}s -{rest}\n"
            return ""
        if self.verbose != 1:
            return ""
        bar_shown, bar_width, _ = self._bar_parts(current, known_target)
        if known_target and not finalize:
            clock_text = _format_eta(step_time * (self.target - current))
        else:
            clock_text = f"{now - self._start:.0f}s"
        if not self._dynamic_display:  # (then only final lines are drawn)
            return f"{bar_shown} {clock_text}{rest}\n"
        info_shown = f" {_BOLD}{clock_text}{_RESET}{rest}"
        total_width = bar_width + 1 + len(clock_text) + len(rest)
        message = "\r" + bar_shown + info_shown
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        self._prev_total_width = total_width
        if finalize:
            message += "\n"
            self._prev_total_width = 0
        return message

    def _bar_parts(self, current, known_target):
        """(the count and bar as shown, their width, the count alone), kept while the same
        (e.g. every epoch's final line)."""
        key = (current, self.target)
        if key == self._bar_key:
            return self._bar_drawn
        if known_target:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            filled = min(max(int(self.width * current / self.target), 0), self.width)
            done = _BAR_CHAR * filled
            todo = _BAR_CHAR * (self.width - filled)
            if self._dynamic_display:  # in colour
                done = f"{_GREEN}{done}{_RESET}" if filled else ""
                bar_shown = f"{_BOLD}{count}{_RESET} {done}{_WHITE}{todo}{_RESET}"
            else:
                bar_shown = f"{count} {done}{todo}"
            bar_width = len(count) + 1 + self.width
        else:
            count = bar_shown = f"{current:7d}/Unknown"
            bar_width = len(bar_shown)
        self._bar_key, self._bar_drawn = key, (bar_shown, bar_width, count)
        return self._bar_drawn
