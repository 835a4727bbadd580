"""One interface over both Qdrant engines: encode and load documents, run single and hybrid queries.

:class:`QdrantStore` holds everything that does not depend on the engine (encoding, validation,
batching, the layout and document checks, score matrices); :class:`~.edge.EdgeStore` (Qdrant's
Rust engine in this process) and :class:`~.client.ClientStore` (a Qdrant server or cluster through
qdrant-client, or its pure-Python local mode) translate a handful of primitive operations into
their engine's object model. Queries are described engine-neutrally (:class:`Nearest`,
:class:`Fused`, the filter conditions below), so the same call runs on a laptop and on a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from ..bm25 import BM25Vectors
from ..fusion import RRF_K, qdrant_rrf_k
from ..sparse import progress_enabled
from ..validation import (
    check_documents,
    check_alpha,
    check_choice,
    check_int,
    check_texts,
    check_unique_ids,
    check_weights,
)
from .schema import (
    BM25_VECTOR,
    DENSE_VECTOR,
    SPLADE_VECTOR,
    VECTOR_NAMES,
    Layout,
    SparseVec,
    StoredPoint,
    check_dense,
    check_sparse,
    csr_row,
    iter_points,
)

FUSIONS = ("rrf", "dbsf", "formula")
MAX_LIMIT = 2**31 - 1  # engines count results in 32 bits
IF_EXISTS = ("error", "reuse", "recreate")


# --- engine-neutral filters and queries ---------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Payload field ``key`` equals ``value`` (a str, int or bool)."""

    key: str
    value: str | int | bool


@dataclass(frozen=True)
class MatchText:
    """Payload field ``key`` contains ``text`` (Qdrant's full-text match; a substring without a text index)."""

    key: str
    text: str


@dataclass(frozen=True)
class Range:
    """Payload field ``key`` is a number within ``[gte, lte]`` (either bound may be open: ``None``)."""

    key: str
    gte: float | None = None
    lte: float | None = None


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
        if isinstance(c, Range) and c.gte is None and c.lte is None:
            raise ValueError(f"{c!r} has no bound; give gte, lte or both.")
    return out


@dataclass(frozen=True)
class Nearest:
    """The ``limit`` points closest to ``vector`` on the named vector ``using``."""

    using: str
    vector: list[float] | SparseVec
    limit: int
    filter: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Fused:
    """Prefetch each :class:`Nearest`, then fuse on the engine.

    ``fusion``: ``rrf`` (``k`` in the textbook convention, see :mod:`splade_helpers.fusion`;
    optional ``weights``), ``dbsf``, or ``formula``: the reference article's
    ``alpha * cosine + (1 - alpha) * splade / (sum(q) + sum(d))`` with ``q_sum`` = sum(q) and the
    stored ``splade_sum`` payload as sum(d).
    """

    prefetch: tuple[Nearest, ...]
    fusion: str
    limit: int
    k: float = RRF_K
    weights: tuple[float, ...] | None = None
    alpha: float = 0.7
    q_sum: float = 0.0
    filter: tuple[Condition, ...] = field(default=())


Hits = list[tuple[str, float]]  # (point id, score), best first


class QdrantStore:
    """Documents in one collection (``dense`` + ``splade`` + ``bm25``), searched through a Qdrant engine.

    Subclasses implement the primitives (``_exists``, ``_create``, ``_drop``, ``_stored_layout``,
    ``_upsert``, ``_delete``, ``_run``, ``_scroll_ids``, ``count``, ``close``); everything else is here.

    Args:
        collection: the collection's name.
        splade, dense: encoders (default: the bundled models, loaded on first use).
        bm25_k1, bm25_b: BM25 parameters of the ``bm25`` vectors.
    """

    engine = "qdrant"

    def __init__(self, collection: str = "course", *, splade=None, dense=None, bm25_k1: float = 1.5,
                 bm25_b: float = 0.75) -> None:
        if not isinstance(collection, str) or not collection.strip() or "/" in collection or "\\" in collection:
            raise ValueError(f"collection={collection!r} must be a non-empty name without slashes.")
        self.collection = collection
        self._splade, self._dense = splade, dense
        self.bm25 = BM25Vectors(bm25_k1, bm25_b)
        self.doc_ids: list[str] = []  # the documents the collection holds, in load order when known
        self._doc_of: dict[str, str] = {}  # point id -> doc id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.collection!r}, {len(self.doc_ids):,} documents)"

    def __enter__(self) -> QdrantStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- encoders and layout -------------------------------------------------------------------

    @property
    def splade(self):
        if self._splade is None:
            from ..sparse import SpladeEncoder

            self._splade = SpladeEncoder()
        return self._splade

    @property
    def dense(self):
        if self._dense is None:
            from ..dense import DenseEncoder

            self._dense = DenseEncoder()
        return self._dense

    def layout(self) -> Layout:
        """The layout this store's encoders produce (stored with the collection when it is created)."""
        return Layout(dense_dim=self.dense.dim, splade_model=self.splade.source.name, dense_model=self.dense.source.name,
                      bm25={"k1": self.bm25.k1, "b": self.bm25.b})

    def _dense_dim(self) -> int:
        stored = self._stored_layout()
        return int(stored["dense_dim"]) if stored and "dense_dim" in stored else self.dense.dim

    # --- engine primitives ---------------------------------------------------------------------

    def _exists(self) -> bool:
        raise NotImplementedError

    def _create(self, layout: Layout) -> None:
        raise NotImplementedError

    def _drop(self) -> None:
        raise NotImplementedError

    def _stored_layout(self) -> dict | None:
        raise NotImplementedError

    def _check_engine_schema(self, layout: Layout) -> list[str]:
        """Engine-level differences (vector names, sizes, distances, IDF modifier); empty: compatible."""
        raise NotImplementedError

    def _upsert(self, points: list[StoredPoint]) -> None:
        raise NotImplementedError

    def _delete(self, point_ids: list[str]) -> None:
        raise NotImplementedError

    def _run(self, requests: list[Nearest | Fused], with_payload: bool) -> list[list[tuple[str, float, dict | None]]]:
        raise NotImplementedError

    def _page(self, offset, limit: int, payload: bool | list[str], with_vectors: bool) -> tuple[list[StoredPoint], object]:
        """One page of stored points from ``offset`` (engine-neutral), and the next offset (``None``: the end)."""
        raise NotImplementedError

    def _scroll_all(self, payload: bool | list[str], with_vectors: bool = False) -> list[StoredPoint]:
        points, offset = [], None
        while True:
            page, offset = self._page(offset, 500 if with_vectors else 1000, payload, with_vectors)
            points += page
            if offset is None:
                return points

    def _scroll_ids(self) -> list[tuple[str, str]]:
        """Every stored (point id, doc id)."""
        return [(p.id, p.payload["doc_id"]) for p in self._scroll_all(["doc_id"])]

    def _stored_texts(self) -> dict[str, str]:
        return {p.payload["doc_id"]: p.payload.get("text") for p in self._scroll_all(["doc_id", "text"])}

    def _scroll_points(self) -> list[StoredPoint]:
        """Every stored point with its vectors and payload."""
        return self._scroll_all(True, with_vectors=True)

    def count(self) -> int:
        """Points stored."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the engine (files, locks, connections)."""

    def flush(self) -> None:
        """Make every acknowledged write durable (a no-op where the engine does it on its own)."""

    def optimize(self) -> bool:
        """Let the engine build its indexes and vacuum deleted points; True if it changed anything."""
        return False

    # --- collection ----------------------------------------------------------------------------

    def _refresh_ids(self, order: Sequence[str] | None = None) -> None:
        pairs = self._scroll_ids() if self._exists() else []
        self._doc_of = dict(pairs)
        held = set(self._doc_of.values())
        if order is not None and set(order) == held:
            self.doc_ids = list(order)
        else:
            self.doc_ids = sorted(held, key=_natural)

    def create(self, if_exists: str = "error") -> bool:
        """Create the collection with this store's layout.

        Args:
            if_exists: ``"error"`` (default), ``"reuse"`` (keep it; its layout must match: vector
                names, sizes, distance, the IDF modifier, the models) or ``"recreate"`` (drop it first).
        Returns:
            True when a new collection was created.
        """
        if_exists = check_choice(if_exists, "if_exists", IF_EXISTS)
        layout = self.layout()
        if self._exists():
            if if_exists == "error":
                raise ValueError(f"collection {self.collection!r} already exists; pass if_exists='reuse' to add to it or "
                                 f"'recreate' to delete and rebuild it.")
            if if_exists == "reuse":
                problems = self._check_engine_schema(layout) + layout.differences(self._stored_layout())
                if problems:
                    raise ValueError(f"collection {self.collection!r} cannot be reused with these encoders: "
                                     f"{'; '.join(problems)}. Use if_exists='recreate' (rebuilds it) or another collection.")
                return False
            self._drop()
            self.doc_ids, self._doc_of = [], {}
        self._create(layout)
        return True

    def index(
        self,
        doc_ids: Sequence[str],
        texts: Sequence[str],
        titles: Sequence[str] | None = None,
        extra: Sequence[Mapping] | None = None,
        if_exists: str = "recreate",
        batch_size: int = 128,
        progress: bool | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Encode every document and upsert it; returns the number of points sent.

        With ``if_exists="reuse"`` the collection must hold no document outside ``doc_ids`` (it would
        stay searchable and count in BM25's IDF): that finishes an interrupted load of the same
        documents, or updates their texts.
        """
        doc_ids, texts = check_documents(doc_ids, texts)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if self.create(if_exists) is False:
            self._refresh_ids()
            extra_ids = sorted(set(self.doc_ids) - set(doc_ids), key=_natural)
            if extra_ids:
                raise ValueError(
                    f"collection {self.collection!r} holds {len(extra_ids):,} documents that are not in this load "
                    f"(e.g. {extra_ids[:3]}); they would stay searchable and count in BM25's IDF. Use "
                    f"if_exists='recreate' to replace the collection, or another collection name.")
        bm25 = self.bm25.fit_transform(texts)
        points = iter_points(doc_ids, texts, self.dense.encode(texts), self.splade.encode_documents(texts), bm25, titles, extra)
        sent = self.upsert(points, batch_size=batch_size, total=len(doc_ids), progress=progress, on_batch=on_batch)
        self.flush()
        self._refresh_ids(order=doc_ids)
        return sent

    def upsert(self, points: Iterable[StoredPoint], batch_size: int = 128, total: int | None = None,
               progress: bool | None = None, on_batch: Callable[[int], None] | None = None) -> int:
        """Upsert validated points in batches (each acknowledged before the next); returns how many were sent.

        ``on_batch(sent)`` is called after every acknowledged batch with the running total.
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        sent, batch = 0, []
        bar = tqdm(total=total, desc="upserting", unit="point", disable=not progress_enabled(progress, total or 0, 256))
        try:
            for p in points:
                if not isinstance(p, StoredPoint):
                    raise TypeError(f"points must come from iter_points (StoredPoint), got {type(p).__name__}.")
                batch.append(p)
                if len(batch) == batch_size:
                    self._upsert(batch)
                    sent += len(batch)
                    bar.update(len(batch))
                    batch = []
                    if on_batch is not None:
                        on_batch(sent)
            if batch:
                self._upsert(batch)
                sent += len(batch)
                bar.update(len(batch))
                if on_batch is not None:
                    on_batch(sent)
        finally:
            bar.close()
        return sent

    def delete(self, doc_ids: Sequence[str]) -> None:
        """Delete documents by id (unknown ids are an error: nothing is deleted then)."""
        doc_ids = check_unique_ids(doc_ids, "document ids")
        unknown = [d for d in doc_ids if d not in set(self.doc_ids)]
        if unknown:
            raise ValueError(f"{len(unknown)} of these documents are not in {self.collection!r} (e.g. {unknown[:3]}).")
        from .schema import point_id

        self._delete([point_id(d) for d in doc_ids])
        self._refresh_ids(order=[d for d in self.doc_ids if d not in set(doc_ids)])

    # --- queries -------------------------------------------------------------------------------

    def query_vectors(self, queries: Sequence[str], kinds: Sequence[str] = VECTOR_NAMES) -> dict[str, list]:
        """Per query, the vectors of each kind asked for: dense lists (``None`` for an empty query), sparse vectors."""
        queries = check_texts(queries, "queries")
        kinds = [check_choice(k, "kind", VECTOR_NAMES) for k in kinds]
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
        k: float = RRF_K,
        weights: Sequence[float] | None = None,
        alpha: float = 0.7,
        filter: object = None,
    ) -> Hits:
        """Server-side hybrid: one prefetch per named vector, fused by the engine.

        Args:
            queries: ``{"dense": [...], "splade": SparseVec, "bm25": SparseVec}`` (any subset; the
                prefetches follow this mapping's order; an empty sparse query adds no prefetch).
            fusion: ``"rrf"`` (``1 / (k + rank / w)``, ranks from 1, textbook ``k``: sent to Qdrant
                as ``k + 1``), ``"dbsf"``, or ``"formula"``: the reference article's
                ``alpha * cosine + (1 - alpha) * splade / (sum(q) + sum(d))`` (needs ``dense`` then
                ``splade``).
            weights: RRF only: one weight per prefetch (a weight divides the rank).
        """
        fusion = check_choice(fusion, "fusion", FUSIONS)
        limit = check_int(limit, "limit", minimum=1, maximum=MAX_LIMIT)
        prefetch_limit = check_int(prefetch_limit, "prefetch_limit", minimum=1, maximum=MAX_LIMIT)
        qdrant_rrf_k(k)  # a whole number the engine can take
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
        request = Fused(tuple(prefetch), fusion, limit, k, w, alpha, q_sum, conditions)
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

    def holds(self, doc_ids: Sequence[str], texts: Sequence[str] | None = None) -> bool:
        """True if the collection holds exactly these documents (and, if given, these texts)."""
        if set(doc_ids) != set(self.doc_ids) or len(doc_ids) != len(self.doc_ids):
            return False
        if texts is None:
            return True
        stored = self._stored_texts()
        return all(stored.get(d) == t for d, t in zip(doc_ids, texts))

    def _retrieve(self, point_ids: list[str]) -> list[StoredPoint]:
        raise NotImplementedError

    def schema(self) -> dict[str, dict]:
        """The named vectors as the engine reports them: size and distance, or the sparse modifier."""
        raise NotImplementedError

    def fetch(self, doc_ids: Sequence[str]) -> list[StoredPoint]:
        """The stored points (vectors and payload) of these documents, in this order."""
        from .schema import point_id

        doc_ids = check_unique_ids(doc_ids, "document ids")
        unknown = [d for d in doc_ids if d not in self._position()]
        if unknown:
            raise ValueError(f"{len(unknown)} of these documents are not in {self.collection!r} (e.g. {unknown[:3]}).")
        got = {p.id: p for p in self._retrieve([point_id(d) for d in doc_ids])}
        return [got[point_id(d)] for d in doc_ids]

    def copy_to(self, other: QdrantStore, if_exists: str = "error", batch_size: int = 256) -> int:
        """Copy every point, vectors and payloads as stored, into ``other`` (e.g. from Qdrant Edge to a server).

        Nothing is re-encoded; ``other`` gets this collection's layout. Returns the points copied.
        """
        if not isinstance(other, QdrantStore):
            raise TypeError(f"other must be a QdrantStore, got {type(other).__name__}.")
        stored = self._stored_layout()
        if not stored:
            raise ValueError(f"collection {self.collection!r} has no layout record to copy; it is empty or not ours.")
        layout = Layout(int(stored["dense_dim"]), stored.get("splade_model", ""), stored.get("dense_model", ""),
                        stored.get("bm25", {}))
        if_exists = check_choice(if_exists, "if_exists", IF_EXISTS)
        if other._exists():
            if if_exists == "error":
                raise ValueError(f"collection {other.collection!r} already exists; pass if_exists='recreate' or 'reuse'.")
            if if_exists == "recreate":
                other._drop()
        if not other._exists():
            other._create(layout)
        elif layout.differences(other._stored_layout()) or other._check_engine_schema(layout):
            raise ValueError(f"collection {other.collection!r} has another layout; use if_exists='recreate'.")
        sent = other.upsert(self._scroll_points(), batch_size=batch_size)
        other.flush()
        other._refresh_ids(order=self.doc_ids)
        return sent


def _natural(doc_id: str) -> tuple:
    """Sort key: numeric ids in numeric order ("2" before "10"), then the rest."""
    return (0, int(doc_id), "") if doc_id.isdigit() else (1, 0, doc_id)

