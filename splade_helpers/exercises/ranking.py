"""Exercise 00: nDCG@10 of one ranking, written by hand and compared with ir_measures."""

from __future__ import annotations

import math
from collections.abc import Callable

from ._answer import Mistake, call, checker, number


def _ndcg_reference(ranked_gains: list[int], judged_gains: list[int]) -> float:
    """nDCG@10 of one ranking, computed by ir_measures (trec_eval's ndcg_cut.10) on a made-up run and qrels."""
    from ..evaluation import evaluate_run

    judged = {f"j{i}": g for i, g in enumerate(judged_gains)}
    unused: dict[int, list[str]] = {}
    for d, g in judged.items():
        unused.setdefault(g, []).append(d)
    run = []
    for i, g in enumerate(ranked_gains):
        run.append((unused[g].pop(0), 0.0) if g > 0 else (f"unjudged{i}", 0.0))
    return evaluate_run({"q": run}, {"q": judged}, ["q"])[0]["nDCG@10"]


def _dcg(gains: list[int], exponential: bool = False) -> float:
    return sum(((2**g - 1) if exponential else g) / math.log2(i + 1) for i, g in enumerate(gains, 1))


CASES = {
    "a relevant document that was not retrieved": ([3, 0, 2, 0, 1], [3, 2, 1, 1]),
    "the best document retrieved last": ([0, 1, 0, 0, 4], [4, 1]),
    "relevant documents beyond rank 10": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 3], [4, 3, 2]),
    "a perfect ranking": ([4, 3, 2, 1], [4, 3, 2, 1]),
}


@checker
def check_ndcg(fn: Callable[[list[int], list[int]], float]) -> str:
    """Exercise 00: ``fn(ranked_gains, judged_gains)`` -> nDCG@10 of one ranking.

    Introduced in notebook 00 (section "Exercises").

    ``ranked_gains``: the gain of each retrieved document, best first (0 = not relevant);
    ``judged_gains``: the gains of every document judged relevant for the query.
    """
    for name, (ranked, judged) in CASES.items():
        expected = _ndcg_reference(ranked, judged)
        got = number(call(fn, list(ranked), list(judged), returns="nDCG@10, one number between 0 and 1",
                          hints={"ZeroDivisionError": "the discount is 1 / log2(rank + 1), so rank 1 is divided by "
                                                      "log2(2) = 1"}), "nDCG@10")
        if math.isclose(got, expected, abs_tol=1e-6):
            continue
        top, ideal = ranked[:10], sorted(judged, reverse=True)[:10]
        retrieved_ideal = sorted([g for g in top if g > 0], reverse=True)
        hints = [
            ("cut both rankings at 10: nDCG@10 ignores ranks 11 and beyond", _dcg(ranked) / _dcg(sorted(judged, reverse=True))),
            ("the ideal ranking sorts all judged gains, not only the retrieved ones",
             _dcg(top) / _dcg(retrieved_ideal) if retrieved_ideal else 0.0),
            ("gains are linear here, as in trec_eval: g / log2(rank + 1), not (2**g - 1) / log2(rank + 1)",
             _dcg(top, True) / _dcg(ideal, True)),
            ("divide by the ideal DCG (the best possible ordering), not by the number of relevant documents",
             _dcg(top) / len(judged)),
        ]
        for hint, wrong in hints:
            if math.isclose(got, wrong, abs_tol=1e-6):
                raise Mistake(f"Not yet ({name}): {hint}.")
        raise Mistake(f"Not yet ({name}): ranked gains {ranked}, judged {judged}: expected {expected:.4f}, got {got:.4f}.")
    return f"Correct: your nDCG@10 equals ir_measures' on all {len(CASES)} cases."
