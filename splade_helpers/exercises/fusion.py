"""Exercise 04: min-max normalisation of each query's scores, the first step of score fusion."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._answer import Mistake, array, call, checker

CASES = {
    "two queries on different scales": np.array([[1.0, 3.0, 2.0], [10.0, 30.0, 20.0]]),
    "negative scores": np.array([[-2.0, 0.0, 2.0]]),
    "a query whose scores are all equal": np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]),
}


@checker
def check_minmax(fn: Callable[[np.ndarray], np.ndarray]) -> str:
    """Exercise 04: ``fn(scores)`` -> per-query (row) min-max normalised scores, constant rows -> 0.

    Introduced in notebook 04 (section "Exercises").
    """
    from ..fusion import normalize

    for name, scores in CASES.items():
        got = array(call(fn, scores.copy(), returns="the normalised scores, same shape as the input"),
                    "the normalised scores")
        expected = normalize(scores, "minmax")
        if got.shape != expected.shape:
            raise Mistake(f"Not yet ({name}): expected shape {expected.shape}, got {got.shape}.")
        if np.isnan(got).any():
            raise Mistake(f"Not yet ({name}): NaN appears; a row with max == min must become all zeros, not 0/0.")
        if np.allclose(got, expected):
            continue
        whole = (scores - scores.min()) / (scores.max() - scores.min()) if scores.max() > scores.min() else None
        if whole is not None and np.allclose(got, whole):
            raise Mistake(f"Not yet ({name}): you normalised over the whole matrix; normalise each query (row) on its own.")
        raise Mistake(f"Not yet ({name}): expected {expected.round(3).tolist()}, got {got.round(3).tolist()}.")
    return "Correct: each query is scaled to [0, 1] on its own, and constant rows become zeros."
