"""One interface over both Qdrant engines: encode and load documents, keep the collection right.

:class:`QdrantStore` holds everything that does not depend on the engine (encoding, validation,
batching, the layout and document checks; its queries come from :class:`~.search.StoreQueries`, its
copy to another store from :class:`~.transfer.StoreTransfer`);
:class:`~.edge.EdgeStore` (Qdrant's Rust engine in this process) and :class:`~.client.ClientStore`
(a Qdrant server or cluster through qdrant-client, or its pure-Python local mode) translate a handful
of primitive operations into their engine's object model. Queries are described engine-neutrally
(:mod:`.search`), so the same call runs on a laptop and on a cluster.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext

from tqdm.auto import tqdm

from ..bm25 import BM25Vectors
from ..course import progress_enabled
from ..folders import check_path_component
from ..validation import check_choice, check_documents, check_int, check_texts, check_unique_ids
from .schema import (BM25_VECTOR, DENSE_VECTOR, IF_EXISTS, SPLADE_VECTOR, Layout, StoredPoint, check_extra, check_point,
                     check_vectors, iter_points, load_bytes, model_problems, natural_key, point_id)
from .search import StoreQueries
from .transfer import StoreTransfer

class QdrantStore(StoreQueries, StoreTransfer):
    """Documents in one collection (``dense`` + ``splade`` + ``bm25``), searched through a Qdrant engine.

    Not called by the notebooks; used by qdrant.EdgeStore and qdrant.ClientStore (what qdrant.open_store returns).

    Subclasses implement the engine primitives (the abstract methods: ``_exists``, ``_create``, ``_drop``,
    ``_stored_layout``, ``_check_engine_schema``, ``_upsert``, ``_delete``, ``_page``, ``_retrieve``, ``_run``,
    ``count``, ``schema``); everything else is here.

    Args:
        collection: the collection's name.
        splade, dense: encoders (default: the bundled models, loaded on first use).
        bm25_k1, bm25_b: BM25 parameters of the ``bm25`` vectors.
    """

    engine = "qdrant"

    def __init__(self, collection: str = "course", *, splade=None, dense=None, bm25_k1: float = 1.5,
                 bm25_b: float = 0.75) -> None:
        self.collection = check_path_component(collection, "collection", "a collection name")
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
                      bm25={"k1": self.bm25.k1, "b": self.bm25.b}, splade_files=self.splade.source.content_fingerprint,
                      dense_files=self.dense.source.content_fingerprint)

    def _check_encoders(self, kinds: Sequence[str]) -> None:
        """Refuse to encode queries with other models than those that made the stored vectors (checked once per
        pair of encoders)."""
        mine = (id(self._splade), id(self._dense), tuple(kinds))
        if getattr(self, "_encoders_checked", None) == mine:
            return
        stored = self._stored_layout() if self._exists() else None
        sources = {kind: getattr(self, kind).source for kind in (SPLADE_VECTOR, DENSE_VECTOR) if kind in kinds}
        problems = model_problems(stored, sources, {"k1": self.bm25.k1, "b": self.bm25.b} if BM25_VECTOR in kinds else None)
        if problems:
            raise ValueError(f"collection {self.collection!r} was built with other models than this store's encoders "
                             f"({'; '.join(problems)}); searching it would score one model's query against another's "
                             f"documents. Open the store with the encoders that built it (splade=..., dense=...), or "
                             f"rebuild it with index(..., if_exists='recreate').")
        self._encoders_checked = mine

    def _dense_dim(self) -> int:
        stored = self._stored_layout()
        return int(stored["dense_dim"]) if stored and "dense_dim" in stored else self.dense.dim

    # --- engine primitives ---------------------------------------------------------------------

    @abstractmethod
    def _exists(self) -> bool:
        """Whether the collection exists."""

    @abstractmethod
    def _create(self, layout: Layout) -> None:
        """Create the collection with ``layout`` (and store its record)."""

    @abstractmethod
    def _drop(self) -> None:
        """Delete the collection (refusing anything this package did not make)."""

    @abstractmethod
    def _stored_layout(self) -> dict | None:
        """The layout record stored with the collection, or ``None``."""

    @abstractmethod
    def _check_engine_schema(self, layout: Layout) -> list[str]:
        """Engine-level differences (vector names, sizes, distances, IDF modifier); empty: compatible."""

    @abstractmethod
    def _upsert(self, points: list[StoredPoint]) -> None:
        """Write validated points; acknowledged when it returns."""

    @abstractmethod
    def _delete(self, point_ids: list[str]) -> None:
        """Delete points by point id."""

    @abstractmethod
    def _page(self, offset, limit: int, payload: bool | list[str], with_vectors: bool) -> tuple[list[StoredPoint], object]:
        """One page of stored points from ``offset`` (engine-neutral), and the next offset (``None``: the end)."""

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

    @abstractmethod
    def count(self) -> int:
        """Points stored."""

    def close(self) -> None:
        """Release the engine (files, locks, connections)."""

    def flush(self) -> None:
        """Make every acknowledged write durable (a no-op where the engine does it on its own)."""

    def optimize(self) -> bool:
        """Run the engine's optimizers now; True if they changed anything. A no-op here (False): Qdrant Edge's
        store overrides it, and a server runs its optimizers on its own, in the background."""
        return False

    # --- collection ----------------------------------------------------------------------------

    def _refresh_ids(self, order: Sequence[str] | None = None) -> None:
        self._encoders_checked = None  # the collection may have been rebuilt: check its models again
        pairs = self._scroll_ids() if self._exists() else []
        self._doc_of = dict(pairs)
        held = set(self._doc_of.values())
        if order is not None and set(order) == held:
            self.doc_ids = list(order)
        else:
            self.doc_ids = sorted(held, key=natural_key)

    def create(self, if_exists: str = "error") -> bool:
        """Create the collection with this store's layout.

        Args:
            if_exists: ``"error"`` (default), ``"reuse"`` (keep it; its layout must match: vector
                names, sizes, distance, the IDF modifier, the models and their files' fingerprints) or
                ``"recreate"`` (replace it; Qdrant Edge refuses a folder holding files it did not write).
        Returns:
            True when a new collection was created.
        """
        layout = self.layout()
        if not self._plan(if_exists, layout):
            return False
        with self._writing(layout):
            pass
        return True

    def _plan(self, if_exists: str, layout: Layout, doc_ids: Sequence[str] | None = None) -> bool:
        """Whether the collection is to be (re)created (True) or reused (False); refuses what cannot be done, before
        any work: an existing collection with ``"error"``, another layout or other documents with ``"reuse"``."""
        if_exists = check_choice(if_exists, "if_exists", IF_EXISTS)
        if not self._exists():
            return True
        if if_exists == "error":
            raise ValueError(f"collection {self.collection!r} already exists; pass if_exists='reuse' to keep it (its layout must "
                             f"match) or 'recreate' to delete and rebuild it.")
        if if_exists == "recreate":
            self._check_replaceable()
            return True
        problems = self._check_engine_schema(layout) + layout.differences(self._stored_layout())
        if problems:
            raise ValueError(f"collection {self.collection!r} cannot be reused with these encoders: "
                             f"{'; '.join(problems)}. Use if_exists='recreate' (rebuilds it) or another collection.")
        if doc_ids is not None:
            self._refresh_ids()
            extra_ids = sorted(set(self.doc_ids) - set(doc_ids), key=natural_key)
            if extra_ids:
                raise ValueError(
                    f"collection {self.collection!r} holds {len(extra_ids):,} documents that are not in this load "
                    f"(e.g. {extra_ids[:3]}); they would stay searchable and count in BM25's IDF. Use "
                    f"if_exists='recreate' to replace the collection, or another collection name.")
        return False

    def _check_replaceable(self) -> None:
        """Refuse before any work to replace a collection this package may not delete (a no-op by default)."""

    def _check_room(self, points: int, data: int) -> None:
        """Refuse before writing when the engine has no room for ``points`` of ``data`` bytes (a no-op by default)."""

    @contextmanager
    def _writing(self, layout: Layout) -> Iterator[None]:
        """A new collection with ``layout`` to write into, in place of the old one if any (drop, then create)."""
        if self._exists():
            self._drop()
            self.doc_ids, self._doc_of = [], {}
        self._create(layout)
        yield

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

        Everything that can be refused is refused before the documents are encoded; nothing is written before
        they are. With ``if_exists="recreate"`` an existing collection is replaced only once the new one is
        complete on Qdrant Edge (built beside it, then swapped); on a server it is deleted first (for a live
        service, load under another collection name and move a collection alias to it). With
        ``if_exists="reuse"`` the collection must hold no document outside ``doc_ids`` (it would stay searchable
        and count in BM25's IDF): that finishes an interrupted load of the same documents, or updates their texts.
        """
        doc_ids, texts = check_documents(doc_ids, texts)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        titles = (check_texts(titles, "titles") or None) if titles is not None else None  # [] = no titles, as in Dataset
        if titles is not None and len(titles) != len(doc_ids):
            raise ValueError(f"{len(doc_ids)} document ids but {len(titles)} titles; pass one title per document.")
        check_extra(extra, len(doc_ids))
        layout = self.layout()
        replace = self._plan(if_exists, layout, doc_ids)
        bm25 = self.bm25.fit_transform(texts)
        dense, splade = self.dense.encode(texts), self.splade.encode_documents(texts)
        self._check_room(len(doc_ids), load_bytes(dense, splade, bm25, texts, titles, extra))
        check_vectors(doc_ids, dense, splade, bm25)  # before the first write, not at the point that fails
        points = iter_points(doc_ids, texts, dense, splade, bm25, titles, extra)
        return self._load(points, layout, replace, doc_ids, batch_size=batch_size, total=len(doc_ids), progress=progress,
                          on_batch=on_batch)

    def _load(self, points: Iterable[StoredPoint], layout: Layout, replace: bool, order: Sequence[str], **upsert) -> int:
        """Upsert ``points`` (into a new collection with ``layout`` when ``replace``), refresh the document ids."""
        with self._writing(layout) if replace else nullcontext():
            sent = self.upsert(points, **upsert)
        self._refresh_ids(order=order)
        return sent

    def upsert(self, points: Iterable[StoredPoint], batch_size: int = 128, total: int | None = None,
               progress: bool | None = None, on_batch: Callable[[int], None] | None = None) -> int:
        """Upsert validated points in batches (each acknowledged before the next); returns how many were sent.

        ``on_batch(sent)`` is called after every acknowledged batch with the running total: a batch survives the
        process being killed once acknowledged (a write-ahead log replays it; Qdrant Edge's ``wal=False`` flushes
        it first). The store is flushed again before returning.
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        sent, batch, dim = 0, [], self._dense_dim()
        bar = tqdm(total=total, desc="upserting", unit="point", disable=not progress_enabled(progress, total or 0, 256))
        try:
            for p in points:
                try:
                    batch.append(check_point(p, dim))  # iter_points checks as it builds; this also catches hand-made points
                except (TypeError, ValueError) as exc:
                    if not sent:
                        raise
                    self.flush()  # what was acknowledged stays
                    raise type(exc)(f"{exc} {sent} points had been written (acknowledged batches of {batch_size}); "
                                    f"the {len(batch)} after them were not sent. Upserts replace by id, so fix the "
                                    f"input and run the same call again.") from None
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
        self.flush()
        return sent

    def delete(self, doc_ids: Sequence[str]) -> None:
        """Delete documents by id (unknown ids are an error: nothing is deleted then); durable once it returns."""
        doc_ids = check_unique_ids(doc_ids, "document ids")
        held, gone = set(self.doc_ids), set(doc_ids)
        unknown = [d for d in doc_ids if d not in held]
        if unknown:
            raise ValueError(f"{len(unknown)} of these documents are not in {self.collection!r} (e.g. {unknown[:3]}).")
        self._delete([point_id(d) for d in doc_ids])
        self.flush()  # durable on return, with or without a write-ahead log
        self._refresh_ids(order=[d for d in self.doc_ids if d not in gone])

    def holds(self, doc_ids: Sequence[str], texts: Sequence[str] | None = None) -> bool:
        """True if the collection holds exactly these documents (and, if given, these texts)."""
        doc_ids, texts = (check_unique_ids(doc_ids, "doc_ids"), None) if texts is None else check_documents(doc_ids, texts)
        if set(doc_ids) != set(self.doc_ids) or len(doc_ids) != len(self.doc_ids):
            return False
        stored = self._stored_texts() if texts is not None else {}
        return texts is None or all(stored.get(d) == t for d, t in zip(doc_ids, texts))

    @abstractmethod
    def _retrieve(self, point_ids: list[str]) -> list[StoredPoint]:
        """The stored points with these ids, vectors and payload included."""

    @abstractmethod
    def schema(self) -> dict[str, dict]:
        """The named vectors as the engine reports them: size and distance, or the sparse modifier."""

    def fetch(self, doc_ids: Sequence[str]) -> list[StoredPoint]:
        """The stored points (vectors and payload) of these documents, in this order."""
        doc_ids = check_unique_ids(doc_ids, "document ids")
        unknown = [d for d in doc_ids if d not in self._position()]
        if unknown:
            raise ValueError(f"{len(unknown)} of these documents are not in {self.collection!r} (e.g. {unknown[:3]}).")
        got = {p.id: p for p in self._retrieve([point_id(d) for d in doc_ids])}
        return [got[point_id(d)] for d in doc_ids]
