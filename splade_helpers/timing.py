"""Timing for the lessons: one helper, so every notebook measures the same way."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from .validation import check_int


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of repeated runs of one function, in milliseconds."""

    median_ms: float
    best_ms: float
    runs: int

    def __str__(self) -> str:
        return f"{self.median_ms:.3g} ms (median of {self.runs}, best {self.best_ms:.3g} ms)"


def timeit(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeat`` times timed; the median is the figure to quote.

    Timings vary with what else the machine does: compare things measured side by side, in one run.
    """
    repeat = check_int(repeat, "repeat", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    if not callable(fn):
        raise TypeError(f"fn must be a function to call, got {type(fn).__name__}; wrap code in a lambda: timeit(lambda: ...).")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return Timing(statistics.median(times), min(times), repeat)
