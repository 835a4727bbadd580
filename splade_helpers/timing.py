"""Timing for the lessons and the benchmarks: one helper, so everything is measured the same way."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from .validation import check_int


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated runs of one function, in milliseconds.

    Not called by the notebooks; used by timeit, which returns it.
    """

    median_ms: float
    best_ms: float
    runs: int

    def __str__(self) -> str:
        return f"{self.median_ms:.3g} ms (median of {self.runs}, best {self.best_ms:.3g} ms)"


class Stopwatch:
    """Wall-clock seconds of the ``with`` blocks it times, each kept (``laps``) and summed (``seconds``).

    >>> watch = Stopwatch()
    >>> with watch:
    ...     out = sum(range(1000))
    >>> len(watch.laps), watch.seconds == watch.laps[0]
    (1, True)
    """

    def __init__(self) -> None:
        self.laps: list[float] = []
        self.seconds = 0.0
        self._start: float | None = None

    def __enter__(self) -> Stopwatch:
        if self._start is not None:
            raise RuntimeError("this Stopwatch is already timing a block; use a second Stopwatch for a nested block.")
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        lap = time.perf_counter() - self._start
        self._start = None
        self.laps.append(lap)
        self.seconds += lap

    @property
    def median(self) -> float:
        """Median lap in seconds: the figure to quote for repeated runs."""
        if not self.laps:
            raise ValueError("this Stopwatch has timed nothing yet; time a block first: with watch: ...")
        return statistics.median(self.laps)


def timeit(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times timed; the median is the figure to quote.

    Introduced in notebook 02 (section 8, "Max first, activation second").

    Timings vary with what else the machine does: compare things measured side by side, in one run.
    """
    repeat = check_int(repeat, "repeat", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    if not callable(fn):
        raise TypeError(f"fn must be a function to call, got {type(fn).__name__}; wrap code in a lambda: timeit(lambda: ...).")
    for _ in range(warmup):
        fn()
    watch = Stopwatch()
    for _ in range(repeat):
        with watch:
            fn()
    times = [lap * 1e3 for lap in watch.laps]
    return Timing(statistics.median(times), min(times), repeat)
