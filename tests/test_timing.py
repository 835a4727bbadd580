"""splade_helpers.timing: Stopwatch and timeit, on a fake clock (no real timing in a test)."""

import pytest

from splade_helpers import timing
from splade_helpers.timing import Stopwatch, timeit


@pytest.fixture()
def clock(monkeypatch):
    """perf_counter returns 0, 1, 3, 6, 10, ...: the n-th interval lasts n seconds."""
    ticks = iter([0, 1, 3, 6, 10, 15, 21, 28, 36, 45])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(ticks))


def test_stopwatch_keeps_each_lap_and_their_sum(clock):
    watch = Stopwatch()
    with watch:
        pass
    with watch:
        pass
    with watch:
        pass
    assert watch.laps == [1, 3, 5] and watch.seconds == 9 and watch.median == 3


def test_stopwatch_refuses_a_nested_block_and_an_empty_median():
    watch = Stopwatch()
    with pytest.raises(ValueError, match="timed nothing"):
        watch.median
    with watch, pytest.raises(RuntimeError, match="second Stopwatch"):
        with watch:
            pass


def test_timeit_reports_milliseconds_of_the_timed_runs_only(clock):
    calls = []
    t = timeit(lambda: calls.append(1), repeat=3, warmup=1)
    assert len(calls) == 4 and (t.median_ms, t.best_ms, t.runs) == (3000, 1000, 3)
