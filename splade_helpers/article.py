"""The reference article's hybrid formula, reproduced exactly so the course can measure it (notebooks 00 and 04).

``alpha * cosine + (1 - alpha) * sparse / (sum(q) + sum(d))``: one pair at a time as the article computes it,
and for every (query, document) pair at once. The course's own fusions live in :mod:`splade_helpers.fusion`.
"""

from __future__ import annotations

import numpy as np

from .validation import check_alpha, check_score_matrix, check_sparse_vector


def article_hybrid_score(query_repr: dict, doc_repr: dict, alpha: float = 0.7) -> float:
    """The reference article's ``HybridSPLADESearcher.hybrid_score``, reproduced exactly (kept for comparison).

    Introduced in notebook 00 (section "The reference article").

    ``alpha * cosine(dense) + (1 - alpha) * sparse``, where ``sparse = q . d / (sum(q) + sum(d))``
    when the dot product is positive (the article's "approximate" normalisation), else 0. The
    divisor makes long documents (large ``sum(d)``) score lower whatever their relevance.

    Args:
        query_repr, doc_repr: ``{"dense": list[float], "sparse": {"indices": [...], "values": [...]}}``.
    """
    alpha = check_alpha(alpha)
    q_dense, d_dense = _check_repr(query_repr, "query_repr"), _check_repr(doc_repr, "doc_repr")
    if q_dense.shape != d_dense.shape:
        raise ValueError(f"query_repr['dense'] has {q_dense.size} numbers and doc_repr['dense'] {d_dense.size}; encode both "
                         f"with the same dense model.")
    norms = np.linalg.norm(q_dense) * np.linalg.norm(d_dense)
    dense_sim = float(q_dense @ d_dense / norms) if norms > 0 else 0.0
    q_sparse = dict(zip(query_repr["sparse"]["indices"], query_repr["sparse"]["values"]))
    d_sparse = dict(zip(doc_repr["sparse"]["indices"], doc_repr["sparse"]["values"]))
    sparse_sim = sum(q_sparse[i] * d_sparse[i] for i in set(q_sparse) & set(d_sparse))
    if sparse_sim > 0:
        sparse_sim = sparse_sim / (sum(q_sparse.values()) + sum(d_sparse.values()))
    return alpha * dense_sim + (1 - alpha) * sparse_sim


def _check_repr(r: object, name: str) -> np.ndarray:
    """The article's ``{"dense": [...], "sparse": {"indices": [...], "values": [...]}}``, checked; its dense vector."""
    shape = "{'dense': [...], 'sparse': {'indices': [...], 'values': [...]}}"
    if not isinstance(r, dict) or not isinstance(r.get("sparse"), dict) or "dense" not in r \
            or not {"indices", "values"} <= set(r["sparse"]):
        raise TypeError(f"{name} must be a dict {shape} (what the article's encode returns), got {str(r)[:60]!r}.")
    try:
        dense = np.asarray(r["dense"], dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}['dense'] must be a list of numbers, got {str(r['dense'])[:60]!r}.") from None
    if dense.ndim != 1 or not np.isfinite(dense).all():
        raise ValueError(f"{name}['dense'] must be one vector of finite numbers, got shape {dense.shape}"
                         f"{' with NaN or infinity' if dense.ndim == 1 else ''}.")
    check_sparse_vector(r["sparse"]["indices"], r["sparse"]["values"], 2**32, f"{name}['sparse']")  # no silent zip cut or repeat
    return dense


def article_hybrid_matrix(
    dense: np.ndarray, sparse: np.ndarray, query_sums: np.ndarray, doc_sums: np.ndarray, alpha: float = 0.7
) -> np.ndarray:
    """:func:`article_hybrid_score` for every (query, document) pair at once.

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").

    Args:
        dense: cosine similarities (queries x documents).
        sparse: SPLADE dot products (queries x documents).
        query_sums, doc_sums: the sum of each query's / document's SPLADE weights.
    """
    alpha = check_alpha(alpha)
    d, s = check_score_matrix(dense, "dense"), check_score_matrix(sparse, "sparse")
    if d.shape != s.shape:
        raise ValueError(f"dense {d.shape} and sparse {s.shape} score matrices must have the same shape.")
    sums = []
    for what, x in (("query_sums", query_sums), ("doc_sums", doc_sums)):
        try:
            a = np.asarray(x, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be a list of numbers (the sum of each vector's SPLADE weights).") from None
        if not np.isfinite(a).all() or (a < 0).any():
            bad = a[~np.isfinite(a) | (a < 0)][0]
            raise ValueError(f"{what} holds {bad}; sums of SPLADE weights are finite and >= 0.")
        sums.append(a)
    denom = sums[0].reshape(-1, 1) + sums[1].reshape(1, -1)
    if denom.shape != s.shape:
        raise ValueError(f"query_sums has {sums[0].size} values and doc_sums {sums[1].size}; need one per query "
                         f"({s.shape[0]}) and one per document ({s.shape[1]}).")
    sparse_part = np.divide(s, denom, out=np.zeros_like(s), where=(s > 0) & (denom > 0))
    return alpha * d + (1 - alpha) * sparse_part
