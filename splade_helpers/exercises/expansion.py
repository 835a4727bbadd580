"""Exercise 03: prune a sparse vector to its k heaviest terms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._answer import Mistake, array, call, checker, describe


def _pair(value: Any) -> tuple[np.ndarray, np.ndarray]:
    """A learner's result as two 1-d arrays of equal length (indices, values), else :class:`Mistake`."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__") or len(value) != 2:
        raise Mistake(f"Return a pair (indices, values); got {describe(value)}.")
    indices, values = (array(x, name, ndim=1) for x, name in zip(value, ("the kept indices", "the kept values")))
    if len(indices) != len(values):
        raise Mistake(f"Return as many values as indices: got {len(indices)} indices and {len(values)} values.")
    if not np.array_equal(indices, np.round(indices)):
        raise Mistake(f"The kept indices must be whole numbers (vocabulary ids); got {indices.tolist()}.")
    return indices.astype(np.int64), values


@checker
def check_prune(fn: Callable[[np.ndarray, np.ndarray, int], tuple]) -> str:
    """Exercise 03: ``fn(indices, values, k)`` -> the k heaviest (indices, values), ids ascending.

    Introduced in notebook 03 (section "Exercises").
    """
    indices = np.array([3, 8, 12, 40, 41, 99])
    values = np.array([0.5, 2.0, 0.1, 2.0, 1.5, 0.7], dtype=np.float32)
    for k, expected in ((3, [8, 40, 41]), (1, [8]), (10, [3, 8, 12, 40, 41, 99])):
        got_idx, got_val = _pair(call(fn, indices.copy(), values.copy(), k, returns="a pair (indices, values)"))
        if sorted(got_idx.tolist()) != expected:
            raise Mistake(f"Not yet for k={k}: kept ids {sorted(got_idx.tolist())}, expected {expected} "
                          f"(the k largest values; on a tie keep the lower id; k beyond the length keeps all).")
        if got_idx.tolist() != sorted(got_idx.tolist()):
            raise Mistake("Almost: return the kept indices in ascending order, as sparse formats expect.")
        if not np.allclose(got_val, values[np.searchsorted(indices, got_idx)]):
            raise Mistake("Not yet: the values must stay paired with their indices.")
    return "Correct: the heaviest terms are kept, ties go to the lower id, and k beyond the length keeps everything."
