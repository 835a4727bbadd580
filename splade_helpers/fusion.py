"""Fusing the scores of several retrievers, vectorised over a (queries x documents) matrix.

Two families:

* score fusion: normalise each retriever's scores per query, then take a weighted sum
  (``alpha`` is the dense weight, as in the seed's ``hybrid_score``);
* rank fusion (RRF): ``sum_r w_r / (k + rank_r(d))`` over the retrievers that ranked ``d``
  in their top ``depth``; ranks start at 1. The literature's ``k`` is 60; Qdrant's default is 2.

A query whose scores are all equal (e.g. an empty query: all zeros) normalises to all zeros,
so it adds nothing to the fused score; ties are then broken by document order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .validation import check_alpha

NORMALIZATIONS = ("none", "minmax", "zscore", "dbsf")


def _check_matrix(scores: np.ndarray, what: str = "scores") -> np.ndarray:
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"{what} must be a (queries x documents) matrix, got shape {a.shape}.")
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(
            f"{what} contains {a[tuple(bad)]} at (query {bad[0]}, document {bad[1]}); "
            f"scores must be finite: fix or drop the retriever that produced them."
        )
    return a


def normalize(scores: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Normalise each row (query) of a score matrix.

    Args:
        method: ``none``; ``minmax`` to [0, 1]; ``zscore`` (mean 0, std 1); ``dbsf`` (Qdrant's
            distribution-based score fusion: ``(s - (mean - 3 std)) / (6 std)``, clipped to [0, 1]).
    Returns:
        float64 matrix of the same shape; rows with no spread become all zeros.
    """
    a = _check_matrix(scores)
    if method == "none":
        return a.copy()
    if method == "minmax":
        lo, hi = a.min(axis=1, keepdims=True), a.max(axis=1, keepdims=True)
        span = hi - lo
        return np.divide(a - lo, span, out=np.zeros_like(a), where=span > 0)
    mean, std = a.mean(axis=1, keepdims=True), a.std(axis=1, keepdims=True)
    # a constant row can show a rounding-error std (~1e-17); treat it as no spread
    std = np.where(std <= 1e-12 * np.maximum(np.abs(a).max(axis=1, keepdims=True), 1.0), 0.0, std)
    if method == "zscore":
        return np.divide(a - mean, std, out=np.zeros_like(a), where=std > 0)
    if method == "dbsf":
        out = np.divide(a - (mean - 3 * std), 6 * std, out=np.zeros_like(a), where=std > 0)
        return np.clip(out, 0.0, 1.0)
    raise ValueError(f"normalization={method!r} is not supported; use one of {NORMALIZATIONS}.")


def weighted_sum(matrices: Sequence[np.ndarray], weights: Sequence[float], normalization: str = "minmax") -> np.ndarray:
    """``sum_i weights[i] * normalize(matrices[i])``: the convex combination of several retrievers."""
    if len(matrices) != len(weights) or not matrices:
        raise ValueError(f"need one weight per score matrix, got {len(matrices)} matrices and {len(weights)} weights.")
    mats = [_check_matrix(m, f"scores[{i}]") for i, m in enumerate(matrices)]
    if len({m.shape for m in mats}) > 1:
        raise ValueError(f"score matrices have different shapes {[m.shape for m in mats]}; they must score the same queries and documents.")
    for w in weights:
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"weight {w!r} must be a finite number >= 0.")
    return sum(w * normalize(m, normalization) for w, m in zip(weights, mats))


def convex(dense: np.ndarray, sparse: np.ndarray, alpha: float, normalization: str = "minmax") -> np.ndarray:
    """``alpha * dense + (1 - alpha) * sparse`` after per-query normalisation (alpha in [0, 1])."""
    alpha = check_alpha(alpha)
    return weighted_sum([dense, sparse], [alpha, 1.0 - alpha], normalization)


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every document per query; ties go to the lower document number."""
    a = _check_matrix(scores)
    order = np.argsort(-a, axis=1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(1, a.shape[1] + 1)[None, :].repeat(a.shape[0], 0), axis=1)
    return out


def top_k(scores: np.ndarray, k: int = 10) -> np.ndarray:
    """Column indices of each row's ``k`` best scores, best first, ties to the lower index.

    Same order as a full stable sort of ``-scores``, at a fraction of the cost.
    """
    s = np.asarray(scores)
    k = min(k, s.shape[1])
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(s, part, axis=1)
    order = np.take_along_axis(part, np.lexsort((part, -vals), axis=-1), axis=1)
    kth = vals.min(axis=1)
    ambiguous = (s >= kth[:, None]).sum(axis=1) > k  # ties straddle the cut: resolve exactly
    for row in np.flatnonzero(ambiguous):
        order[row] = np.argsort(-s[row], kind="stable")[:k]
    return order


def rrf(
    matrices: Sequence[np.ndarray],
    k: float = 60.0,
    weights: Sequence[float] | None = None,
    depth: int = 1000,
    retrieved: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """(Weighted) reciprocal rank fusion of several score matrices.

    Args:
        k: the RRF constant (60 in Cormack et al. 2009; Qdrant uses 2).
        weights: one per matrix (default 1 each).
        depth: only each retriever's top ``depth`` documents contribute.
        retrieved: optional boolean masks: ``False`` marks documents a retriever did not return
            (e.g. a BM25 score of 0); they contribute nothing.
    """
    if not matrices:
        raise ValueError("rrf needs at least one score matrix.")
    if k < 0 or not np.isfinite(k):
        raise ValueError(f"k={k!r} must be a finite number >= 0.")
    weights = [1.0] * len(matrices) if weights is None else list(weights)
    if len(weights) != len(matrices):
        raise ValueError(f"need one weight per score matrix, got {len(matrices)} matrices and {len(weights)} weights.")
    retrieved = [None] * len(matrices) if retrieved is None else list(retrieved)
    shape = _check_matrix(matrices[0]).shape
    out = np.zeros(shape)
    for i, (m, w, mask) in enumerate(zip(matrices, weights, retrieved)):
        a = _check_matrix(m, f"scores[{i}]")
        if a.shape != shape:
            raise ValueError(f"scores[{i}] has shape {a.shape}, expected {shape}.")
        r = ranks(a)
        keep = r <= depth
        if mask is not None:
            keep &= np.asarray(mask, dtype=bool).reshape(shape)
        out += np.where(keep, w / (k + r), 0.0)
    return out


def seed_hybrid_score(query_repr: dict, doc_repr: dict, alpha: float = 0.7) -> float:
    """The seed's ``HybridSPLADESearcher.hybrid_score``, reproduced exactly (kept for comparison).

    ``alpha * cosine(dense) + (1 - alpha) * sparse``, where ``sparse = q . d / (sum(q) + sum(d))``
    when the dot product is positive (the seed's "approximate" normalisation), else 0. The
    divisor makes long documents (large ``sum(d)``) score lower whatever their relevance.

    Args:
        query_repr, doc_repr: ``{"dense": list[float], "sparse": {"indices": [...], "values": [...]}}``.
    """
    alpha = check_alpha(alpha)
    q_dense, d_dense = np.asarray(query_repr["dense"], float), np.asarray(doc_repr["dense"], float)
    norms = np.linalg.norm(q_dense) * np.linalg.norm(d_dense)
    dense_sim = float(q_dense @ d_dense / norms) if norms > 0 else 0.0
    q_sparse = dict(zip(query_repr["sparse"]["indices"], query_repr["sparse"]["values"]))
    d_sparse = dict(zip(doc_repr["sparse"]["indices"], doc_repr["sparse"]["values"]))
    sparse_sim = sum(q_sparse[i] * d_sparse[i] for i in set(q_sparse) & set(d_sparse))
    if sparse_sim > 0:
        sparse_sim = sparse_sim / (sum(q_sparse.values()) + sum(d_sparse.values()))
    return alpha * dense_sim + (1 - alpha) * sparse_sim


def seed_hybrid_matrix(
    dense: np.ndarray, sparse: np.ndarray, query_sums: np.ndarray, doc_sums: np.ndarray, alpha: float = 0.7
) -> np.ndarray:
    """:func:`seed_hybrid_score` for every (query, document) pair at once.

    Args:
        dense: cosine similarities (queries x documents).
        sparse: SPLADE dot products (queries x documents).
        query_sums, doc_sums: the sum of each query's / document's SPLADE weights.
    """
    alpha = check_alpha(alpha)
    d, s = _check_matrix(dense, "dense"), _check_matrix(sparse, "sparse")
    if d.shape != s.shape:
        raise ValueError(f"dense {d.shape} and sparse {s.shape} score matrices must have the same shape.")
    denom = np.asarray(query_sums, float).reshape(-1, 1) + np.asarray(doc_sums, float).reshape(1, -1)
    if denom.shape != s.shape:
        raise ValueError(f"need one sum per query ({s.shape[0]}) and per document ({s.shape[1]}), got {denom.shape}.")
    sparse_part = np.divide(s, denom, out=np.zeros_like(s), where=(s > 0) & (denom > 0))
    return alpha * d + (1 - alpha) * sparse_part
