"""Fusing the scores of several retrievers, and the course's fusion policy (introduced in notebook 04).

Two families, vectorised over (queries x documents) score matrices:

* score fusion: normalise each retriever's scores per query, then take a weighted sum
  (``alpha`` is the dense weight, as in the reference article's ``hybrid_score``);
* rank fusion (RRF): a document at rank r (counted from 1) in a retriever's list earns
  ``1 / (rrf_k + r / w)`` from it, summed over the retrievers that returned it. With weight w = 1
  this is the textbook ``1 / (k + r)`` of Cormack et al. (2009), whose k is 60.

**One RRF convention everywhere in this package**: ranks count from 1 and ``rrf_k`` is the textbook
constant. Qdrant counts positions from 0, so its ``Fusion.Rrf(k=q)`` is our ``rrf_k = q - 1``:
Qdrant's default q = 2 is our 1, and our 60 is Qdrant's 61. Qdrant weighs a list by dividing the
rank by the weight, as above (another common form multiplies, ``w / (k + r)``; the two rank
documents differently). :func:`fuse_lists` reproduces Qdrant's list fusion exactly (tested against
Qdrant Edge and qdrant-client).

This module is also the one home of the fusion *policy* every other module reads: the fusions and
their names (:data:`FUSIONS`, :data:`ENGINE_FUSIONS`), RRF's constant, the alpha split and grids, which
retrievers return only matching documents, and the recommended hybrid.

A query whose scores are all equal (e.g. an empty query: all zeros) normalises to all zeros
(DBSF: all 0.5, as in Qdrant), so it adds nothing to the ranking; ties are then broken by document order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .validation import _shown, check_alpha, check_choice, check_int, check_number, check_score_matrix, check_weights

NORMALIZATIONS = ("none", "minmax", "zscore", "dbsf")  # per-query score normalisations (:func:`normalize`)
#: Not called by the notebooks; used by fuse, HybridRetriever, AlphaLab, the widgets and candidates (the fusions they accept).
FUSIONS = ("minmax", "zscore", "dbsf", "rrf", "none")  # a weighted sum after a normalisation, or RRF
ENGINE_FUSIONS = ("rrf", "dbsf", "formula")  # what a Qdrant engine fuses its prefetches with (notebook 05)
#: Not called by the notebooks; used by fuse, rrf, HybridRetriever and the Qdrant retrievers (their default rrf_k).
RRF_K = 60.0  # Cormack et al. (2009); ranks from 1
RRF_KS = (1.0, 10.0, 60.0)  # the grid: 1 is Qdrant's default (its k = 2), 60 the literature's
#: Not called by the notebooks; used by AlphaLab and candidates (their default alphas).
ALPHA_GRID = tuple(round(a, 2) for a in np.arange(0, 1.0001, 0.05))  # dense weight, 0 (sparse only) .. 1 (dense only)
SPARSE_SIDES = {"bm25+splade": ("bm25", "splade"), "splade": ("splade",), "bm25": ("bm25",)}  # who shares 1 - alpha
# Retrievers whose lists hold only the documents that share a term with the query (score > 0): RRF gives
# the other documents nothing from them. Dense retrieval ranks every document.
SPARSE_RETRIEVERS = frozenset({"bm25", "splade"})
# The course's recommended hybrid, chosen in notebook 04 on a seeded half of Cranfield's queries
# (splade_helpers.tuning: split_queries(seed=42), a grid of 315 fusions) and reported on the other half:
# min-max normalised scores, dense weight (alpha) 0.65, BM25 and SPLADE 0.175 each.
# tests/test_tuning.py re-runs that choice and fails if this constant drifts from it.
#: Introduced in notebook 00 (section 5, "The Cranfield table").
RECOMMENDED_HYBRID = {"weights": {"bm25": 0.175, "splade": 0.175, "dense": 0.65}, "fusion": "minmax", "rrf_k": RRF_K}
# The hybrid the course runs inside a Qdrant engine (notebooks 04-05): one prefetch of the top 100 per named
# vector, fused by the engine with DBSF and equal weights. It needs no tuning, and min-max over every document
# (RECOMMENDED_HYBRID) is not a fusion an engine can run over its prefetch lists; notebook 04 compares the two
# on the test half, and `python -m splade_helpers.evaluation --backend edge` prints both.
ENGINE_HYBRID = {"vectors": ("dense", "bm25", "splade"), "fusion": "dbsf", "prefetch_limit": 100}


def alpha_weights(alpha: float, sparse: str = "bm25+splade") -> dict[str, float]:
    """Retriever weights: ``alpha`` for dense, ``1 - alpha`` shared equally by the sparse side.

    Not called by the notebooks; used by AlphaLab, explore and candidates.
    """
    alpha = check_alpha(alpha)
    side = SPARSE_SIDES[check_choice(sparse, "sparse", list(SPARSE_SIDES))]
    return {"dense": alpha, **{n: (1.0 - alpha) / len(side) for n in side}}


def qdrant_rrf_k(rrf_k: float) -> int:
    """Qdrant's ``Fusion.Rrf(k=...)`` for our (textbook) ``rrf_k``: ``rrf_k + 1``; Qdrant takes whole numbers only.

    Not called by the notebooks; used by the Qdrant engines (qdrant.EdgeStore, qdrant.ClientStore), which send it as Qdrant's k.
    """
    rrf_k = check_number(rrf_k, "rrf_k", minimum=0.0, maximum=2**31 - 2)
    if rrf_k != int(rrf_k):
        raise ValueError(f"rrf_k={rrf_k!r}: Qdrant's RRF constant is a whole number; use an integer rrf_k "
                         f"(ours = Qdrant's - 1).")
    return int(rrf_k) + 1


def normalize(scores: np.ndarray, normalization: str = "minmax") -> np.ndarray:
    """Normalise each row (query) of a score matrix.

    Not called by the notebooks; used by weighted_sum, FusionTerms, the teacher scores of training and the exercises.

    Args:
        normalization: ``none``; ``minmax`` to [0, 1]; ``zscore`` (mean 0, std 1); ``dbsf`` (Qdrant's
            distribution-based score fusion: ``(s - (mean - 3 std)) / (6 std)`` with the sample std and,
            as in Qdrant, no clip: a score beyond 3 std falls outside [0, 1]). Over the same documents a
            weighted sum of ``dbsf`` rows ranks exactly as one of ``zscore`` rows (an affine map, the same
            for every retriever); Qdrant's DBSF differs because it runs over each prefetch list
            (:func:`fuse_lists`).
    Returns:
        float64 matrix of the same shape; rows with no spread become all zeros (``dbsf``: 0.5, as Qdrant).
    """
    method = check_choice(normalization, "normalization", NORMALIZATIONS)
    a = check_score_matrix(scores)
    if method == "none":
        return a.copy()
    # all three are unchanged by scaling a row: rows with huge scores are scaled to |max| = 1 first,
    # so that hi - lo and the variance cannot overflow (scores of 1e308 would otherwise give NaN)
    peak = np.abs(a).max(axis=1, keepdims=True)
    a = a / np.where(peak > 1e150, peak, 1.0)
    if method == "minmax":
        lo, hi = a.min(axis=1, keepdims=True), a.max(axis=1, keepdims=True)
        span = hi - lo
        return np.divide(a - lo, span, out=np.zeros_like(a), where=span > 0)
    mean, std = a.mean(axis=1, keepdims=True), a.std(axis=1, keepdims=True)
    # a constant row can show a rounding-error std (~1e-16 of its size); relative, so tiny real spreads count
    std = np.where(std <= 1e-12 * np.abs(a).max(axis=1, keepdims=True), 0.0, std)
    if method == "zscore":
        return np.divide(a - mean, std, out=np.zeros_like(a), where=std > 0)
    # DBSF as Qdrant computes it (segment/src/common/score_fusion.rs; qdrant-client's local mode): the sample std
    n = a.shape[1]
    std = std * np.sqrt(n / (n - 1)) if n > 1 else np.zeros_like(std)
    return np.divide(a - (mean - 3 * std), 6 * std, out=np.full_like(a, 0.5), where=std > 0)


def _check_matrices(matrices: Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(matrices, np.ndarray) or not isinstance(matrices, Sequence) or not matrices:
        raise ValueError("pass a non-empty list of score matrices, one per retriever.")
    mats = [check_score_matrix(m, f"scores[{i}]") for i, m in enumerate(matrices)]
    if len({m.shape for m in mats}) > 1:
        raise ValueError(f"score matrices have different shapes {[m.shape for m in mats]}; "
                         f"they must score the same queries and documents.")
    return mats


def weighted_sum(matrices: Sequence[np.ndarray], weights: Sequence[float], normalization: str = "minmax") -> np.ndarray:
    """``sum_i weights[i] * normalize(matrices[i])``: the convex combination of several retrievers.

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").
    """
    mats = _check_matrices(matrices)
    weights = check_weights(weights, "weights", len(mats))
    normalization = check_choice(normalization, "normalization", NORMALIZATIONS)
    return sum(w * normalize(m, normalization) for w, m in zip(weights, mats))


def convex(dense: np.ndarray, sparse: np.ndarray, alpha: float, normalization: str = "minmax") -> np.ndarray:
    """``alpha * dense + (1 - alpha) * sparse`` after per-query normalisation (alpha in [0, 1]).

    Not called by the notebooks; used by tests/test_fusion.py and tests/test_bad_input.py.
    """
    alpha = check_alpha(alpha)
    return weighted_sum([dense, sparse], [alpha, 1.0 - alpha], normalization)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every document per query; ties go to the lower document number.

    Not called by the notebooks; used by rrf and the tuning functions.
    """
    a = check_score_matrix(scores)
    order = np.argsort(-a, axis=1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(1, a.shape[1] + 1)[None, :].repeat(a.shape[0], 0), axis=1)
    return out


def top_k(scores: np.ndarray, k: int = 10) -> np.ndarray:
    """Column indices of each row's ``k`` best scores, best first, ties to the lower index.

    Introduced in notebook 07 (section 3, "Term at a time: the matrix product, one list at a time").

    Same order as a full stable sort of ``-scores``, at a fraction of the cost.
    """
    k = check_int(k, "k", minimum=1)
    if np.ndim(scores) != 2:
        raise ValueError(f"scores must be a (queries x documents) matrix with documents, got shape {np.shape(scores)}.")
    s = check_score_matrix(scores)  # finite numbers as float64 (unsigned integers would wrap under the minus below)
    k = min(k, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(s, part, axis=1)
    order = np.take_along_axis(part, np.lexsort((part, -vals), axis=-1), axis=1)
    kth = vals.min(axis=1)
    ambiguous = (s >= kth[:, None]).sum(axis=1) > k  # ties straddle the cut: resolve exactly
    for row in np.flatnonzero(ambiguous):
        order[row] = np.argsort(-s[row], kind="stable")[:k]
    return order


def rrf_term(rank: np.ndarray, rrf_k: float = RRF_K, weight: float = 1.0) -> np.ndarray:
    """One list's RRF contribution ``1 / (rrf_k + rank / weight)`` (0 where ``rank`` is 0 = not returned)."""
    if weight <= 0:
        return np.zeros(np.shape(rank))
    r = np.asarray(rank, dtype=np.float64)
    return np.divide(1.0, rrf_k + r / weight, out=np.zeros_like(r), where=r > 0)


def rrf(
    matrices: Sequence[np.ndarray],
    rrf_k: float = RRF_K,
    weights: Sequence[float] | None = None,
    depth: int = 1000,
    retrieved: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """(Weighted) reciprocal rank fusion of several score matrices: ``sum_i 1 / (rrf_k + rank_i / w_i)``.

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").

    Args:
        rrf_k: the RRF constant, ranks counted from 1 (60 in Cormack et al.; Qdrant's default is our 1).
        weights: one per matrix (default 1 each); a weight divides the rank (Qdrant's weighting).
        depth: only each retriever's top ``depth`` documents contribute (Qdrant's prefetch limit).
        retrieved: optional boolean masks, one per matrix (``None`` = every document): ``False``
            marks documents a retriever did not return (e.g. a BM25 score of 0); they contribute nothing.
    """
    mats = _check_matrices(matrices)
    rrf_k = check_number(rrf_k, "rrf_k", minimum=0.0, hint="The textbook value is 60; Qdrant's default is 1 in this convention.")
    weights = [1.0] * len(mats) if weights is None else check_weights(weights, "weights", len(mats))
    depth = check_int(depth, "depth", minimum=1, hint="It is how many of each retriever's best documents count.")
    retrieved = [None] * len(mats) if retrieved is None else list(retrieved)
    if len(retrieved) != len(mats):
        raise ValueError(f"retrieved has {len(retrieved)} masks but there are {len(mats)} score matrices; "
                         f"pass one per matrix (None = every document was returned).")
    out = np.zeros(mats[0].shape)
    for i, (a, w, mask) in enumerate(zip(mats, weights, retrieved)):
        r = ranks(a)
        keep = r <= depth
        if mask is not None:
            keep &= _check_mask(mask, a.shape, f"retrieved[{i}]")
        out += rrf_term(np.where(keep, r, 0), rrf_k, w)
    return out


def _check_mask(mask: object, shape: tuple[int, int], what: str) -> np.ndarray:
    """A boolean mask of exactly ``shape`` (one row may be given as a flat list); never reshaped to fit."""
    m = np.asarray(mask)
    if m.ndim == 1 and shape[0] == 1:
        m = m[None, :]
    if m.shape != shape:
        flipped = " (transposed? rows are queries, columns documents)" if m.shape == shape[::-1] else ""
        raise ValueError(f"{what} has shape {m.shape}, expected {shape}{flipped}: one True/False per query and document.")
    if m.dtype != np.bool_ and not np.isin(m, (0, 1)).all():
        raise ValueError(f"{what} must hold True/False (or 0/1) per document, got other values.")
    return m.astype(bool)


def _check_lists(lists: object) -> list[list[tuple[str, float]]]:
    """Ranked lists as ``[[(doc_id, score), ...], ...]``: a list of lists of (str, finite number) pairs."""
    if isinstance(lists, (str, bytes)) or not isinstance(lists, Sequence):
        raise TypeError(f"lists={lists!r:.60} must be a list of ranked lists, e.g. [[('d1', 2.5), ('d7', 1.0)], [...]].")
    out = []
    for i, lst in enumerate(lists):
        if isinstance(lst, (str, bytes)) or not isinstance(lst, Sequence):
            raise TypeError(f"lists[{i}]={lst!r:.60} must be a ranked list of (doc_id, score) pairs.")
        pairs = []
        for j, item in enumerate(lst):
            if not isinstance(item, (tuple, list)) or len(item) != 2 or not isinstance(item[0], str):
                raise TypeError(f"lists[{i}][{j}]={item!r:.60} must be a (doc_id, score) pair with a str doc_id.")
            pairs.append((item[0], check_number(item[1], f"lists[{i}][{j}] score")))
        if len({d for d, _ in pairs}) != len(pairs):
            raise ValueError(f"lists[{i}] names a document twice; a ranked list holds each document once.")
        out.append(pairs)
    return out


def fuse_lists(
    lists: Sequence[Sequence[tuple[str, float]]],
    fusion: str = "rrf",
    limit: int = 10,
    rrf_k: float = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[str, float]]:
    """Qdrant's fusion of ranked ``(doc_id, score)`` lists (its prefetch results), computed here.

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").

    RRF: a document at rank r (from 1) of list i gets ``1 / (rrf_k + r / w_i)`` (:func:`rrf`'s convention;
    Qdrant's ``Fusion.Rrf(k=rrf_k + 1, weights=w)``). DBSF: each list is scaled by
    ``(s - (mean - 3 std)) / (6 std)`` with the sample std (one item, or no spread -> 0.5; no clip) and
    summed, unweighted (Qdrant's ``Fusion.Dbsf()`` takes no weights). Ties keep first-seen order.
    """
    lists = _check_lists(lists)
    fusion = check_choice(fusion, "fusion", ("rrf", "dbsf"))
    if fusion == "dbsf" and weights is not None:
        raise ValueError(f"weights={weights!r:.60} apply to rrf only: Qdrant's DBSF takes no weights "
                         f"(Fusion.Dbsf()). Drop weights, or use fusion='rrf' to weight the lists.")
    limit = check_int(limit, "limit", minimum=1)
    rrf_k = check_number(rrf_k, "rrf_k", minimum=0.0)
    weights = [1.0] * len(lists) if weights is None else check_weights(weights, "weights", len(lists))
    scores: dict[str, float] = {}
    for lst, w in zip(lists, weights):
        if fusion == "rrf":
            for r, (d, _) in enumerate(lst, 1):
                scores[d] = scores.get(d, 0.0) + (1.0 / (rrf_k + r / w) if w > 0 else 0.0)
            continue
        if not lst:
            continue
        vals = np.array([s for _, s in lst], dtype=np.float64)
        peak = np.abs(vals).max()
        vals = vals / peak if peak > 1e150 else vals  # unchanged by scaling; 1e308 would overflow the variance
        std = vals.std(ddof=1) if len(vals) > 1 else 0.0
        norm = np.full(len(vals), 0.5) if std == 0 else (vals - (vals.mean() - 3 * std)) / (6 * std)
        for (d, _), v in zip(lst, norm):
            scores[d] = scores.get(d, 0.0) + float(v)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:limit]


def fuse(
    scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    fusion: str = "minmax",
    rrf_k: float = RRF_K,
) -> np.ndarray:
    """Fuse named retrievers' (queries x documents) score matrices: the one definition of a hybrid's score.

    Not called by the notebooks; used by HybridRetriever, AlphaLab, the tuning functions and benchmarks/interaction.py.

    Args:
        scores: score matrix per retriever name (``"bm25"``, ``"splade"``, ``"dense"``, ...).
        weights: weight per retriever; only these retrievers are fused, in this order.
        fusion: a normalisation for a weighted sum (``minmax``, ``zscore``, ``dbsf``, ``none``) or ``rrf``
            (ranks from 1; a retriever of :data:`SPARSE_RETRIEVERS` gives nothing to documents it scored 0).
    """
    fusion = check_choice(fusion, "fusion", FUSIONS)
    for value, what, example in ((scores, "scores", "{'bm25': matrix, 'dense': matrix}"),
                                 (weights, "weights", "{'bm25': 0.5, 'dense': 0.5}")):
        if not isinstance(value, Mapping) or not value:
            raise TypeError(f"{what}={_shown(value)} must be a non-empty dict keyed by retriever name, e.g. {example}.")
    missing = [n for n in weights if n not in scores]
    if missing:
        raise ValueError(f"weights name {missing}, which have no scores; have {sorted(scores)}.")
    names = list(weights)
    matrices, w = [scores[n] for n in names], [weights[n] for n in names]
    if fusion == "rrf":
        masks = [np.asarray(m) > 0 if n in SPARSE_RETRIEVERS else None for n, m in zip(names, matrices)]
        return rrf(matrices, rrf_k, w, retrieved=masks)
    return weighted_sum(matrices, w, fusion)

