"""The course's collection layout, point ids, and the checks every point passes before any engine sees it.

Every document is one point with three named vectors and a payload:

* ``dense``: the dense model's embedding, cosine distance;
* ``splade``: the SPLADE vector (vocabulary ids -> weights), dot product;
* ``bm25``: BM25 as sparse vectors (:class:`~splade_helpers.bm25.BM25Vectors`): the saturated,
  length-normalised term frequency per hashed term, with the engine's IDF modifier applied at
  query time;
* payload: ``doc_id``, ``title``, ``text``, ``splade_sum`` (for the reference article's formula)
  and any extra fields.

Point ids are UUID5 hashes of the document ids, so loading the same documents again updates the
same points. The layout (vector sizes, distances, the IDF modifier, the models that made the
vectors) is checked when a store is reused, for both engines.

Validation happens here because engines react badly to bad input: qdrant-client's local mode
refuses NaN and a wrong dimension but stores ``inf``, then ranks the point first with a NaN score
(notebook 05); Qdrant refuses duplicate sparse indices and non-UUID string ids, and qdrant-client
numpy scalars in payloads, with messages a learner cannot act on.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..validation import _shown, check_unique_ids

DENSE_VECTOR, SPLADE_VECTOR, BM25_VECTOR = "dense", "splade", "bm25"
VECTOR_NAMES = (DENSE_VECTOR, SPLADE_VECTOR, BM25_VECTOR)
LAYOUT_VERSION = 1
# fixed namespace: the same document id gives the same point id on every machine and every run
POINT_NAMESPACE = uuid.UUID("6f1c3a52-8d3e-5b7a-9c41-2e5d7f0a9b13")


def point_id(doc_id: str) -> str:
    """The point id of a document: a UUID5 of its id, so a re-upsert updates instead of duplicating.

    Introduced in notebook 05 (section 1, "The reference article's two functions, and what they get wrong").
    """
    if not isinstance(doc_id, str) or not doc_id:
        raise TypeError(f"document id must be a non-empty str, got {doc_id!r}.")
    return str(uuid.uuid5(POINT_NAMESPACE, doc_id))


IF_EXISTS = ("error", "reuse", "recreate")  # what a load may do to a collection that already exists


def natural_key(doc_id: str) -> tuple:
    """Sort key: ASCII-digit ids in numeric order ("2" before "10"; "02" and "2" by text), then the rest ("①" too)."""
    return (0, int(doc_id), doc_id) if doc_id.isascii() and doc_id.isdigit() else (1, 0, doc_id)


@dataclass(frozen=True)
class Layout:
    """What a collection must look like to be searched with the course's encoders.

    Not called by the notebooks; used by qdrant.QdrantStore (the layout a collection records).

    ``splade_model`` / ``dense_model`` are the encoders' names, ``splade_files`` / ``dense_files`` the
    fingerprints of their model files (:attr:`~splade_helpers.models.ModelSource.content_fingerprint`): vectors
    made by another model, or by a model re-trained at the same path, have other ids or another geometry, so
    mixing them gives silently wrong scores.
    """

    dense_dim: int
    splade_model: str = ""
    dense_model: str = ""
    bm25: Mapping[str, float] = field(default_factory=dict)
    splade_files: str = ""
    dense_files: str = ""

    def metadata(self) -> dict:
        """The layout as plain JSON, stored with the collection."""
        return {"splade_helpers_layout": LAYOUT_VERSION, "dense_dim": self.dense_dim, "splade_model": self.splade_model,
                "dense_model": self.dense_model, "bm25": dict(self.bm25), "splade_files": self.splade_files,
                "dense_files": self.dense_files}

    @classmethod
    def from_metadata(cls, stored: Mapping) -> Layout:
        """The layout a collection recorded (:meth:`metadata`)."""
        return cls(int(stored["dense_dim"]), stored.get("splade_model", ""), stored.get("dense_model", ""),
                   stored.get("bm25", {}), stored.get("splade_files", ""), stored.get("dense_files", ""))

    def differences(self, stored: Mapping | None) -> list[str]:
        """What differs between this layout and a stored one (empty: compatible)."""
        if not stored or stored.get("splade_helpers_layout") is None:
            return ["it was not made by splade_helpers (no layout record)"]
        out = []
        for key, mine in self.metadata().items():
            theirs = stored.get(key)
            if key == "bm25":  # k1 and b decide the document vectors; avg_len is refitted on every load
                mine = {k: v for k, v in dict(mine).items() if k != "avg_len"}
                theirs = {k: v for k, v in dict(theirs or {}).items() if k != "avg_len"}
            if mine != theirs:
                old = " (recorded by an older version)" if theirs is None and key.endswith("_files") else ""
                out.append(f"{key} is {theirs!r}{old}, not {mine!r}")
        return out


def model_problems(stored: Mapping | None, sources: Mapping[str, object], bm25: Mapping | None) -> list[str]:
    """How the encoders about to make query vectors differ from those that made a collection's vectors.

    Args:
        stored: the collection's layout record (``None`` or not ours: nothing to compare, no problem).
        sources: ``{"splade": ModelSource, "dense": ModelSource}`` for the vectors to be searched.
        bm25: ``{"k1", "b"}`` when ``bm25`` vectors are searched.
    Compared: the model files' fingerprints (``*_files``), or the models' names in records that have none.
    """
    if not stored or stored.get("splade_helpers_layout") is None:
        return []
    out = []
    for kind, source in sources.items():
        key, value = (f"{kind}_files", source.content_fingerprint) if stored.get(f"{kind}_files") else (f"{kind}_model", source.name)
        if stored.get(key) != value:
            out.append(f"{key} is {stored.get(key)!r}, the store's {kind} encoder gives {value!r}")
    if bm25 is not None:
        theirs = {k: dict(stored.get("bm25") or {}).get(k) for k in bm25}
        if theirs != dict(bm25):
            out.append(f"bm25 is {theirs!r}, the store's BM25 gives {dict(bm25)!r}")
    return out


@dataclass(frozen=True)
class SparseVec:
    """An engine-neutral sparse vector, valid by construction: ascending unique 32-bit ids, finite weights.

    Introduced in notebook 05 (section 2, "Two engines, one collection layout").

    Built from any ``indices`` / ``values`` (lists or arrays, in any order); a repeated id, a negative
    or non-integer id, NaN or infinity is a ``ValueError`` naming the problem.
    """

    indices: list[int]
    values: list[float]

    def __post_init__(self) -> None:
        idx, val = _checked_sparse(self.indices, self.values, "sparse vector")
        object.__setattr__(self, "indices", idx)
        object.__setattr__(self, "values", val)

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class StoredPoint:
    """One validated point, engine-neutral; ``vectors`` omits a dense vector for an empty document.

    Not called by the notebooks; used by qdrant.QdrantStore and its engines (a point as stored).
    """

    id: str
    vectors: dict[str, list[float] | SparseVec]
    payload: dict


def check_vectors(doc_ids: Sequence[str], dense: np.ndarray, splade: sp.spmatrix, bm25: Sequence) -> None:
    """Every document's vectors checked at once, before anything is written: finite dense vectors, finite
    sparse weights >= 0 (an encoder that went wrong is refused whole, not half-way through a load)."""
    d = np.asarray(dense, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(d).all(axis=1)) if d.size else []
    if len(bad):
        raise ValueError(f"the dense vector of document {doc_ids[bad[0]]!r} is not finite; nothing was written.")
    rows = sp.csr_matrix(splade)
    wrong = ~np.isfinite(rows.data) | (rows.data < 0)
    if wrong.any():
        row = int(np.searchsorted(rows.indptr, np.flatnonzero(wrong)[0], side="right") - 1)
        raise ValueError(f"the splade vector of document {doc_ids[row]!r} has the weight {float(rows.data[wrong][0])!r}; "
                         f"weights must be finite and >= 0. Nothing was written.")
    for i, (_, values) in enumerate(bm25):
        v = np.asarray(values, dtype=np.float64)
        if v.size and (~np.isfinite(v) | (v < 0)).any():
            raise ValueError(f"the bm25 vector of document {doc_ids[i]!r} has a weight that is negative or not finite; "
                             f"nothing was written.")


def check_point(point: object, dim: int) -> StoredPoint:
    """A point fit for the collection: a :class:`StoredPoint` whose vectors are the layout's, the dense one
    finite with ``dim`` dimensions, the sparse ones :class:`SparseVec` with non-negative weights (as SPLADE's
    and BM25's are). Checks what :func:`iter_points` builds again, for points made by hand.
    """
    if not isinstance(point, StoredPoint):
        raise TypeError(f"points must come from iter_points (StoredPoint), got {type(point).__name__}.")
    names = (DENSE_VECTOR, SPLADE_VECTOR, BM25_VECTOR)
    doc = point.payload.get("doc_id") if isinstance(point.payload, dict) else None
    if not isinstance(doc, str) or not doc:  # the store finds its documents by this field
        raise ValueError(f"point {point.id!r} has no payload doc_id (a non-empty str); build points with iter_points.")
    if point.id != point_id(doc):
        raise ValueError(f"point {point.id!r} carries doc_id {doc!r}, whose point id is {point_id(doc)!r}; a point "
                         f"stored under another id would duplicate or overwrite a document. Use point_id(doc_id).")
    plain(point.payload, f"payload of document {doc!r}")
    if not isinstance(point.vectors, dict):
        raise TypeError(f"vectors of document {doc!r} must be a dict by vector name, got {type(point.vectors).__name__}.")
    unknown = sorted(set(point.vectors) - set(names))
    if unknown:
        raise ValueError(f"point of document {doc!r} has the vector(s) {unknown}; the collection's are {list(names)}.")
    for name, v in point.vectors.items():
        where = f"{name} vector of document {doc!r}"
        if name == DENSE_VECTOR:
            check_dense(v, dim, where)
        elif not isinstance(v, SparseVec):
            raise TypeError(f"{where} must be a SparseVec, got {type(v).__name__}; build points with iter_points.")
        else:
            check_non_negative(v, where)
    return point


def check_non_negative(v: SparseVec, where: str, fix: str = "") -> SparseVec:
    """``v`` if no weight is negative (a negative query weight would rank documents in reverse)."""
    if any(x < 0 for x in v.values):
        raise ValueError(f"{where} has a negative weight ({min(v.values):g}); SPLADE's and BM25's weights are >= 0.{fix}")
    return v


def record_point(record) -> StoredPoint:
    """A record read back from either engine (``.id``, ``.vector``, ``.payload``) as a :class:`StoredPoint`."""
    vectors = {n: SparseVec(list(v.indices), list(v.values)) if hasattr(v, "indices") else list(v)
               for n, v in (record.vector or {}).items()}
    return StoredPoint(str(record.id), vectors, dict(record.payload or {}))


INT64 = (-(2**63), 2**63 - 1)  # Qdrant's payload integers


def plain(value: object, where: str = "payload") -> object:
    """Turn a payload into plain JSON types (numpy scalars and arrays included), or say what is wrong.

    Introduced in notebook 05 (section 1, "The reference article's two functions, and what they get wrong").

    Integers beyond 64 bits are refused: Qdrant would store them as rounded floats.
    """
    if isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"{where} is {value}, beyond Qdrant's 64-bit integers (it would be stored as a rounded float); "
                         f"store it as a str.")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; JSON payloads cannot hold NaN or infinity.")
        return value
    if isinstance(value, np.generic):
        return plain(value.item(), where)
    if isinstance(value, np.ndarray):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value.tolist())]
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where} has a {type(value).__name__}, which Qdrant cannot store; convert it to str, "
                    f"a number, a list or a dict first.")


def check_dense(vector: object, dim: int, where: str = "dense vector", allow_zero: bool = False) -> list[float] | None:
    """A finite float list of length ``dim``; an all-zero vector is an error, or ``None`` if allowed.

    Introduced in notebook 05 (section 1, "The reference article's two functions, and what they get wrong").
    """
    try:
        a = np.asarray(vector, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{where} must be a list of {dim} numbers, got {type(vector).__name__}.") from None
    if a.shape[0] != dim:
        raise ValueError(f"{where} has {a.shape[0]} dimensions; the collection's 'dense' vectors have {dim}. "
                         f"Encode with the same model the collection was built with.")
    if not np.isfinite(a).all():
        bad = a[~np.isfinite(a)][0]
        raise ValueError(f"{where} contains {bad}; vectors must be finite"
                         + (" (local mode would store it and rank NaN first)." if np.isinf(bad) else "."))
    if not a.any():
        if allow_zero:
            return None
        raise ValueError(f"{where} is all zeros; cosine similarity is undefined for it (empty text?).")
    return a.tolist()


def check_sparse(indices: object, values: object, where: str = "sparse vector") -> SparseVec:
    """A :class:`SparseVec` from indices and values, with errors that say which vector is wrong.

    Not called by the notebooks; used by qdrant.QdrantStore (document and query vectors).
    """
    try:
        return SparseVec(indices, values)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("sparse vector", where, 1)) from None


def _checked_sparse(indices: object, values: object, where: str) -> tuple[list[int], list[float]]:
    try:
        idx = np.asarray(indices, dtype=np.float64).ravel()
        val = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{where} must have numeric indices and values.") from None
    if idx.shape != val.shape:
        raise ValueError(f"{where} has {idx.size} indices but {val.size} values.")
    if idx.size and (not np.isfinite(idx).all() or (idx != np.round(idx)).any()):
        raise ValueError(f"{where} has a non-integer index; indices are term ids (whole numbers).")
    if idx.size and (idx.min() < 0 or idx.max() >= 2**32):
        raise ValueError(f"{where} has index {int(idx.min() if idx.min() < 0 else idx.max())}; indices must be in [0, 2**32).")
    if not np.isfinite(val).all():
        raise ValueError(f"{where} contains {val[~np.isfinite(val)][0]}; weights must be finite.")
    ids = idx.astype(np.int64)
    if idx.size > 1 and not (np.diff(ids) > 0).all():
        order = np.argsort(ids, kind="stable")
        ids, val = ids[order], val[order]
        repeated = ids[1:][np.diff(ids) == 0]
        if repeated.size:
            raise ValueError(f"{where} repeats index {int(repeated[0])}; each term may appear once (sum the weights first).")
    return ids.tolist(), val.tolist()


RESERVED_PAYLOAD = frozenset({"doc_id", "title", "text", "splade_sum"})  # the payload fields iter_points writes


def check_extra(extra: object, n: int) -> None:
    """``None`` or one mapping of payload fields per document (the ``extra`` of :func:`iter_points`)."""
    if extra is None:
        return
    if isinstance(extra, (str, bytes, Mapping)) or not isinstance(extra, Sequence):
        raise TypeError(f"extra={_shown(extra)} must be a list with one dict of payload fields per document.")
    if len(extra) != n:
        raise ValueError(f"{n} documents but {len(extra)} extra payloads; pass one dict per document.")
    for i, e in enumerate(extra):
        if not isinstance(e, Mapping):
            raise TypeError(f"extra[{i}]={_shown(e)} must be a dict of payload fields, e.g. {{'year': 1958}}, "
                            f"got {type(e).__name__}.")
        bad = [k for k in e if not isinstance(k, str) or not k]
        if bad:
            raise TypeError(f"extra[{i}] has the field name {bad[0]!r}; payload field names are non-empty str.")
        clash = sorted(RESERVED_PAYLOAD & set(e))
        if clash:
            raise ValueError(f"extra[{i}] sets {clash}, which the store writes itself from the document (its id, title, "
                             f"the text its vectors come from, the SPLADE sum); rename the field, e.g. 'source_{clash[0]}'.")


def point_bytes(point: StoredPoint) -> int:
    """The bytes one point brings to an engine: 4 per dense dimension, 8 per sparse non-zero, its payload as JSON."""
    vectors = sum(8 * len(v) if isinstance(v, SparseVec) else 4 * len(v) for v in point.vectors.values())
    return vectors + len(json.dumps(point.payload)) + 64


def load_bytes(dense: np.ndarray, splade: sp.spmatrix, bm25: Sequence[tuple], texts: Sequence[str],
               titles: Sequence[str] | None = None, extra: Sequence[Mapping] | None = None) -> int:
    """:func:`point_bytes` summed over a load, from its arrays (without building the points)."""
    payload = sum(len(t.encode("utf-8")) for t in texts) + sum(len(t.encode("utf-8")) for t in titles or [])
    payload += sum(len(json.dumps(plain(e))) for e in extra or [])
    sparse = 8 * (sp.csr_matrix(splade).nnz + sum(len(i) for i, _ in bm25))
    return int(np.asarray(dense).size * 4 + sparse + payload + 128 * len(texts))


def csr_row(m: sp.csr_matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Row ``i`` of a CSR matrix as (indices, values)."""
    lo, hi = m.indptr[i], m.indptr[i + 1]
    return m.indices[lo:hi], m.data[lo:hi]


def iter_points(
    doc_ids: Sequence[str],
    texts: Sequence[str],
    dense: np.ndarray,
    splade: sp.csr_matrix,
    bm25: Sequence[tuple[np.ndarray, np.ndarray]],
    titles: Sequence[str] | None = None,
    extra: Sequence[Mapping] | None = None,
) -> Iterator[StoredPoint]:
    """Validated points, one per document (payload: doc_id, title, text, splade_sum, and ``extra``).

    Not called by the notebooks; used by qdrant.QdrantStore.index and benchmarks/qdrant_scale.py.

    A document whose text is empty gets no dense vector and empty sparse vectors: its point exists
    with its payload, counts as a document for BM25's IDF (as in bm25s), and never matches.
    """
    doc_ids = check_unique_ids(doc_ids, "document ids")
    n = len(doc_ids)
    splade = sp.csr_matrix(splade)
    sizes = {"texts": len(texts), "dense": len(dense), "splade rows": splade.shape[0], "bm25 vectors": len(bm25)}
    if titles:
        sizes["titles"] = len(titles)
    for what, size in sizes.items():
        if size != n:
            raise ValueError(f"{n} document ids but {size} {what}; pass one of each per document.")
    check_extra(extra, n)
    dim = int(np.shape(dense)[1])
    for i, d in enumerate(doc_ids):
        idx, val = csr_row(splade, i)
        payload = {"doc_id": d, "title": (titles[i] if titles else ""), "text": texts[i], "splade_sum": float(val.sum())}
        if extra is not None:
            payload.update(extra[i])  # check_extra refused the fields above
        vectors = {DENSE_VECTOR: check_dense(dense[i], dim, f"dense vector of document {d!r}", allow_zero=True),
                   SPLADE_VECTOR: check_sparse(idx, val, f"splade vector of document {d!r}"),
                   BM25_VECTOR: check_sparse(*bm25[i], where=f"bm25 vector of document {d!r}")}
        vectors = {k: v for k, v in vectors.items() if v is not None}
        yield StoredPoint(point_id(d), vectors, plain(payload, f"payload of document {d!r}"))
