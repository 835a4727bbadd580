"""How many labelled queries before trusting a fusion weight: choosing and measuring on n queries.

A query's nDCG@10 under a fusion does not depend on which other queries are evaluated, so the
experiment needs each candidate's per-query nDCG@10 once (:func:`splade_helpers.tuning.per_query_ndcg`, a
candidates x queries matrix); every random draw of n tuning queries is then a mean over chosen columns.
Introduced in notebook 04, section 8.

* :func:`choices_on_n_queries`: choose the fusion on n random tuning queries (many seeded draws) and report
  the choice on the fixed test half, against the single retriever a practitioner would deploy instead.
* :func:`intervals_on_n_queries`: the half-width of the 95 % paired-bootstrap interval of a difference
  measured on n random test queries (:func:`splade_helpers.tuning.paired_comparison`, vectorised).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .validation import SCORE_LIMIT, check_indices, check_int, check_paired_scores, check_same_length

# Quoted, not measured here, source not traced: attributed to Qdrant, BM25 + MiniLM fusion, the half-width of the
# 95 % interval of an nDCG@10 difference at 50 and 200 labelled queries (as cited in the course's issue 21).
#: Introduced in notebook 04 (section 8, "How many labelled queries do you need?").
PUBLISHED_HALF_WIDTHS = {50: 0.035, 200: 0.018}


@dataclass(frozen=True)
class ChoiceDraws:
    """The outcome of choosing a fusion on ``n`` tuning queries, once per draw.

    Not called by the notebooks; used by choices_on_n_queries, which returns it, and plots.label_budget_figure.

    ``single_test`` is the test-half nDCG@10 of the single retriever that is best on the same drawn
    tuning queries (what a practitioner with those n labels would deploy instead of a fusion);
    ``best_single_test`` is the strongest single retriever on the test half (fixed, chosen on test
    data: a harder bar that no practitioner could pick in advance).
    """

    n: int
    rows: np.ndarray  # (draws, n) query rows drawn from the tuning half
    chosen: np.ndarray  # (draws,) index into the grid of the candidate chosen on each draw
    fusion_test: np.ndarray  # (draws,) test-half nDCG@10 of the chosen candidate
    single_names: tuple[str, ...]
    single_chosen: np.ndarray  # (draws,) index into single_names, best on the drawn queries
    single_test: np.ndarray  # (draws,) test-half nDCG@10 of that single retriever
    best_single_name: str
    best_single_test: float

    def summary(self) -> dict[str, float]:
        """Mean, sd and 5th/95th percentiles over draws; how often the choice beats each single retriever.

        ``gain_*`` is the chosen fusion minus the single retriever chosen on the same draw (test half).
        """
        f, gain = self.fusion_test, self.fusion_test - self.single_test
        p5, p95 = np.percentile(f, [5, 95])
        g5, g95 = np.percentile(gain, [5, 95])
        return {
            "n": self.n, "draws": len(f), "mean": float(f.mean()), "sd": float(f.std(ddof=1)) if len(f) > 1 else 0.0,
            "p5": float(p5), "p95": float(p95),
            "beats_tuned_single": float((f > self.single_test).mean()),
            "beats_best_single": float((f > self.best_single_test).mean()),
            "gain_mean": float(gain.mean()), "gain_p5": float(g5), "gain_p95": float(g95),
            "distinct_choices": int(len(np.unique(self.chosen))),
        }


def _check_inputs(per_candidate: np.ndarray, singles: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(per_candidate, dtype=np.float64)
    if m.ndim != 2 or 0 in m.shape:
        raise ValueError(f"per_candidate must be a non-empty (candidates x queries) matrix, got shape {m.shape}; "
                         f"build it with sh.per_query_ndcg(scores, gains, grid).")
    if not isinstance(singles, Mapping) or not singles:
        raise ValueError("singles must map each single retriever's name to its per-query nDCG@10, e.g. "
                         "{name: ndcg_at_k(scores[name], gains) for name in scores}.")
    s = [np.asarray(v, dtype=np.float64) for v in singles.values()]
    for name, v in zip(singles, s):
        if v.ndim != 1:
            raise ValueError(f"singles[{name!r}] must be one nDCG@10 per query (1-D), got shape {v.shape}.")
        check_same_length(f"values in singles[{name!r}]", v, "queries (columns) in per_candidate", m[0])
    if not (np.isfinite(m).all() and all(np.isfinite(v).all() for v in s)):
        raise ValueError("per-query nDCG@10 values must be finite; recompute them with ndcg_at_k.")
    if np.abs(m).max() > SCORE_LIMIT or any(np.abs(v).max() > SCORE_LIMIT for v in s):
        raise ValueError(f"per-query nDCG@10 values lie in [0, 1]; values beyond ±{SCORE_LIMIT:g} would overflow the means: "
                         f"recompute them with ndcg_at_k.")
    return m, np.stack(s)


def _check_rows(tune_rows: object, test_rows: object, queries: int) -> tuple[np.ndarray, np.ndarray]:
    tune = check_indices(tune_rows, "tune_rows", queries)
    test = check_indices(test_rows, "test_rows", queries)
    both = np.intersect1d(tune, test)
    if len(both):
        raise ValueError(f"tune_rows and test_rows share {len(both)} queries (e.g. row {both[0]}); a query used to "
                         f"choose cannot report the choice: pass the two halves of split_queries.")
    return tune, test


def _draws(pool: int, n: int, draws: int, seed: int) -> np.ndarray:
    """(draws, n) positions into a pool, without replacement within a draw, sorted; one draw if n = pool."""
    if n == pool:
        return np.arange(pool)[None, :]
    rng = np.random.default_rng([seed, n])  # independent of which other n are asked for
    return np.sort(rng.permuted(np.tile(np.arange(pool), (draws, 1)), axis=1)[:, :n], axis=1)


def _choose(per_query: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Per draw, the row with the best mean over ``cols`` (first in order on ties, as evaluate_candidates)."""
    # the gathered (rows, draws, n) array is summed along its contiguous last axis, in the same order
    # as ndcg_at_k(...).mean() in evaluate_candidates, so equal means stay exactly equal
    return per_query[:, cols].mean(axis=2).argmax(axis=0)


def choices_on_n_queries(
    per_candidate: np.ndarray,
    singles: Mapping[str, np.ndarray],
    tune_rows: Sequence[int] | np.ndarray,
    test_rows: Sequence[int] | np.ndarray,
    ns: Sequence[int] | None = None,
    draws: int = 500,
    seed: int = 0,
) -> list[ChoiceDraws]:
    """Choose a fusion on n random tuning queries, many times, and report each choice on the test half.

    Introduced in notebook 04 (section 8, "How many labelled queries do you need?").

    For each n: ``draws`` seeded draws of n tuning queries (without replacement within a draw; one
    draw, the whole half, when n is the tuning half's size); on each, the candidate with the best
    mean nDCG@10 (ties: first in grid order, as :func:`evaluate_candidates`) and the single retriever
    with the best mean (ties: first in ``singles``' order); both reported on the fixed ``test_rows``.

    Args:
        per_candidate: (candidates x queries) nDCG@10 from :func:`splade_helpers.tuning.per_query_ndcg`, over all queries.
        singles: each single retriever's per-query nDCG@10 over the same queries.
        tune_rows, test_rows: the query rows of the two halves (disjoint).
        ns: tuning-set sizes, each 1 .. len(tune_rows); default 10, 25, 50 and the whole half.
        draws: draws per n (below the whole half); seed: makes the draws reproducible.
    """
    m, s = _check_inputs(per_candidate, singles)
    tune, test = _check_rows(tune_rows, test_rows, m.shape[1])
    draws, seed = _check_draws(draws, seed)
    ns = [n for n in (10, 25, 50) if n < len(tune)] + [len(tune)] if ns is None else ns
    ns = _check_ns(ns, 1, len(tune), f"The tuning half has {len(tune)} queries; ask for n between 1 and {len(tune)}.")
    names = tuple(singles)
    fusion_test, single_test = m[:, test].mean(axis=1), s[:, test].mean(axis=1)
    best = int(single_test.argmax())
    out = []
    for n in ns:
        cols = tune[_draws(len(tune), n, draws, seed)]
        chosen, single = _choose(m, cols), _choose(s, cols)
        out.append(ChoiceDraws(n, cols, chosen, fusion_test[chosen], names, single, single_test[single],
                               names[best], float(single_test[best])))
    return out


@dataclass(frozen=True)
class IntervalDraws:
    """95 % paired-bootstrap intervals of a mean difference measured on ``n`` queries, once per draw.

    Not called by the notebooks; used by intervals_on_n_queries, which returns it, and plots.label_budget_figure.
    """

    n: int
    rows: np.ndarray  # (draws, n) positions into the compared arrays
    mean_diff: np.ndarray  # (draws,)
    ci_low: np.ndarray  # (draws,)
    ci_high: np.ndarray  # (draws,)

    def summary(self) -> dict[str, float]:
        """Mean and 5th/95th percentiles of the half-width; share of intervals above 0 and below 0."""
        half = (self.ci_high - self.ci_low) / 2
        p5, p95 = np.percentile(half, [5, 95])
        return {"n": self.n, "draws": len(half), "half_width": float(half.mean()), "half_width_p5": float(p5),
                "half_width_p95": float(p95), "mean_diff": float(self.mean_diff.mean()),
                "above_zero": float((self.ci_low > 0).mean()), "below_zero": float((self.ci_high < 0).mean())}


def intervals_on_n_queries(
    a: np.ndarray,
    b: np.ndarray,
    ns: Sequence[int],
    draws: int = 500,
    n_boot: int = 10_000,
    seed: int = 0,
) -> list[IntervalDraws]:
    """The 95 % paired-bootstrap interval of ``mean(a - b)`` on n random queries, for each n.

    Introduced in notebook 04 (section 8, "How many labelled queries do you need?").

    Each draw's interval equals ``paired_comparison(a[rows], b[rows], n_boot, seed)`` (up to rounding,
    tested): the bootstrap resamples positions 0..n-1 with the same generator, so one (n_boot x n)
    resample is shared by every draw of that n and applied to all draws as one matrix product.

    Args:
        a, b: per-query scores of the two systems on the same queries (e.g. the test half).
        ns: numbers of labelled queries, each 2 .. len(a) (one draw, all queries, for n = len(a)).
        draws: random draws per n (without replacement within a draw); seed: for draws and bootstrap.
    """
    a, b = check_paired_scores(a, b)
    draws, seed = _check_draws(draws, seed)
    n_boot = check_int(n_boot, "n_boot", minimum=1, maximum=10**6, hint="It is how many bootstrap resamples to draw.")
    ns = _check_ns(ns, 2, len(a), f"a and b hold {len(a)} queries; a paired interval needs at least 2.")
    diff = a - b
    out = []
    for n in ns:
        rows = _draws(len(a), n, draws, seed)
        d = diff[rows]  # (draws, n)
        idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))  # as paired_comparison draws it
        counts = np.bincount((idx + n * np.arange(n_boot)[:, None]).ravel(), minlength=n_boot * n).reshape(n_boot, n)
        boot = d @ counts.T.astype(np.float64) / n  # (draws, n_boot) bootstrap means
        low, high = np.percentile(boot, [2.5, 97.5], axis=1)
        out.append(IntervalDraws(n, rows, d.mean(axis=1), low, high))
    return out


def _check_draws(draws: object, seed: object) -> tuple[int, int]:
    return (check_int(draws, "draws", minimum=1, maximum=10**5, hint="It is how many random draws to make per n."),
            check_int(seed, "seed", minimum=0, hint="Seeds are integers >= 0."))


def _check_ns(ns: object, low: int, high: int, hint: str) -> list[int]:
    """A non-empty list of query counts, each in [low, high]."""
    if isinstance(ns, (str, bytes)) or not isinstance(ns, Iterable):
        raise TypeError(f"ns={ns!r} must be a list of query counts, e.g. [{high}]. {hint}")
    out = [check_int(n, "n", minimum=low, maximum=high, hint=hint) for n in ns]
    if not out:
        raise ValueError(f"ns is empty; give at least one number of queries, e.g. [{high}]. {hint}")
    return out
