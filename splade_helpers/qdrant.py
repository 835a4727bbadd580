"""Qdrant storage: named dense + sparse vectors, batched upserts, server-side hybrid queries.

One code path for every deployment: ``QDRANT_URL`` (and ``QDRANT_API_KEY``) set -> that server or
cluster; otherwise qdrant-client's embedded local mode, in memory or in a folder. Local mode scans
every point in Python (about 23 ms per 1,000 points per sparse query): fine for a course, a server
beyond a few tens of thousands of documents.

The collection holds three named vectors per document:

* ``dense``: the MiniLM embedding (cosine);
* ``splade``: the SPLADE sparse vector (dot product);
* ``bm25``: BM25 term-frequency weights, with Qdrant's IDF modifier applied at query time, so BM25
  runs inside Qdrant and equals :class:`splade_helpers.bm25.BM25`'s scores.

Everything is validated here first, because local mode accepts ``inf`` (and then ranks NaN first),
raises raw numpy errors for a wrong dimension, and rejects duplicate sparse indices, non-UUID
string ids and numpy scalars in payloads with messages a learner cannot act on.
"""

from __future__ import annotations

import math
import os
import socket
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import scipy.sparse as sp
from qdrant_client import QdrantClient, models
from tqdm.auto import tqdm

from .bm25 import analyze
from .retrievers import Retriever
from .sparse import progress_enabled
from .validation import check_text, check_unique_ids

DENSE, SPLADE, BM25 = "dense", "splade", "bm25"
# fixed namespace: the same document id gives the same point id on every machine and every run
POINT_NAMESPACE = uuid.UUID("6f1c3a52-8d3e-5b7a-9c41-2e5d7f0a9b13")
QDRANT_RRF_K = 2  # Qdrant's default RRF constant


def point_id(doc_id: str) -> str:
    """The point id of a document: a UUID5 of its id, so a re-upsert updates instead of duplicating."""
    if not isinstance(doc_id, str) or not doc_id:
        raise TypeError(f"document id must be a non-empty str, got {doc_id!r}.")
    return str(uuid.uuid5(POINT_NAMESPACE, doc_id))


# --- clients -----------------------------------------------------------------------------------


def get_client(location: str | os.PathLike | None = None, *, url: str | None = None, api_key: str | None = None,
               timeout: float = 5.0) -> QdrantClient:
    """A Qdrant client: ``url`` or ``$QDRANT_URL`` -> server; else local mode (``location`` folder or memory).

    Raises:
        ConnectionError: the server does not answer within ``timeout`` seconds.
        RuntimeError: another client holds the local folder (local mode allows one process at a time).
    """
    url = url or os.environ.get("QDRANT_URL")
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        port = parsed.port or (443 if parsed.scheme == "https" else 6333)
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
        except OSError as exc:
            raise ConnectionError(
                f"Qdrant at {url!r} is unreachable ({exc.__class__.__name__}: {exc}) within {timeout:g} s. "
                f"Start the server, fix QDRANT_URL, or unset QDRANT_URL to use the embedded local mode."
            ) from None
        return QdrantClient(url=url, api_key=api_key or os.environ.get("QDRANT_API_KEY"), timeout=int(math.ceil(timeout)))
    if location is None or str(location) == ":memory:":
        return QdrantClient(location=":memory:")
    try:
        return QdrantClient(path=str(Path(location).expanduser()))
    except RuntimeError as exc:
        if "already accessed" not in str(exc):
            raise
        raise RuntimeError(
            f"The Qdrant folder {str(location)!r} is locked by another client (another notebook, script or "
            f"kernel). Local mode lets one process open a folder at a time: close the other client "
            f"(client.close()) or restart its kernel, use a different folder, or run a Qdrant server "
            f"(set QDRANT_URL) for concurrent access."
        ) from None


# --- BM25 as sparse vectors ----------------------------------------------------------------------


def term_id(term: str) -> int:
    """A stable 32-bit id for a BM25 term (CRC-32), the same in every process."""
    return zlib.crc32(term.encode("utf-8"))


class BM25Vectors:
    """BM25 as sparse vectors for Qdrant: documents carry the saturated term frequency, Qdrant
    multiplies by its IDF, ``ln(1 + (N - df + 0.5) / (df + 0.5))``, at query time.

    Document weight of term t: ``tf / (tf + k1 * (1 - b + b * len / avglen))`` (bm25s's ``lucene``
    variant); query weight: the term's count in the query. Lengths count analysed terms.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.avg_len = 0.0
        self.terms: dict[int, str] = {}

    def fit(self, texts: Sequence[str]) -> BM25Vectors:
        """Learn the average document length, and check that no two terms share an id."""
        analyzed = analyze(texts)
        self.avg_len = float(np.mean([len(t) for t in analyzed])) if analyzed else 0.0
        for terms in analyzed:
            for t in terms:
                i = term_id(t)
                if self.terms.setdefault(i, t) != t:
                    raise ValueError(f"BM25 terms {self.terms[i]!r} and {t!r} hash to the same id {i}; "
                                     f"rename one in the corpus or use another term_id function.")
        return self

    def _vector(self, counts: Counter, doc_len: int | None) -> models.SparseVector:
        items = sorted((term_id(t), n) for t, n in counts.items())
        if doc_len is None:
            values = [float(n) for _, n in items]
        else:
            norm = self.k1 * (1 - self.b + self.b * doc_len / self.avg_len) if self.avg_len else self.k1
            values = [n / (n + norm) for _, n in items]
        return models.SparseVector(indices=[i for i, _ in items], values=values)

    def documents(self, texts: Sequence[str]) -> list[models.SparseVector]:
        if not self.avg_len:
            raise ValueError("BM25Vectors is not fitted: call .fit(document_texts) first.")
        return [self._vector(Counter(terms), len(terms)) for terms in analyze(texts)]

    def query(self, text: str) -> models.SparseVector:
        return self._vector(Counter(analyze([check_text(text, "query")])[0]), None)


# --- validation ----------------------------------------------------------------------------------


def plain(value: object, where: str = "payload") -> object:
    """Turn a payload into plain JSON types (numpy scalars and arrays included), or say what is wrong."""
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
    """A finite float list of length ``dim``; an all-zero vector is an error, or ``None`` if allowed."""
    a = np.asarray(vector, dtype=np.float64).ravel()
    if a.shape[0] != dim:
        raise ValueError(f"{where} has {a.shape[0]} dimensions; the collection's 'dense' vectors have {dim}. "
                         f"Encode with the same model the collection was built with.")
    if not np.isfinite(a).all():
        raise ValueError(f"{where} contains {a[~np.isfinite(a)][0]}; vectors must be finite (local mode would "
                         f"store it and rank NaN first).")
    if not a.any():
        if allow_zero:
            return None
        raise ValueError(f"{where} is all zeros; cosine similarity is undefined for it (empty text?).")
    return a.tolist()


def check_sparse(indices: Sequence[int], values: Sequence[float], where: str = "sparse vector") -> models.SparseVector:
    """Sorted, unique, non-negative 32-bit indices with finite values."""
    idx = np.asarray(indices, dtype=np.int64).ravel()
    val = np.asarray(values, dtype=np.float64).ravel()
    if idx.shape != val.shape:
        raise ValueError(f"{where} has {idx.size} indices but {val.size} values.")
    if idx.size and (idx.min() < 0 or idx.max() >= 2**32):
        raise ValueError(f"{where} has index {int(idx.min() if idx.min() < 0 else idx.max())}; indices must be in [0, 2**32).")
    uniq, counts = np.unique(idx, return_counts=True)
    if (counts > 1).any():
        dup = int(uniq[counts > 1][0])
        raise ValueError(f"{where} repeats index {dup}; each term may appear once (sum the weights first).")
    if not np.isfinite(val).all():
        raise ValueError(f"{where} contains {val[~np.isfinite(val)][0]}; weights must be finite.")
    order = np.argsort(idx, kind="stable")
    return models.SparseVector(indices=idx[order].tolist(), values=val[order].tolist())


def _csr_row(m: sp.csr_matrix, i: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = m.indptr[i], m.indptr[i + 1]
    return m.indices[lo:hi], m.data[lo:hi]


# --- collections and upserts ---------------------------------------------------------------------


def create_collection(client: QdrantClient, name: str, dense_dim: int, if_exists: str = "error") -> bool:
    """Create a collection with ``dense`` (cosine), ``splade`` and ``bm25`` (IDF) vectors.

    Args:
        if_exists: what to do when ``name`` exists: ``"error"`` (default), ``"reuse"`` (keep it; its
            dense size must match) or ``"recreate"`` (delete it and its points first).
    Returns:
        True when a new collection was created.
    """
    if if_exists not in ("error", "reuse", "recreate"):
        raise ValueError(f"if_exists={if_exists!r} is not supported; use 'error', 'reuse' or 'recreate'.")
    if not isinstance(dense_dim, int) or dense_dim < 1:
        raise ValueError(f"dense_dim={dense_dim!r} must be a positive int (the dense model's dimension).")
    if client.collection_exists(name):
        if if_exists == "error":
            raise ValueError(f"collection {name!r} already exists; pass if_exists='reuse' to add to it or "
                             f"'recreate' to delete and rebuild it.")
        if if_exists == "reuse":
            size = client.get_collection(name).config.params.vectors[DENSE].size
            if size != dense_dim:
                raise ValueError(f"collection {name!r} stores {size}-d dense vectors, not {dense_dim}-d; "
                                 f"use if_exists='recreate' or another name.")
            return False
        client.delete_collection(name)
    client.create_collection(
        name,
        vectors_config={DENSE: models.VectorParams(size=dense_dim, distance=models.Distance.COSINE)},
        sparse_vectors_config={SPLADE: models.SparseVectorParams(),
                               BM25: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    return True


def iter_points(doc_ids: Sequence[str], texts: Sequence[str], dense: np.ndarray, splade: sp.csr_matrix,
                bm25: Sequence[models.SparseVector], titles: Sequence[str] | None = None,
                extra: Sequence[Mapping] | None = None) -> Iterator[models.PointStruct]:
    """Validated points, one per document (payload: doc_id, title, text, splade_sum, and ``extra``).

    A document whose text is empty gets no dense vector and empty sparse vectors (its point still
    exists with its payload), so it is stored, counted and never matched.
    """
    doc_ids = check_unique_ids(list(doc_ids), "document ids")
    n = len(doc_ids)
    splade = sp.csr_matrix(splade)
    for what, size in (("texts", len(texts)), ("dense", len(dense)), ("splade rows", splade.shape[0]), ("bm25", len(bm25))):
        if size != n:
            raise ValueError(f"{n} document ids but {size} {what}; pass one of each per document.")
    dim = int(np.shape(dense)[1])
    for i, d in enumerate(doc_ids):
        idx, val = _csr_row(splade, i)
        payload = {"doc_id": d, "title": (titles[i] if titles else ""), "text": texts[i], "splade_sum": float(val.sum())}
        if extra is not None:
            payload.update(extra[i])
        vectors = {DENSE: check_dense(dense[i], dim, f"dense vector of document {d!r}", allow_zero=True),
                   SPLADE: check_sparse(idx, val, f"splade vector of document {d!r}"),
                   BM25: check_sparse(bm25[i].indices, bm25[i].values, f"bm25 vector of document {d!r}")}
        # an empty document has no dense vector (named vectors are optional) and empty sparse vectors,
        # which still count as documents for BM25's IDF, as in bm25s: it is stored and never matched
        vectors = {k: v for k, v in vectors.items() if v is not None}
        yield models.PointStruct(id=point_id(d), vector=vectors, payload=plain(payload, f"payload of document {d!r}"))


def upsert_points(client: QdrantClient, name: str, points: Iterator[models.PointStruct] | Sequence[models.PointStruct],
                  batch_size: int = 128, total: int | None = None, progress: bool | None = None,
                  on_batch: Callable[[int], None] | None = None) -> int:
    """Upsert in batches (each waits for acknowledgement); returns how many points were sent.

    ``on_batch(sent)`` is called after every acknowledged batch with the running total.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int.")
    sent, batch = 0, []
    bar = tqdm(total=total, desc="upserting", unit="point", disable=not progress_enabled(progress, total or 0, 256))
    def flush() -> None:
        nonlocal sent, batch
        client.upsert(name, points=batch, wait=True)
        sent += len(batch)
        bar.update(len(batch))
        batch = []
        if on_batch is not None:
            on_batch(sent)

    for p in points:
        batch.append(p)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    bar.close()
    return sent


# --- queries -------------------------------------------------------------------------------------


def _hits(points: Sequence[models.ScoredPoint]) -> list[tuple[str, float]]:
    return [(p.payload["doc_id"], float(p.score)) for p in points]


def search(client: QdrantClient, name: str, using: str, vector, limit: int = 10,
           query_filter: models.Filter | None = None, ids: Mapping[str, str] | None = None,
           dim: int | None = None) -> list[tuple[str, float]]:
    """One named vector alone: ``(doc_id, score)`` best first. ``vector``: a dense list or a SparseVector.

    ``ids`` (point id -> doc id) skips fetching payloads, which matters for large ``limit``; ``dim``
    (the collection's dense size) saves a round trip per query when known.
    """
    if using == DENSE:
        dim = dim or client.get_collection(name).config.params.vectors[DENSE].size
        vector = check_dense(vector, dim, "query vector")
    elif using in (SPLADE, BM25):
        if not isinstance(vector, models.SparseVector):
            raise TypeError(f"a {using!r} query must be a models.SparseVector, got {type(vector).__name__}.")
        if not vector.indices:
            return []  # an empty query matches nothing
        vector = check_sparse(vector.indices, vector.values, f"{using} query vector")
    else:
        raise ValueError(f"using={using!r} is not a vector of this collection; use 'dense', 'splade' or 'bm25'.")
    res = client.query_points(name, query=vector, using=using, limit=limit, query_filter=query_filter,
                              with_payload=ids is None)
    if ids is not None:
        return [(ids[str(p.id)], float(p.score)) for p in res.points]
    return _hits(res.points)


def hybrid_search(
    client: QdrantClient,
    name: str,
    queries: Mapping[str, object],
    fusion: str = "rrf",
    limit: int = 10,
    prefetch_limit: int = 100,
    rrf_k: int = QDRANT_RRF_K,
    weights: Sequence[float] | None = None,
    alpha: float = 0.7,
    query_filter: models.Filter | None = None,
) -> list[tuple[str, float]]:
    """Server-side hybrid: one ``prefetch`` per named vector, fused by Qdrant.

    Args:
        queries: ``{"dense": [...], "splade": SparseVector, "bm25": SparseVector}`` (any subset; the
            order of the prefetches is this mapping's order).
        fusion: ``"rrf"`` (Qdrant's ``1 / (k + position)``, position from 0, optional ``weights``),
            ``"dbsf"`` (mean ± 3 std of each prefetch list), or ``"seed"``: the seed's
            ``alpha * cosine + (1 - alpha) * splade / (sum(q) + sum(d))`` as a formula query
            (needs ``dense`` and ``splade``, in that order).
    """
    dim = client.get_collection(name).config.params.vectors[DENSE].size
    prefetch = []
    for using, vector in queries.items():
        if using == DENSE:
            vector = check_dense(vector, dim, "dense query vector")
        elif using in (SPLADE, BM25):
            if not vector.indices:
                continue  # an empty sparse query contributes nothing
            vector = check_sparse(vector.indices, vector.values, f"{using} query vector")
        else:
            raise ValueError(f"unknown vector {using!r}; use 'dense', 'splade' or 'bm25'.")
        prefetch.append(models.Prefetch(query=vector, using=using, limit=prefetch_limit, filter=query_filter))
    if not prefetch:
        return []
    if fusion == "rrf" and rrf_k == QDRANT_RRF_K and not weights:
        query = models.FusionQuery(fusion=models.Fusion.RRF)  # Qdrant's default RRF
    elif fusion == "rrf":
        query = models.RrfQuery(rrf=models.Rrf(k=rrf_k, weights=list(weights) if weights else None))
    elif fusion == "dbsf":
        query = models.FusionQuery(fusion=models.Fusion.DBSF)
    elif fusion == "seed":
        if list(queries)[:2] != [DENSE, SPLADE] or len(prefetch) != 2:
            raise ValueError("fusion='seed' needs non-empty 'dense' then 'splade' queries, in that order.")
        q_sum = float(sum(queries[SPLADE].values))
        query = models.FormulaQuery(
            formula=models.SumExpression(sum=[
                models.MultExpression(mult=[alpha, "$score[0]"]),
                models.MultExpression(mult=[1 - alpha, models.DivExpression(div=models.DivParams(
                    left="$score[1]", right=models.SumExpression(sum=[q_sum, "splade_sum"])))]),
            ]),
            defaults={"$score[0]": 0.0, "$score[1]": 0.0},
        )
    else:
        raise ValueError(f"fusion={fusion!r} is not supported; use 'rrf', 'dbsf' or 'seed'.")
    res = client.query_points(name, prefetch=prefetch, query=query, limit=limit, with_payload=True)
    return _hits(res.points)


# --- the same fusions on the client, for comparison -----------------------------------------------


def fuse_lists(lists: Sequence[Sequence[tuple[str, float]]], fusion: str = "rrf", limit: int = 10,
               rrf_k: int = QDRANT_RRF_K, weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """Qdrant's RRF and DBSF applied to ranked ``(doc_id, score)`` lists, exactly as the server does.

    RRF: a document at position p (0 = first) of list i gets ``1 / ((p + 1) / w_i + k - 1)``; with
    w = 1 that is ``1 / (k + p)``, i.e. the textbook ``1 / (k' + rank)`` with k' = k - 1.
    DBSF: each list is scaled by ``(s - (mean - 3 std)) / (6 std)`` (sample std; one item -> 0.5).
    Ties keep first-seen order (Python's stable sort), as in qdrant-client.
    """
    scores: dict[str, float] = {}
    if fusion == "rrf":
        weights = [1.0] * len(lists) if weights is None else list(weights)
        for lst, w in zip(lists, weights):
            for p, (d, _) in enumerate(lst):
                scores[d] = scores.get(d, 0.0) + (0.0 if w <= 0 else 1 / ((p + 1.0) / w + rrf_k - 1.0))
    elif fusion == "dbsf":
        for lst in lists:
            if not lst:
                continue
            vals = np.array([s for _, s in lst], dtype=np.float64)
            if len(vals) == 1 or vals.var(ddof=1) == 0:
                norm = np.full(len(vals), 0.5)
            else:
                mean, std = vals.mean(), vals.std(ddof=1)
                norm = (vals - (mean - 3 * std)) / (6 * std)
            for (d, _), v in zip(lst, norm):
                scores[d] = scores.get(d, 0.0) + float(v)
    else:
        raise ValueError(f"fusion={fusion!r} is not supported; use 'rrf' or 'dbsf'.")
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:limit]


# --- a dataset in Qdrant, searched through the course's Retriever interface ------------------------


def csr_query(m: sp.csr_matrix, i: int) -> models.SparseVector:
    """Row ``i`` of a SPLADE matrix as a Qdrant sparse vector."""
    idx, val = _csr_row(sp.csr_matrix(m), i)
    return models.SparseVector(indices=idx.tolist(), values=val.tolist())


class QdrantStore:
    """Documents in one Qdrant collection (dense + splade + bm25), encoded with the course's encoders.

    Args:
        client: from :func:`get_client`.
        name: the collection name.
        splade, dense: encoders (default: the bundled models).
    """

    def __init__(self, client: QdrantClient, name: str = "course", splade=None, dense=None) -> None:
        from .dense import DenseEncoder
        from .sparse import SpladeEncoder

        self.client, self.name = client, name
        self.splade = splade or SpladeEncoder()
        self.dense = dense or DenseEncoder()
        self.bm25 = BM25Vectors()
        self.doc_ids: list[str] = []

    def index(self, doc_ids: Sequence[str], texts: Sequence[str], titles: Sequence[str] | None = None,
              if_exists: str = "recreate", batch_size: int = 128, progress: bool | None = None,
              on_batch: Callable[[int], None] | None = None) -> int:
        """Encode and upsert every document; returns the number of points sent (see :func:`upsert_points`)."""
        doc_ids = check_unique_ids(list(doc_ids), "document ids")
        create_collection(self.client, self.name, self.dense.dim, if_exists=if_exists)
        self.bm25.fit(texts)
        points = iter_points(doc_ids, texts, self.dense.encode(texts), self.splade.encode_documents(texts),
                             self.bm25.documents(texts), titles)
        sent = upsert_points(self.client, self.name, points, batch_size=batch_size, total=len(doc_ids), progress=progress,
                             on_batch=on_batch)
        self.doc_ids = doc_ids
        return sent

    def query_vectors(self, queries: Sequence[str], kinds: Sequence[str] = (DENSE, SPLADE, BM25)) -> dict[str, list]:
        """Per query, the vectors of each kind asked for: dense arrays (None for an empty query), sparse vectors."""
        out: dict[str, list] = {}
        if DENSE in kinds:
            dense = self.dense.encode(queries)
            out[DENSE] = [dense[i] if dense[i].any() else None for i in range(len(queries))]
        if SPLADE in kinds:
            splade = self.splade.encode_queries(queries)
            out[SPLADE] = [csr_query(splade, i) for i in range(len(queries))]
        if BM25 in kinds:
            out[BM25] = [self.bm25.query(q) for q in queries]
        return out

    def score_matrix(self, using: str, queries: Sequence[str]) -> np.ndarray:
        """Scores of every document for every query, from Qdrant (0 where a document did not match)."""
        column = {d: i for i, d in enumerate(self.doc_ids)}
        ids = {point_id(d): d for d in self.doc_ids}
        vectors = self.query_vectors(queries, kinds=(using,))[using]
        out = np.zeros((len(queries), len(self.doc_ids)))
        for row, vector in enumerate(vectors):
            if vector is None:
                continue  # an empty query matches nothing
            for d, s in search(self.client, self.name, using, vector, limit=len(self.doc_ids), ids=ids, dim=self.dense.dim):
                out[row, column[d]] = s
        return out


class QdrantRetriever(Retriever):
    """One named vector of a :class:`QdrantStore` behind the course's Retriever interface.

    Retrievers sharing a store index it once; scores come from Qdrant's own search. With
    ``reindex=False`` the store must already hold exactly the documents given to :meth:`index`
    (its collection is searched as it is, never recreated).
    """

    def __init__(self, store: QdrantStore, using: str, reindex: bool = True) -> None:
        if using not in (DENSE, SPLADE, BM25):
            raise ValueError(f"using={using!r} is not a vector of the store; use 'dense', 'splade' or 'bm25'.")
        super().__init__()
        self.store, self.name, self.sparse, self.reindex = store, using, using != DENSE, reindex

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        if self.store.doc_ids == doc_ids:
            return
        if not self.reindex:
            raise ValueError(
                f"collection {self.store.name!r} holds {len(self.store.doc_ids):,} documents indexed by this store, not "
                f"the {len(doc_ids):,} given; call store.index(doc_ids, texts) first, or use backend='qdrant' for a "
                "new collection.")
        self.store.index(doc_ids, texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_indexed()
        return self.store.score_matrix(self.name, list(queries))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m splade_helpers.qdrant --dataset cranfield --path DIR``: load a dataset into Qdrant.

    Re-running it updates the same points (UUID5 ids), so an interrupted load is finished by running
    it again. Prints one ``upserted N`` line per batch.
    """
    import argparse
    import time

    from .datasets import load_dataset

    parser = argparse.ArgumentParser(prog="python -m splade_helpers.qdrant", description=main.__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="cranfield")
    parser.add_argument("--path", help="local-mode folder (default: $QDRANT_URL, else memory)")
    parser.add_argument("--collection", default="course")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--if-exists", default="reuse", choices=["error", "reuse", "recreate"])
    parser.add_argument("--throttle", type=float, default=0.0, help="seconds to wait between batches (demos, fault tests)")
    args = parser.parse_args(argv)
    ds = load_dataset(args.dataset)
    client = get_client(args.path)

    def report(sent: int) -> None:
        print(f"upserted {sent}", flush=True)
        time.sleep(args.throttle)

    sent = QdrantStore(client, args.collection).index(ds.doc_ids, ds.doc_texts, ds.doc_titles, if_exists=args.if_exists,
                                                      batch_size=args.batch_size, progress=False, on_batch=report)
    print(f"collection {args.collection!r}: {client.count(args.collection).count} points", flush=True)
    client.close()
    return 0 if sent == len(ds.doc_ids) else 1


if __name__ == "__main__":
    raise SystemExit(main())
