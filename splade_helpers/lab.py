"""The computations behind the interactive hybrid tools of notebook 04 (alpha slider, explorer), without widgets.

Widgets in :mod:`splade_helpers.widgets` only call these methods and display what they return, so
tests check every number an instructor sees without a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .datasets import Dataset
from .fusion import ALPHA_GRID, FUSIONS, RECOMMENDED_HYBRID, RRF_K, SPARSE_SIDES, alpha_weights, fuse, top_k
from .retrievers import Retriever
from .tuning import FusionTerms, gain_matrix, ndcg_at_k
from .validation import check_choice, check_int, check_text


class AlphaLab:
    """Fusion of dense (weight ``alpha``) with a sparse side (weight ``1 - alpha``), for all queries.

    Introduced in notebook 04 (section 5, "The alpha slider").

    Args:
        dataset: gives query ids, document ids and gains.
        scores: ``{"bm25": Q x D, "splade": Q x D, "dense": Q x D}`` in dataset order.
        alphas: the grid of the nDCG@10-versus-alpha curve.
    """

    def __init__(self, dataset: Dataset, scores: Mapping[str, np.ndarray], alphas: Sequence[float] | None = None) -> None:
        missing = {"bm25", "splade", "dense"} - set(scores)
        if missing:
            raise ValueError(f"scores lack {sorted(missing)}; pass bm25, splade and dense score matrices.")
        shape = (len(dataset.query_ids), len(dataset.doc_ids))
        for name, m in scores.items():
            if np.shape(m) != shape:
                raise ValueError(f"scores[{name!r}] has shape {np.shape(m)}, expected {shape} (queries x documents).")
        self.dataset = dataset
        self.raw = {n: np.asarray(m, dtype=np.float64) for n, m in scores.items()}
        self.gains = gain_matrix(dataset)
        self.alphas = np.asarray(ALPHA_GRID if alphas is None else alphas, float)
        self.terms = FusionTerms(self.raw)
        self._curves: dict[tuple[str, str], np.ndarray] = {}

    def weights(self, alpha: float, sparse: str = "bm25+splade") -> dict[str, float]:
        """Retriever weights for ``alpha`` (see :func:`alpha_weights`)."""
        return alpha_weights(alpha, sparse)

    def fused(self, alpha: float, fusion: str = "minmax", sparse: str = "bm25+splade", rrf_k: float = RRF_K) -> np.ndarray:
        """The fused (queries x documents) matrix: one matrix operation for every query."""
        fusion = check_choice(fusion, "fusion", FUSIONS)
        return self.terms.fuse(self.weights(alpha, sparse), fusion, rrf_k)

    def curve(self, fusion: str = "minmax", sparse: str = "bm25+splade") -> np.ndarray:
        """Mean nDCG@10 at every alpha of the grid (computed once per fusion and sparse side)."""
        fusion = check_choice(fusion, "fusion", FUSIONS)
        key = (fusion, check_choice(sparse, "sparse", list(SPARSE_SIDES)))
        if key not in self._curves:
            self._curves[key] = np.array([ndcg_at_k(self.fused(float(a), fusion, sparse), self.gains).mean() for a in self.alphas])
        return self._curves[key]

    def state(
        self,
        alpha: float,
        fusion: str = "minmax",
        query_id: str | None = None,
        sparse: str = "bm25+splade",
        previous: Sequence[str] | None = None,
        k: int = 10,
    ) -> dict:
        """Everything one slider position shows.

        Returns:
            ``alpha``, ``fusion``, ``mean_ndcg`` (all queries at this alpha), ``query_ndcg``,
            ``top``: rows ``(rank, doc_id, score, gain, movement)`` for ``query_id`` where movement
            is the change of rank against ``previous`` (the last top list shown; ``None`` = new
            entry, 0 when there is no previous list).
        """
        query_id = self.dataset.query_ids[0] if query_id is None else query_id
        if query_id not in self.dataset.query_ids:
            raise ValueError(f"query_id={query_id!r} is not a query of {self.dataset.name!r} (e.g. {self.dataset.query_ids[0]!r}).")
        k = check_int(k, "k", minimum=1)
        row = self.dataset.query_ids.index(query_id)
        fused = self.fused(alpha, fusion, sparse)
        per_query = ndcg_at_k(fused, self.gains)
        order = top_k(fused[row : row + 1], k)[0]
        ids = [self.dataset.doc_ids[i] for i in order]
        before = {d: r for r, d in enumerate(previous or [], 1)}
        top = []
        for rank, (i, d) in enumerate(zip(order, ids), 1):
            move = 0 if previous is None else (before[d] - rank if d in before else None)
            top.append((rank, d, float(fused[row, i]), int(self.gains[row, i]), move))
        return {"alpha": float(alpha), "fusion": fusion, "sparse": sparse, "mean_ndcg": float(per_query.mean()),
                "query_id": query_id, "query_ndcg": float(per_query[row]), "top": top}


def explore(
    query: str,
    retrievers: Mapping[str, Retriever],
    alpha: float = RECOMMENDED_HYBRID["weights"]["dense"],
    k: int = 10,
) -> dict[str, list[tuple[str, float]]]:
    """One typed query through BM25, SPLADE, dense and their hybrid (the recommended fusion, dense weight ``alpha``).

    Introduced in notebook 04 (section 6, "The explorer: any query, four retrievers side by side").

    Args:
        retrievers: indexed ``bm25``, ``splade`` and ``dense`` retrievers over the same documents.
    Returns:
        ``{"bm25": [...], "splade": [...], "dense": [...], "hybrid": [...]}`` ranked (doc_id, score)
        lists; an empty query gives four empty lists.
    """
    query = check_text(query, "query")
    w = alpha_weights(alpha)
    k = check_int(k, "k", minimum=1)
    names = ("bm25", "splade", "dense")
    missing = [n for n in names if n not in retrievers]
    if missing:
        raise ValueError(f"retrievers lack {missing}; pass indexed bm25, splade and dense retrievers.")
    held = {retrievers[n].indexed for n in names}
    if len(held) != 1 or not retrievers["dense"].doc_ids:  # fusing columns of different documents would mix them up
        raise ValueError("the bm25, splade and dense retrievers must be indexed on the same documents, in the same order; "
                         "call .index(doc_ids, texts) on each with the same two lists.")
    if not query.strip():
        return {n: [] for n in (*names, "hybrid")}
    scores = {n: retrievers[n].scores([query]) for n in names}
    out = {n: retrievers[n].rank(scores[n], k)[0] for n in names}
    fused = fuse(scores, {n: w[n] for n in names}, RECOMMENDED_HYBRID["fusion"], RECOMMENDED_HYBRID["rrf_k"])
    doc_ids = retrievers["dense"].doc_ids
    out["hybrid"] = [(doc_ids[i], float(fused[0, i])) for i in top_k(fused, k)[0]]
    return out
