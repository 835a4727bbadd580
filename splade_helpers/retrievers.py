"""BM25, SPLADE, dense and hybrid retrieval behind one small interface.

Every retriever: ``index(doc_ids, texts)``, then ``scores(queries)`` -> a (queries x documents)
matrix, and ``search(queries, k)`` -> one ranked ``[(doc_id, score), ...]`` list per query.
Ranking is by score, ties broken by document order. Sparse retrievers (BM25, SPLADE:
``fusion.SPARSE_RETRIEVERS``) return only documents that share at least one term with the query
(score > 0); an empty query returns []. Introduced in notebooks 00 (all four) and 04 (the hybrid).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from .bm25 import BM25
from .cache import digest
from .dense import DenseEncoder
from .fusion import FUSIONS, RECOMMENDED_HYBRID, RRF_K, SPARSE_RETRIEVERS, fuse, top_k
from .sparse import SpladeEncoder
from .validation import check_choice, check_documents, check_int, check_number, check_texts, check_unique_ids, check_weights


class Retriever:
    """Base class: subclasses implement ``_index`` and ``scores``.

    Not called by the notebooks; used by every retriever, which implements it, and compare_retrievers.
    """

    name = "retriever"
    encode_seconds = 0.0  # time spent encoding (documents and queries) so far; += makes it per instance

    def __init__(self) -> None:
        self.doc_ids: list[str] = []
        self.indexed: str = ""  # digest of the documents (ids and texts) indexed, "" = none

    def index(self, doc_ids: Sequence[str], texts: Sequence[str]) -> Retriever:
        """Index documents; ``doc_ids`` must be unique and as many as ``texts``."""
        doc_ids, texts = check_documents(doc_ids, texts)
        start = time.perf_counter()
        self._index(doc_ids, texts)
        self.encode_seconds += time.perf_counter() - start
        self.doc_ids = doc_ids
        self.indexed = documents_digest(doc_ids, texts)
        return self

    @property
    def sparse(self) -> bool:
        """True when only documents with a positive score are retrieved (``fusion.SPARSE_RETRIEVERS``)."""
        return self.name in SPARSE_RETRIEVERS

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        raise NotImplementedError

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """A (len(queries) x documents) float matrix."""
        raise NotImplementedError

    def _check_indexed(self) -> None:
        if not self.doc_ids:
            raise ValueError(f"{self.name}: no documents indexed; call .index(doc_ids, texts) first.")

    def rank(self, scores: np.ndarray, k: int = 100) -> list[list[tuple[str, float]]]:
        """Turn a score matrix into ranked ``(doc_id, score)`` lists (ties: document order)."""
        k = check_int(k, "k", minimum=1, hint="It is how many documents to return per query.")
        self._check_indexed()
        scores = np.asarray(scores)
        if scores.ndim != 2 or scores.shape[1] != len(self.doc_ids):
            raise ValueError(f"scores have shape {scores.shape}; expected (queries, {len(self.doc_ids)}) for the "
                             f"{len(self.doc_ids)} indexed documents.")
        out = []
        for row, order in zip(scores, top_k(scores, k)):
            if self.sparse:
                order = order[row[order] > 0]
            out.append([(self.doc_ids[i], float(row[i])) for i in order])
        return out

    def search(self, queries: Sequence[str], k: int = 100) -> list[list[tuple[str, float]]]:
        """The top ``k`` documents for each query, best first."""
        return self.rank(self.scores(queries), k)

    def run(self, query_ids: Sequence[str], queries: Sequence[str], k: int = 100) -> dict[str, list[tuple[str, float]]]:
        """``search`` keyed by query id: the input of :func:`splade_helpers.evaluation.evaluate_run`."""
        query_ids = check_unique_ids(query_ids, "query ids")
        queries = check_texts(queries, "queries")
        if len(query_ids) != len(queries):
            raise ValueError(f"{len(query_ids)} query ids but {len(queries)} queries.")
        return dict(zip(query_ids, self.search(queries, k)))


class BM25Retriever(Retriever):
    """BM25 via bm25s (see :mod:`splade_helpers.bm25`).

    Introduced in notebook 00 (section 4, "How we measure a ranking").
    """

    name = "bm25"

    def __init__(self, **bm25_args) -> None:
        super().__init__()
        self.bm25 = BM25(**bm25_args)

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        self.bm25.index(texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_indexed()
        return self.bm25.scores(check_texts(queries, "queries"))


class SpladeRetriever(Retriever):
    """SPLADE: score = dot product of the query's and the document's sparse vectors.

    Introduced in notebook 01 (section 2, "The vocabulary-mismatch problem").
    """

    name = "splade"

    def __init__(self, encoder: SpladeEncoder | None = None) -> None:
        super().__init__()
        self.encoder = encoder or SpladeEncoder()
        self.doc_matrix: sp.csr_matrix | None = None

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        self.doc_matrix = self.encoder.encode_documents(texts)

    def query_matrix(self, queries: Sequence[str]) -> sp.csr_matrix:
        start = time.perf_counter()
        q = self.encoder.encode_queries(check_texts(queries, "queries"))
        self.encode_seconds += time.perf_counter() - start
        return q

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_indexed()
        return (self.query_matrix(queries) @ self.doc_matrix.T).toarray()


class DenseRetriever(Retriever):
    """Dense: cosine similarity of normalised embeddings.

    Introduced in notebook 04 (section 2, "Three score matrices, three scales").
    """

    name = "dense"

    def __init__(self, encoder: DenseEncoder | None = None) -> None:
        super().__init__()
        self.encoder = encoder or DenseEncoder()
        self.doc_matrix: np.ndarray | None = None

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        self.doc_matrix = self.encoder.encode(texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_indexed()
        start = time.perf_counter()
        q = self.encoder.encode(check_texts(queries, "queries"))
        self.encode_seconds += time.perf_counter() - start
        return q @ self.doc_matrix.T


class HybridRetriever(Retriever):
    """Fuse several retrievers' scores per query (:func:`splade_helpers.fusion.fuse`).

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").

    Args:
        retrievers: the component retrievers (indexed together by :meth:`index`), with distinct names.
        weights: one weight per retriever.
        fusion: ``"rrf"`` or a normalisation for a weighted sum (``minmax``, ``zscore``, ``dbsf``, ``none``).
        rrf_k: the RRF constant when ``fusion="rrf"``.
    """

    name = "hybrid"

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        weights: Sequence[float] | None = None,
        fusion: str = "minmax",
        rrf_k: float = RRF_K,
    ) -> None:
        super().__init__()
        retrievers = list(retrievers) if isinstance(retrievers, Iterable) else retrievers  # a generator is read once
        if not retrievers or not all(isinstance(r, Retriever) for r in retrievers):
            raise ValueError("a hybrid needs a non-empty list of retrievers.")
        names = [r.name for r in retrievers]
        if len(set(names)) != len(names):
            raise ValueError(f"retrievers {names} repeat a name; a hybrid fuses distinct retrievers.")
        self.fusion = check_choice(fusion, "fusion", FUSIONS)
        self.retrievers = list(retrievers)
        self.weights = [1.0] * len(self.retrievers) if weights is None else check_weights(weights, "weights", len(self.retrievers))
        self.rrf_k = check_number(rrf_k, "rrf_k", minimum=0.0)

    def __repr__(self) -> str:
        parts = ", ".join(f"{r.name}={w:g}" for r, w in zip(self.retrievers, self.weights))
        return f"HybridRetriever({parts}, fusion={self.fusion!r})"

    @property
    def encode_seconds(self) -> float:  # type: ignore[override]
        """Derived from the components."""
        return sum(r.encode_seconds for r in self.retrievers)

    def index(self, doc_ids: Sequence[str], texts: Sequence[str]) -> HybridRetriever:
        """Index every component that does not hold these exact documents (ids and texts) yet."""
        doc_ids, texts = check_documents(doc_ids, texts)
        key = documents_digest(doc_ids, texts)
        for r in self.retrievers:
            if r.indexed != key:
                r.index(doc_ids, texts)
        self.doc_ids, self.indexed = doc_ids, key
        return self

    def fuse(self, matrices: Sequence[np.ndarray]) -> np.ndarray:
        """Fuse the component score matrices (in the order of ``retrievers``)."""
        if len(matrices) != len(self.retrievers):
            raise ValueError(f"{len(matrices)} score matrices for {len(self.retrievers)} retrievers; pass one per retriever.")
        names = [r.name for r in self.retrievers]
        return fuse(dict(zip(names, matrices)), dict(zip(names, self.weights)), self.fusion, self.rrf_k)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_indexed()
        moved = [r.name for r in self.retrievers if r.indexed != self.indexed]
        if moved:  # re-indexed on its own since: its columns are other documents than the hybrid's
            raise ValueError(f"the hybrid's component(s) {moved} now hold other documents than the hybrid indexed; "
                             f"call .index(doc_ids, texts) on the hybrid again (it re-indexes what changed).")
        return self.fuse([r.scores(queries) for r in self.retrievers])


RETRIEVERS = ("bm25", "splade", "dense", "hybrid")


def retriever_names(names: Sequence[str] | str) -> list[str]:
    """Validated retriever names from :data:`RETRIEVERS`, in order, each once (a list or a comma-separated string)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    names = list(names)
    unknown = [n for n in names if n not in RETRIEVERS]
    if not names:
        raise ValueError(f"no retriever named; choose one or more of {list(RETRIEVERS)}.")
    if unknown:
        raise ValueError(f"unknown retriever(s) {unknown}; choose from {list(RETRIEVERS)}.")
    return list(dict.fromkeys(names))


def build_retrievers(
    names: Sequence[str] | str = RETRIEVERS,
    makers: Mapping[str, Callable[[], Retriever]] | None = None,
) -> dict[str, Retriever]:
    """Make the named retrievers; ``hybrid`` (``fusion.RECOMMENDED_HYBRID``) shares its components.

    Introduced in notebook 00 (section 5, "The Cranfield table").
    Also used by compare_retrievers (python -m splade_helpers.evaluation) and training.teacher_scores.

    Args:
        names: a subset of :data:`RETRIEVERS` (a list, or a comma-separated string).
        makers: how to make ``bm25`` / ``splade`` / ``dense`` (default: the in-memory retrievers).
    """
    wanted = retriever_names(names)
    makers = dict(makers or {"bm25": BM25Retriever, "splade": SpladeRetriever, "dense": DenseRetriever})
    made: dict[str, Retriever] = {}
    parts = list(RECOMMENDED_HYBRID["weights"]) if "hybrid" in wanted else []
    for n in [*parts, *wanted]:
        if n != "hybrid" and n not in made:
            made[n] = makers[n]()
    if "hybrid" in wanted:
        made["hybrid"] = HybridRetriever(
            [made[c] for c in parts],
            weights=[RECOMMENDED_HYBRID["weights"][c] for c in parts],
            fusion=RECOMMENDED_HYBRID["fusion"],
            rrf_k=RECOMMENDED_HYBRID["rrf_k"],
        )
    return {n: made[n] for n in wanted}


def documents_digest(doc_ids: Sequence[str], texts: Sequence[str]) -> str:
    """A short hash of documents (ids and texts, in order): equal digests, same index."""
    return digest("documents", len(doc_ids), texts=[x for pair in zip(doc_ids, texts) for x in pair], size=16)
