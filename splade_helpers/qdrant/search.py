"""Queries, engine-neutral: filter conditions, the requests an engine runs, and the query methods every store shares.

:class:`Nearest` and :class:`Fused` describe a request in the course's terms (named vectors, RRF in the
textbook convention); each engine translates them into its own object model. :class:`StoreQueries`
turns texts and vectors into validated requests and engine answers into ``(doc_id, score)`` lists.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ..bm25 import BM25Vectors
from ..fusion import ENGINE_FUSIONS, RRF_K, qdrant_rrf_k
from ..validation import check_alpha, check_choice, check_int, check_number, check_texts, check_weights
from .schema import (BM25_VECTOR, DENSE_VECTOR, SPLADE_VECTOR, VECTOR_NAMES, SparseVec, check_dense, check_non_negative,
                     check_sparse, csr_row)

if TYPE_CHECKING:
    from ..dense import DenseEncoder
    from ..sparse import SpladeEncoder

MAX_LIMIT = 2**31 - 1  # engines count results in 32 bits


def _check_key(key: object, what: str) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(f"{what} key={key!r} must be a payload field name (a non-empty str), e.g. 'title'.")


@dataclass(frozen=True)
class Match:
    """Payload field ``key`` equals ``value`` (a str, a 64-bit int or a bool; numbers with a fraction: :class:`Range`).

    Not called by the notebooks; used by the stores' search (its filter).
    """

    key: str
    value: str | int | bool

    def __post_init__(self) -> None:
        _check_key(self.key, "Match")
        v = self.value
        if isinstance(v, np.generic):
            object.__setattr__(self, "value", v := v.item())
        if not isinstance(v, (str, int)):
            hint = f" use Range({self.key!r}, gte={v!r}, lte={v!r}) for a number" if isinstance(v, float) else ""
            raise TypeError(f"Match value={v!r} must be a str, an int or a bool, got {type(v).__name__};{hint or ' convert it first'}.")
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
            raise ValueError(f"Match value={v} is beyond Qdrant's 64-bit integers; store and match it as a str.")


@dataclass(frozen=True)
class MatchText:
    """Payload field ``key`` contains the words of ``text`` (Qdrant's full-text match: whole words, any case).

    Introduced in notebook 05 (section 5, "Filtering on the payload").
    """

    key: str
    text: str

    def __post_init__(self) -> None:
        _check_key(self.key, "MatchText")
        if not isinstance(self.text, str) or not self.text.strip():
            raise TypeError(f"MatchText text={self.text!r} must be a non-empty str to search for.")


@dataclass(frozen=True)
class Range:
    """Payload field ``key`` is a number within ``[gte, lte]`` (either bound may be open: ``None``, not both).

    Not called by the notebooks; used by the stores' search (its filter).
    """

    key: str
    gte: float | None = None
    lte: float | None = None

    def __post_init__(self) -> None:
        _check_key(self.key, "Range")
        for name in ("gte", "lte"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, check_number(v, f"Range {name}", hint="Bounds are finite numbers or None."))
        if self.gte is None and self.lte is None:
            raise ValueError(f"Range({self.key!r}) has no bound; give gte, lte or both.")
        if self.gte is not None and self.lte is not None and self.gte > self.lte:
            raise ValueError(f"Range({self.key!r}, gte={self.gte:g}, lte={self.lte:g}) is empty (gte > lte); swap the bounds.")


Condition = Match | MatchText | Range


def check_filter(conditions: object) -> tuple[Condition, ...]:
    """``None`` or a list of conditions (all must hold) as a tuple; anything else is a ``TypeError``."""
    if conditions is None:
        return ()
    if isinstance(conditions, (Match, MatchText, Range)):
        conditions = [conditions]
    if isinstance(conditions, (str, bytes)) or not isinstance(conditions, Iterable):
        raise TypeError(f"filter={conditions!r} must be a list of Match / MatchText / Range conditions.")
    out = tuple(conditions)
    for c in out:
        if not isinstance(c, (Match, MatchText, Range)):
            raise TypeError(f"filter condition {c!r} is not a Match, MatchText or Range (from splade_helpers.qdrant).")
    return out


@dataclass(frozen=True)
class Nearest:
    """The ``limit`` points closest to ``vector`` on the named vector ``using``.

    Not called by the notebooks; used by the stores' search (one vector's request to the engine).
    """

    using: str
    vector: list[float] | SparseVec
    limit: int
    filter: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Fused:
    """Prefetch each :class:`Nearest`, then fuse on the engine.

    Not called by the notebooks; used by the stores' search (a prefetch-then-fuse request to the engine).

    ``fusion``: ``rrf`` (``rrf_k`` in the textbook convention, see :mod:`splade_helpers.fusion`;
    optional ``weights``), ``dbsf``, or ``formula``: the reference article's
    ``alpha * cosine + (1 - alpha) * splade / (sum(q) + sum(d))`` with ``q_sum`` = sum(q) and the
    stored ``splade_sum`` payload as sum(d).
    """

    prefetch: tuple[Nearest, ...]
    fusion: str
    limit: int
    rrf_k: float = RRF_K
    weights: tuple[float, ...] | None = None
    alpha: float = 0.7
    q_sum: float = 0.0
    filter: tuple[Condition, ...] = field(default=())


Hits = list[tuple[str, float]]  # (point id, score), best first


class StoreQueries(ABC):
    """Single, batched and hybrid queries over a store's collection (the base of :class:`~.store.QdrantStore`).

    What a store must provide for them is declared here: its encoders (:attr:`dense`, :attr:`splade`,
    ``bm25``), the documents it holds (``doc_ids``, ``_doc_of``: point id -> doc id, :meth:`_refresh_ids`),
    the size of its dense vectors (:meth:`_dense_dim`), the check that its encoders made the stored vectors
    (:meth:`_check_encoders`) and the engine primitive :meth:`_run`.
    """

    collection: str
    doc_ids: list[str]
    _doc_of: dict[str, str]
    bm25: BM25Vectors

    @property
    @abstractmethod
    def dense(self) -> DenseEncoder:
        """The dense encoder."""

    @property
    @abstractmethod
    def splade(self) -> SpladeEncoder:
        """The SPLADE encoder."""

    @abstractmethod
    def _dense_dim(self) -> int:
        """The collection's dense vector size."""

    @abstractmethod
    def _refresh_ids(self, order: Sequence[str] | None = None) -> None:
        """Read the stored (point id, doc id) pairs again into ``_doc_of`` and ``doc_ids``."""

    @abstractmethod
    def _check_encoders(self, kinds: Sequence[str]) -> None:
        """Refuse to encode queries with other models than those that made the stored vectors of ``kinds``."""

    @abstractmethod
    def _run(self, requests: list[Nearest | Fused], with_payload: bool) -> list[list[tuple[str, float, dict | None]]]:
        """Run requests on the engine: per request, (point id, score, payload or None) best first."""

    def query_vectors(self, queries: Sequence[str], kinds: Sequence[str] = VECTOR_NAMES) -> dict[str, list]:
        """Per query, the vectors of each kind asked for: dense lists (``None`` for an empty query), sparse vectors."""
        queries = check_texts(queries, "queries")
        kinds = [check_choice(k, "kind", VECTOR_NAMES) for k in ([kinds] if isinstance(kinds, str) else kinds)]
        self._check_encoders(kinds)
        out: dict[str, list] = {}
        if DENSE_VECTOR in kinds:
            dense = self.dense.encode(queries)
            out[DENSE_VECTOR] = [dense[i].tolist() if dense[i].any() else None for i in range(len(queries))]
        if SPLADE_VECTOR in kinds:
            m = sp.csr_matrix(self.splade.encode_queries(queries))
            out[SPLADE_VECTOR] = [SparseVec(*(a.tolist() for a in csr_row(m, i))) for i in range(len(queries))]
        if BM25_VECTOR in kinds:
            out[BM25_VECTOR] = [SparseVec(*(a.tolist() for a in self.bm25.query(q))) for q in queries]
        return out

    def _nearest(self, using: str, vector: object, limit: int, conditions: tuple[Condition, ...], dim: int) -> Nearest | None:
        """A validated :class:`Nearest`, or ``None`` for an empty query (which matches nothing)."""
        using = check_choice(using, "using", VECTOR_NAMES)
        if vector is None:
            return None
        if using == DENSE_VECTOR:
            if isinstance(vector, SparseVec):
                raise TypeError("a 'dense' query must be a list of numbers, got a sparse vector.")
            return Nearest(using, check_dense(vector, dim, "dense query vector"), limit, conditions)
        if isinstance(vector, SparseVec):
            vec = vector  # valid by construction
        elif hasattr(vector, "indices") and hasattr(vector, "values"):
            vec = check_sparse(vector.indices, vector.values, f"{using} query vector")
        elif isinstance(vector, tuple) and len(vector) == 2:
            vec = check_sparse(*vector, where=f"{using} query vector")
        else:
            raise TypeError(f"a {using!r} query must be a sparse vector (indices, values), got {type(vector).__name__}.")
        check_non_negative(vec, f"the {using} query vector", " Encode the query with the store's encoders (query_vectors).")
        vocab = getattr(getattr(self, "_splade", None), "vocab_size", None)
        if using == SPLADE_VECTOR and vocab and len(vec) and vec.indices[-1] >= vocab:
            raise ValueError(f"the splade query vector has the term id {vec.indices[-1]}; this store's model has "
                             f"{vocab:,} terms (ids 0 to {vocab - 1:,}). Encode the query with the same model.")
        return Nearest(using, vec, limit, conditions) if len(vec) else None

    def _hits(self, rows: list[tuple[str, float, dict | None]]) -> Hits:
        """(doc id, score) best first; equal scores in document order, as the in-memory retrievers rank them
        (engines order ties as they meet them, Qdrant's RRF even differently from call to call)."""
        out = []
        for pid, score, payload in rows:
            doc = self._doc_of.get(pid) or (payload or {}).get("doc_id")
            if doc is None:
                self._refresh_ids()
                doc = self._doc_of.get(pid, pid)
            out.append((doc, float(score)))
        position = self._position()
        return sorted(out, key=lambda h: (-h[1], position.get(h[0], len(position))))

    def _position(self) -> dict[str, int]:
        if getattr(self, "_positions_of", None) is not self.doc_ids:
            self._positions = {d: i for i, d in enumerate(self.doc_ids)}
            self._positions_of = self.doc_ids
        return self._positions

    def search(self, using: str, vector: object, limit: int = 10, filter: object = None) -> Hits:
        """One named vector alone: ``(doc_id, score)`` best first; an empty query returns ``[]``."""
        limit = check_int(limit, "limit", minimum=1, maximum=MAX_LIMIT)
        request = self._nearest(using, vector, limit, check_filter(filter), self._dense_dim())
        if request is None:
            return []
        return self._hits(self._run([request], with_payload=not self._doc_of)[0])

    def search_many(self, using: str, vectors: Sequence[object], limit: int = 10, filter: object = None) -> list[Hits]:
        """:meth:`search` for many query vectors in one batch."""
        limit = check_int(limit, "limit", minimum=1, maximum=MAX_LIMIT)
        conditions, dim = check_filter(filter), self._dense_dim()
        requests = [self._nearest(using, v, limit, conditions, dim) for v in vectors]
        todo = [r for r in requests if r is not None]
        answers = iter(self._run(todo, with_payload=not self._doc_of) if todo else [])
        return [self._hits(next(answers)) if r is not None else [] for r in requests]

    def hybrid_search(
        self,
        queries: Mapping[str, object],
        fusion: str = "rrf",
        limit: int = 10,
        prefetch_limit: int = 100,
        rrf_k: float = RRF_K,
        weights: Sequence[float] | None = None,
        alpha: float = 0.7,
        filter: object = None,
    ) -> Hits:
        """Server-side hybrid: one prefetch per named vector, fused by the engine.

        Args:
            queries: ``{"dense": [...], "splade": SparseVec, "bm25": SparseVec}`` (any subset; the
                prefetches follow this mapping's order; an empty sparse query adds no prefetch).
            fusion: ``"rrf"`` (``1 / (rrf_k + rank / w)``, ranks from 1, textbook constant: sent to
                Qdrant as ``rrf_k + 1``), ``"dbsf"``, or ``"formula"``: the reference article's
                ``alpha * cosine + (1 - alpha) * splade / (sum(q) + sum(d))`` (needs ``dense`` then
                ``splade``).
            weights: RRF only: one weight per prefetch (a weight divides the rank).
        """
        fusion = check_choice(fusion, "fusion", ENGINE_FUSIONS)
        limit = check_int(limit, "limit", minimum=1, maximum=MAX_LIMIT)
        prefetch_limit = check_int(prefetch_limit, "prefetch_limit", minimum=1, maximum=MAX_LIMIT)
        qdrant_rrf_k(rrf_k)  # a whole number the engine can take
        alpha = check_alpha(alpha)
        if not isinstance(queries, Mapping) or not queries:
            raise TypeError("queries must be a non-empty mapping such as {'dense': [...], 'splade': SparseVec}.")
        if weights is not None:
            if fusion != "rrf":
                raise ValueError(f"weights apply to fusion='rrf' only, not {fusion!r}.")
            weights = check_weights(weights, "weights", len(queries))
        conditions, dim = check_filter(filter), self._dense_dim()
        prefetch, kept = [], []
        for i, (using, vector) in enumerate(queries.items()):
            request = self._nearest(using, vector, prefetch_limit, conditions, dim)
            if request is not None:
                prefetch.append(request)
                kept.append(i)
        q_sum = 0.0
        if fusion == "formula":
            if list(queries)[:2] != [DENSE_VECTOR, SPLADE_VECTOR] or len(queries) != 2 or kept != [0, 1]:
                raise ValueError("fusion='formula' needs non-empty 'dense' then 'splade' queries, in that order.")
            q_sum = float(sum(prefetch[1].vector.values))
        if not prefetch:
            return []
        w = tuple(weights[i] for i in kept) if weights is not None else None
        request = Fused(tuple(prefetch), fusion, limit, rrf_k, w, alpha, q_sum, conditions)
        return self._hits(self._run([request], with_payload=True)[0])

    def score_matrix(self, using: str, queries: Sequence[str], doc_ids: Sequence[str] | None = None) -> np.ndarray:
        """Scores of every document for every query, from the engine (0 where a document did not match).

        Columns follow ``doc_ids`` (default: :attr:`doc_ids`), which must be the documents the
        collection holds.
        """
        using = check_choice(using, "using", VECTOR_NAMES)
        order = self.doc_ids if doc_ids is None else list(doc_ids)
        if set(order) != set(self.doc_ids) or len(order) != len(self.doc_ids):
            raise ValueError(f"collection {self.collection!r} holds {len(self.doc_ids):,} documents, which are not the "
                             f"{len(order):,} asked for; load them first (store.index(doc_ids, texts)).")
        column = {d: i for i, d in enumerate(order)}
        vectors = self.query_vectors(queries, kinds=(using,))[using]
        out = np.zeros((len(vectors), len(order)))
        for row, hits in enumerate(self.search_many(using, vectors, limit=max(len(order), 1))):
            for d, s in hits:
                out[row, column[d]] = s
        return out
