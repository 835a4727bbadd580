"""Qdrant Edge: Qdrant's own Rust engine inside this process, one folder per collection.

``qdrant-edge-py`` runs the same segment, index and query code as a Qdrant server, without a
server: named dense and sparse vectors, the IDF modifier, payload filters, prefetch with RRF /
DBSF / formula fusion, a write-ahead log. Facts that matter in practice (measured, see notebook 05):

* dense search is brute force until :meth:`EdgeStore.optimize` builds the HNSW graph (the engine
  indexes a segment once it exceeds its indexing threshold);
* the IDF of the ``bm25`` vector counts deleted points until the vacuum rewrites their segment, which
  ``optimize()`` does only once more than 20 % of a segment of at least 1,000 points is deleted (Qdrant's
  defaults ``deleted_threshold`` and ``vacuum_min_vector_number``, which counts points despite its name;
  notebook 05a shows both sides);
* one open store at a time may hold a folder (a file lock), even within one process; a second open is refused;
* the write-ahead log preallocates its files (tens of MB of apparent size even for a few
  points); ``wal=False`` avoids it, and then the engine's writes are durable only once ``flush()`` returns,
  so the store flushes each upserted batch before acknowledging it (``on_batch``) and every other write
  (``delete``, ``copy_to``) before returning: a killed load keeps every acknowledged batch either way;
* on a full disk the engine crashes the process ("Bus error") when it creates, opens or writes a
  folder, so free space is checked first (:mod:`.room`), and the refusal names the folder and the space.

Folders follow the package's output policy (:mod:`splade_helpers.folders`): the collection is one name
inside ``path``, never a link; a collection is replaced only when every entry in its folder is the
engine's or ours, and a rebuilt collection is written beside the old one and swapped in when complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import qdrant_edge as qe

from .. import folders
from ..fusion import qdrant_rrf_k
from ..validation import check_bool
from .room import batch_needs, check_room, open_needs, optimize_needs, room_needed
from .schema import BM25_VECTOR, DENSE_VECTOR, SPLADE_VECTOR, Layout, SparseVec, StoredPoint, record_point
from .search import Fused, Match, MatchText, Nearest, Range
from .store import QdrantStore

LAYOUT_FILE = "splade_helpers.json"  # our layout record, beside Qdrant Edge's edge_config.json
EDGE_FILE = "edge_config.json"
ENGINE_ENTRIES = {EDGE_FILE, "wal", "segments", LAYOUT_FILE}  # what a collection folder holds: the engine's and ours


def foreign_entries(folder: Path) -> list[str]:
    """Entries of a collection folder that neither the engine nor this package wrote (never deleted)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in ENGINE_ENTRIES or p.is_symlink())


class FolderLockedError(RuntimeError):
    """The folder is open in another EdgeStore (this process or another one).

    Introduced in notebook 05a (section 2, "Persistence and the folder lock").
    """


def _config(dense_dim: int, wal: bool | None = None) -> qe.EdgeConfig:
    return qe.EdgeConfig(
        vectors={DENSE_VECTOR: qe.EdgeVectorParams(size=dense_dim, distance=qe.Distance.Cosine)},
        sparse_vectors={SPLADE_VECTOR: qe.EdgeSparseVectorParams(),
                        BM25_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        wal_enabled=wal,
    )


class EdgeStore(QdrantStore):
    """A collection in a Qdrant Edge folder: ``<path>/<collection>/``.

    Introduced in notebook 05 (section 2, "Two engines, one collection layout").

    Args:
        path: the parent folder (created if needed); ``None``: a temporary folder, deleted on
            :meth:`close` or when the store is garbage-collected.
        collection: the collection's sub-folder.
        wal: keep a write-ahead log (default ``True``, as Qdrant does). ``False`` saves its
            preallocated files; a write is then durable only after :meth:`flush`, so the store flushes
            each upserted batch before acknowledging it (a flush per batch: slower loads).
        splade, dense, bm25_k1, bm25_b: see :class:`~.store.QdrantStore`.

    An existing collection folder is opened (and its documents listed) at once; it is created or
    replaced by :meth:`~.store.QdrantStore.create` / :meth:`~.store.QdrantStore.index`.
    """

    engine = "edge"

    def __init__(self, path: str | os.PathLike | None = None, collection: str = "course", *, wal: bool = True,
                 splade=None, dense=None, bm25_k1: float = 1.5, bm25_b: float = 0.75) -> None:
        super().__init__(collection, splade=splade, dense=dense, bm25_k1=bm25_k1, bm25_b=bm25_b)
        self.wal = check_bool(wal, "wal")
        self._temporary = path is None
        if path is None:
            path = tempfile.mkdtemp(prefix="splade-edge-")
        elif not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path={path!r} must be a folder path (str) or None for a temporary folder.")
        elif not os.fspath(path):
            raise ValueError("path='' names no folder; give one (e.g. 'qdrant-data') or None for a temporary folder.")
        self.root = Path(path).expanduser()
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"path={str(self.root)!r} is a file; Qdrant Edge needs a folder.")
        folders.check_creatable(self.root, "path")  # refused now, not after the encoding
        if not self._temporary:
            folders.check_not_in_model(self.root, "path")  # a collection inside a model folder would change the model
        self.folder = self.root / self.collection
        if self.folder.is_symlink():
            raise ValueError(f"collection folder {str(self.folder)!r} is a symbolic link (to {os.readlink(self.folder)!r}); "
                             f"the package never writes through a link. Use another collection name or the real folder.")
        if self.folder.exists() and self.folder.resolve().parent != self.root.resolve():
            raise ValueError(f"collection folder {str(self.folder)!r} lies outside {str(self.root)!r}; use another name.")
        self._shard: qe.EdgeShard | None = None
        self._layout_cache: dict | None = None
        self._finalizer = weakref.finalize(self, _release, [None], str(self.root) if self._temporary else None)
        if self._exists():
            self._open()
            self._refresh_ids()

    def __repr__(self) -> str:
        where = "temporary folder" if self._temporary else str(self.folder)
        return f"EdgeStore({self.collection!r} in {where}, {len(self.doc_ids):,} documents)"

    # --- opening, creating, closing ----------------------------------------------------------------

    def _exists(self) -> bool:
        return (self.folder / EDGE_FILE).is_file()

    def _stored_layout(self) -> dict | None:
        if self._layout_cache is None:
            try:
                self._layout_cache = json.loads((self.folder / LAYOUT_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
        return self._layout_cache

    def _open(self) -> None:
        check_room(self.folder, open_needs(self.folder), f"opening the Qdrant Edge collection {self.collection!r}")
        stored = self._stored_layout()
        config = _config(int(stored["dense_dim"])) if stored and "dense_dim" in stored else None
        try:
            self._shard = qe.EdgeShard.load(str(self.folder), config)
        except Exception as exc:  # noqa: BLE001 - the engine raises a plain Exception; we say what it means
            raise _explain(exc, self.folder) from None
        self._track()

    def _create(self, layout: Layout) -> None:
        check_room(self.folder, open_needs(None, self.wal), f"creating the Qdrant Edge collection {self.collection!r}")
        if self.folder.exists() and any(self.folder.iterdir()):
            raise ValueError(f"folder {str(self.folder)!r} is not empty and holds no Qdrant Edge collection; "
                             f"choose an empty or new folder (path=..., collection=...).")
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._shard = qe.EdgeShard.create(str(self.folder), _config(layout.dense_dim, self.wal))
        except Exception as exc:  # noqa: BLE001
            raise _explain(exc, self.folder) from None
        record = self.folder / LAYOUT_FILE
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps(layout.metadata(), indent=1), encoding="utf-8")
        os.replace(tmp, record)
        self._layout_cache = layout.metadata()
        self._track()

    def _drop(self) -> None:
        self._check_replaceable()
        if self._shard is not None:
            self._shard.close()
            self._shard = None
        shutil.rmtree(self.folder)
        self._layout_cache = None

    def _check_replaceable(self, folder: Path | None = None) -> None:
        """A collection folder may be deleted only if it is one (the engine's record) and holds nothing else."""
        folder = folder or self.folder
        if not (folder / EDGE_FILE).is_file():
            raise ValueError(f"{str(folder)!r} is not a Qdrant Edge collection; refusing to delete it.")
        folders.check_output_folder(folder, "collection folder", owned=foreign_entries,
                                    fix="Use another collection name, or move those files out first.")

    def _track(self) -> None:
        """(Re)register the clean-up that flushes and closes the current shard (and deletes a temporary folder)."""
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _release, [self._shard], str(self.root) if self._temporary else None)

    def _same_collection(self, other) -> bool:
        return isinstance(other, EdgeStore) and other.folder.resolve() == self.folder.resolve()

    def _check_room(self, points: int, data: int) -> None:
        check_room(self.folder, room_needed(data, self.wal), f"loading {points:,} points into Qdrant Edge")

    @contextmanager
    def _writing(self, layout: Layout) -> Iterator[None]:
        """A new collection: created in place, or, in place of an existing one, built beside it and swapped in once
        complete (the old one stays whole and searchable if anything fails)."""
        if not self._exists():
            with super()._writing(layout):
                yield
            return
        self._check_replaceable()
        final, old = self.folder, self._shard
        with folders.build_folder(final) as new:  # locked while we build: a killed build is swept by the next one
            self.folder, self._shard, self._layout_cache = new, None, None
            try:
                self._create(layout)
                yield
                self._shard.flush()
                self._shard.close()
                self._shard = None
                if old is not None:
                    old.close()
                    old = None
                self._check_replaceable(final)
                folders.swap(new, final)
                shutil.rmtree(new)  # now the old collection: all the engine's and ours
            except BaseException:
                if self._shard is not None:
                    self._shard.close()
                shutil.rmtree(new, ignore_errors=True)
                raise
            finally:
                self.folder, self._shard, self._layout_cache = final, old, None
                self._track()

    def _check_engine_schema(self, layout: Layout) -> list[str]:
        stored = self._stored_layout()
        if not stored:
            return [f"{str(self.folder)!r} has no {LAYOUT_FILE}: it was not made by splade_helpers"]
        if self._shard is None:
            self._open()
        # the engine itself checked names, size, distance and the IDF modifier when _open loaded the
        # folder with the stored layout's config; what is left is the size the encoders produce
        if int(stored["dense_dim"]) != layout.dense_dim:
            return [f"its dense vectors have {stored['dense_dim']} dimensions, the dense model makes {layout.dense_dim}"]
        return []

    def close(self) -> None:
        """Close the folder (flushing it) and, for a temporary store, delete it."""
        self._finalizer()
        self._shard = None

    def flush(self) -> None:
        if self._shard is not None:
            self._shard.flush()

    def optimize(self) -> bool:
        """Run the engine's optimizers until none has work; blocks. True if any ran.

        They build HNSW for ``dense`` above the indexing threshold, and vacuum a segment of at least 1,000
        points more than 20 % of which are deleted (Qdrant's defaults); otherwise deleted points still count
        in BM25's IDF.
        """
        shard = self._ready()
        check_room(self.folder, optimize_needs(self.folder), f"optimizing the Qdrant Edge collection {self.collection!r}")
        return bool(shard.optimize())

    def _ready(self) -> qe.EdgeShard:
        if self._shard is None:
            if not self._exists():
                raise ValueError(f"collection {self.collection!r} does not exist in {str(self.root)!r}; "
                                 f"load documents first (store.index(doc_ids, texts)).")
            if not self._finalizer.alive:
                raise ValueError("this store is closed; open the folder again with EdgeStore(path).")
            self._open()
        return self._shard

    def info(self) -> dict:
        """Points, segments and indexed vectors, as the engine reports them."""
        i = self._ready().info()
        return {"points": i.points_count, "segments": i.segments_count, "indexed_vectors": i.indexed_vectors_count}

    # --- data ---------------------------------------------------------------------------------------

    def _upsert(self, points: list[StoredPoint]) -> None:
        check_room(self.folder, batch_needs(self.folder, points), f"writing {len(points):,} points to Qdrant Edge")
        ops = [qe.Point(id=p.id, vector={n: _vector(v) for n, v in p.vectors.items()}, payload=p.payload) for p in points]
        shard = self._ready()
        shard.update(qe.UpdateOperation.upsert_points(ops))
        if not self.wal:  # no log to replay: a batch is acknowledged (on_batch, "upserted N") only once on disk
            shard.flush()

    def _delete(self, point_ids: list[str]) -> None:
        self._ready().update(qe.UpdateOperation.delete_points(point_ids))

    def count(self) -> int:
        return int(self._ready().count(qe.CountRequest(exact=True))) if self._exists() else 0

    def _page(self, offset, limit: int, payload, with_vectors: bool) -> tuple[list[StoredPoint], object]:
        records, offset = self._ready().scroll(qe.ScrollRequest(offset=offset, limit=limit, with_payload=payload,
                                                                with_vector=with_vectors))
        return [record_point(r) for r in records], offset

    def _retrieve(self, point_ids: list[str]) -> list[StoredPoint]:
        return [record_point(r) for r in self._ready().retrieve(point_ids, with_payload=True, with_vector=True)]

    def schema(self) -> dict[str, dict]:
        """The named vectors from the engine's own record of the folder (``edge_config.json``)."""
        self._ready()
        config = json.loads((self.folder / EDGE_FILE).read_text(encoding="utf-8"))
        out = {n: {"size": v["size"], "distance": v["distance"]} for n, v in config.get("vectors", {}).items()}
        out.update({n: {"modifier": v.get("modifier")} for n, v in config.get("sparse_vectors", {}).items()})
        return out

    # --- queries ------------------------------------------------------------------------------------

    def _run(self, requests: list[Nearest | Fused], with_payload: bool) -> list[list[tuple[str, float, dict | None]]]:
        payload = ["doc_id"] if with_payload else False
        built = [_request(r, payload) for r in requests]
        shard = self._ready()
        answers = shard.query_batch(qe.QueryBatchRequest(built)) if len(built) > 1 else [shard.query(built[0])]
        return [[(str(p.id), p.score, p.payload) for p in points] for points in answers]


def _release(shard_box: list, temporary: str | None) -> None:
    shard = shard_box[0] if shard_box else None
    if shard is not None:
        try:
            shard.flush()
            shard.close()
        except Exception:  # noqa: BLE001 - closing twice or at interpreter exit
            pass
    if temporary:
        shutil.rmtree(temporary, ignore_errors=True)


def _explain(exc: Exception, folder: Path) -> Exception:
    text = str(exc)
    if "WouldBlock" in text or re.search(r"\block(ed|ing)?\b", text, re.IGNORECASE):  # not "block", "clock", "unlocked"
        return FolderLockedError(
            f"The Qdrant Edge folder {str(folder)!r} is already open (in this kernel, another notebook, a script or "
            f"another process). Qdrant Edge lets one open store hold a folder at a time, even within one process: "
            f"close the other store (store.close()) or restart its kernel, use another folder, or run a Qdrant server "
            f"(QDRANT_URL) for access from several processes.")
    if "incompatible" in text.lower():
        return ValueError(f"the Qdrant Edge collection in {str(folder)!r} does not have the course's layout: {text}. "
                          f"Rebuild it with if_exists='recreate' or use another folder.")
    return RuntimeError(f"Qdrant Edge could not open {str(folder)!r}: {text}")




def _vector(v: list[float] | SparseVec):
    return qe.SparseVector(indices=v.indices, values=v.values) if isinstance(v, SparseVec) else v


def _filter(conditions) -> qe.Filter | None:
    if not conditions:
        return None
    must = []
    for c in conditions:
        if isinstance(c, Match):
            must.append(qe.FieldCondition(key=c.key, match=qe.MatchValue(c.value)))
        elif isinstance(c, MatchText):
            must.append(qe.FieldCondition(key=c.key, match=qe.MatchText(c.text)))
        elif isinstance(c, Range):
            must.append(qe.FieldCondition(key=c.key, range=qe.RangeFloat(gte=c.gte, lte=c.lte)))
    return qe.Filter(must=must)


def _nearest(r: Nearest) -> qe.Query:
    return qe.Query.Nearest(_vector(r.vector), using=r.using)


def _request(r: Nearest | Fused, payload) -> qe.QueryRequest:
    if isinstance(r, Nearest):
        return qe.QueryRequest(limit=r.limit, query=_nearest(r), filter=_filter(r.filter), with_payload=payload,
                               with_vector=False)
    prefetch = [qe.Prefetch(limit=p.limit, query=_nearest(p), filter=_filter(p.filter)) for p in r.prefetch]
    if r.fusion == "rrf":
        query = qe.Fusion.Rrf(k=qdrant_rrf_k(r.rrf_k), weights=list(r.weights) if r.weights else None)
    elif r.fusion == "dbsf":
        query = qe.Fusion.Dbsf()
    else:
        e = qe.Expression
        query = qe.Formula(
            e.Sum([e.Mult([e.Constant(r.alpha), e.Variable("$score[0]")]),
                   e.Mult([e.Constant(1.0 - r.alpha),
                           e.Div(e.Variable("$score[1]"), e.Sum([e.Constant(r.q_sum), e.Variable("splade_sum")]),
                                 by_zero_default=0.0)])]),
            defaults={"$score[0]": 0.0, "$score[1]": 0.0},
        )
    return qe.QueryRequest(limit=r.limit, prefetches=prefetch, query=query, with_payload=payload, with_vector=False)
