"""Choosing a fusion honestly: query splits, fast per-query nDCG@10, grid search, paired statistics (notebook 04).

Everything here works on (queries x documents) score matrices, so trying a new alpha re-scores
every query at once. :func:`ndcg_at_k` equals ir_measures' nDCG@10 on our rankings (tested) and is
fast enough for an interactive slider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .datasets import Dataset
from .fusion import (
    ALPHA_GRID,
    FUSIONS,
    RRF_K,
    RRF_KS,
    SPARSE_RETRIEVERS,
    SPARSE_SIDES,
    alpha_weights,
    normalize,
    ranks,
    rrf_term,
    top_k,
)
from .validation import check_choice, check_comparison, check_int, check_number, check_paired_scores, check_unique_ids


def split_queries(query_ids: Sequence[str], seed: int = 42, tune_fraction: float = 0.5) -> tuple[list[str], list[str]]:
    """A fixed, seeded split of queries into (tune, test), each in the original order; neither may be empty.

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").
    Notebook 04's section 4 explains it.

    ``query_ids`` must be distinct strings (a bare string, or an id listed twice, is refused).
    """
    tune_fraction = check_number(tune_fraction, "tune_fraction", above=0.0, maximum=1.0)
    if tune_fraction >= 1.0:
        raise ValueError(f"tune_fraction={tune_fraction!r} must be strictly between 0 and 1.")
    seed = check_int(seed, "seed", minimum=0, hint="numpy's generators take seeds >= 0.")
    ids = check_unique_ids(query_ids, "query_ids")
    if len(ids) < 2:
        raise ValueError(f"query_ids holds {len(ids)} queries; at least 2 are needed to split them into tuning and test halves.")
    perm = np.random.default_rng(seed).permutation(len(ids))
    n_tune = int(round(len(ids) * tune_fraction))
    if not 0 < n_tune < len(ids):
        raise ValueError(f"tune_fraction={tune_fraction!r} of {len(ids)} queries leaves the "
                         f"{'tuning' if n_tune == 0 else 'test'} half empty; use a fraction between "
                         f"{1 / len(ids):.3g} and {1 - 1 / len(ids):.3g}.")
    tune = set(perm[:n_tune].tolist())
    return [q for i, q in enumerate(ids) if i in tune], [q for i, q in enumerate(ids) if i not in tune]


def gain_matrix(dataset: Dataset, query_ids: Sequence[str] | None = None) -> np.ndarray:
    """Gains as a (queries x documents) matrix in ``dataset.doc_ids`` order (0 where unjudged).

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").
    """
    query_ids = dataset.query_ids if query_ids is None else list(query_ids)
    column = {d: i for i, d in enumerate(dataset.doc_ids)}
    gains = np.zeros((len(query_ids), len(dataset.doc_ids)))
    for row, q in enumerate(query_ids):
        for d, g in dataset.qrels.get(q, {}).items():
            gains[row, column[d]] = max(g, 0)
    return gains


def ndcg_at_k(scores: np.ndarray, gains: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-query nDCG@k (linear gains, log2 discount, as trec_eval); 0 for queries with no gain.

    Introduced in notebook 04 (section 4, "Choosing alpha honestly").
    """
    k = check_int(k, "k", minimum=1)
    scores, gains = np.asarray(scores), np.asarray(gains)
    if scores.shape != gains.shape:
        raise ValueError(f"scores {scores.shape} and gains {gains.shape} must have the same shape.")
    order = top_k(scores, k)
    discount = 1.0 / np.log2(np.arange(2, order.shape[1] + 2))
    dcg = (np.take_along_axis(gains, order, axis=1) * discount).sum(axis=1)
    ideal = (-np.sort(-gains, axis=1)[:, : order.shape[1]] * discount).sum(axis=1)
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


class FusionTerms:
    """Per-retriever matrices that fusion weights combine, computed once and cached.

    Introduced in notebook 04 (section 4, "Choosing alpha honestly").

    For a normalised weighted sum the term is the normalised score matrix and a fusion is
    ``sum_n w_n * term_n``; for RRF the cached matrix is each document's rank (0 where a sparse
    retriever did not return it, i.e. scored 0) and a fusion is ``sum_n 1 / (rrf_k + rank_n / w_n)``:
    the numbers of :func:`splade_helpers.fusion.fuse`, with each term computed once, so a new weight
    costs one pass over the matrices.
    """

    def __init__(self, raw: Mapping[str, np.ndarray]) -> None:
        self.raw = {n: np.asarray(m, dtype=np.float64) for n, m in raw.items()}
        self._terms: dict[tuple[str, str], np.ndarray] = {}

    def term(self, name: str, fusion: str) -> np.ndarray:
        """The normalised scores of ``name`` (``fusion`` a normalisation) or its ranks (``fusion="rrf"``)."""
        fusion = check_choice(fusion, "fusion", FUSIONS)
        if name not in self.raw:
            raise ValueError(f"no scores for retriever {name!r}; have {sorted(self.raw)}.")
        key = (name, fusion)
        if key not in self._terms:
            m = self.raw[name]
            if fusion == "rrf":
                r = ranks(m)
                self._terms[key] = np.where(m > 0, r, 0) if name in SPARSE_RETRIEVERS else r
            else:
                self._terms[key] = normalize(m, fusion)
        return self._terms[key]

    def fuse(self, weights: Mapping[str, float], fusion: str, rrf_k: float = RRF_K) -> np.ndarray:
        """The fused matrix for these weights, over the retrievers with a positive weight."""
        parts = [(n, check_number(w, f"weights[{n!r}]", minimum=0.0)) for n, w in weights.items()]
        parts = [(n, w) for n, w in parts if w > 0]
        if not parts:
            raise ValueError(f"weights {dict(weights)} has no positive weight.")
        if fusion == "rrf":
            rrf_k = check_number(rrf_k, "rrf_k", minimum=0.0)
            return sum(rrf_term(self.term(n, "rrf"), rrf_k, w) for n, w in parts)
        return sum(w * self.term(n, fusion) for n, w in parts)


@dataclass(frozen=True)
class Candidate:
    """One fusion configuration: weights per retriever and a fusion (RRF with its constant).

    Not called by the notebooks; used by candidates, which returns it, and evaluate_candidates.
    """

    weights: tuple[tuple[str, float], ...]
    fusion: str
    rrf_k: float = RRF_K

    @property
    def label(self) -> str:
        w = ", ".join(f"{n} {x:.3g}" for n, x in self.weights if x > 0)
        return f"{self.fusion}{'(k=%g)' % self.rrf_k if self.fusion == 'rrf' else ''}: {w}"


def candidates(
    alphas: Sequence[float] = ALPHA_GRID,
    sparse_sides: Sequence[str] = ("splade", "bm25", "bm25+splade"),
    fusions: Sequence[str] = ("minmax", "zscore"),
    rrf_ks: Sequence[float] = RRF_KS,
) -> list[Candidate]:
    """The grid: alpha = dense weight; the sparse side (a key of ``SPARSE_SIDES``) shares ``1 - alpha`` equally.

    Introduced in notebook 04 (section 4, "Choosing alpha honestly").

    ``dbsf`` is not in the default grid: over all documents it ranks exactly as ``zscore`` (see
    :func:`splade_helpers.fusion.normalize`), so it would only repeat those candidates.

    RRF constants are textbook ones (ranks from 1): 1 is Qdrant's default (its k = 2), 60 the literature's.
    """
    for f in fusions:
        check_choice(f, "fusion", [x for x in FUSIONS if x != "rrf"])
    out = []
    for side in sparse_sides:
        check_choice(side, "sparse side", list(SPARSE_SIDES))
        for a in alphas:
            weights = tuple(alpha_weights(a, side).items())
            out += [Candidate(weights, f) for f in fusions]
            out += [Candidate(weights, "rrf", k) for k in rrf_ks]
    return out


def per_query_ndcg(raw: Mapping[str, np.ndarray], gains: np.ndarray, grid: Sequence[Candidate]) -> np.ndarray:
    """nDCG@10 of every candidate on every query: a (candidates x queries) matrix, in grid order.

    Introduced in notebook 04 (section 4, "Choosing alpha honestly").

    A query's nDCG@10 under a fusion does not depend on the other queries, so any choice over a subset of
    queries is a mean over this matrix's columns (notebook 04, sections 4 and 8).

    Args:
        raw: each retriever's (queries x documents) score matrix, as for :class:`FusionTerms`.
        gains: the (queries x documents) gain matrix (:func:`gain_matrix`).
    """
    terms = FusionTerms(raw)
    return np.array([ndcg_at_k(terms.fuse(dict(c.weights), c.fusion, c.rrf_k), gains) for c in grid])


def evaluate_candidates(
    raw: Mapping[str, np.ndarray], gains: np.ndarray, grid: Sequence[Candidate], rows: np.ndarray | None = None
) -> list[tuple[Candidate, float]]:
    """Mean nDCG@10 of every candidate over ``rows`` (query indices), best first (stable on ties).

    Introduced in notebook 04 (section 7, "Fusion weights belong to a collection").
    """
    rows = np.arange(gains.shape[0]) if rows is None else np.asarray(rows)
    means = per_query_ndcg({n: m[rows] for n, m in raw.items()}, gains[rows], grid).mean(axis=1)
    return sorted(zip(grid, means.tolist()), key=lambda r: -r[1])


def paired_comparison(a: np.ndarray, b: np.ndarray, n_boot: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over queries, its 95 % paired-bootstrap interval, and the paired t-test p-value.

    Introduced in notebook 01 (section 3, "Evidence on Cranfield").

    Scores must be finite and within ±1e150 (a NaN would make every statistic NaN, or the p-value a silent 1.0;
    values near the float limit would overflow them).
    """
    n_boot = check_int(n_boot, "n_boot", minimum=1, maximum=10**6, hint="It is how many bootstrap resamples to draw.")
    seed = check_int(seed, "seed", minimum=0, hint="numpy's generators take seeds >= 0.")
    a, b = check_paired_scores(a, b)
    diff = a - b
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(n_boot, len(diff)))
    boot = diff[idx].mean(axis=1)
    p = float(stats.ttest_rel(a, b).pvalue) if diff.std() > 0 else 1.0
    return {"mean_diff": float(diff.mean()), "ci_low": float(np.percentile(boot, 2.5)),
            "ci_high": float(np.percentile(boot, 97.5)), "p_value": p, "queries": int(len(diff))}


def format_interval(comparison: Mapping[str, float] | None) -> str:
    """A paired comparison as ``+0.012 [-0.004, +0.030]``: the mean difference and its 95 % interval, 3 decimals.

    Introduced in notebook 01 (section 3, "Evidence on Cranfield").

    Args:
        comparison: what :func:`paired_comparison` returns, or None for a row with nothing to compare (gives "").
    """
    if comparison is None:
        return ""
    mean, low, high = check_comparison(comparison)
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def interval_verdict(comparison: Mapping[str, float] | None) -> str:
    """How a paired interval reads: "better" or "worse" only when it excludes zero, else "no detectable difference".

    Introduced in notebook 04 (section 4, "Choosing alpha honestly").

    Args:
        comparison: what :func:`paired_comparison` returns (a - b), or None for a row with nothing to compare (gives "").
    """
    if comparison is None:
        return ""
    _, low, high = check_comparison(comparison)
    return "better" if low > 0 else "worse" if high < 0 else "no detectable difference"
