"""A Qdrant server or cluster through qdrant-client, with the same layout and queries as Qdrant Edge.

``QDRANT_URL`` (and ``QDRANT_API_KEY`` for Qdrant Cloud) point the course at a server; the
collection has the same named vectors, point ids, payload and fusions as :class:`~.edge.EdgeStore`.
qdrant-client's **local mode** (``get_client(":memory:")`` or a folder) is Qdrant's API
re-implemented in pure Python for development and tests: it scans every point per query (about
0.1 s per SPLADE query over 1,400 documents here), so it is used only where a lesson needs the
client's API without a server.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from qdrant_client import QdrantClient, models

from ..folders import check_not_in_model
from ..fusion import qdrant_rrf_k
from ..validation import check_number
from .schema import BM25_VECTOR, DENSE_VECTOR, SPLADE_VECTOR, Layout, SparseVec, StoredPoint, record_point
from .search import Fused, Match, MatchText, Nearest, Range
from .store import QdrantStore


def get_client(location: str | os.PathLike | None = None, *, url: str | None = None, api_key: str | None = None,
               timeout: float = 5.0) -> QdrantClient:
    """A qdrant-client: ``url`` or ``$QDRANT_URL`` -> that server; else local mode (``location`` folder, or memory).

    Not called by the notebooks; used by qdrant.ClientStore (its default client).

    Raises:
        ValueError: the address is malformed; ConnectionError: nothing that answers as Qdrant within ``timeout`` s.
        RuntimeError: another client holds the local-mode folder (one client at a time, even within one process).
    """
    if url:
        return server_client(url, api_key=api_key, timeout=timeout)
    if os.environ.get("QDRANT_URL"):
        return server_client(os.environ["QDRANT_URL"], api_key=api_key, timeout=timeout, name="QDRANT_URL")
    return local_client(location)


def server_client(url: str, *, api_key: str | None = None, timeout: float = 5.0, name: str = "url") -> QdrantClient:
    """A client of the Qdrant server at ``url`` (``api_key`` or ``$QDRANT_API_KEY``), checked to answer as Qdrant.

    Not called by the notebooks; used by qdrant.get_client and qdrant.open_store (QDRANT_URL).

    The address is parsed first (a bad port or bracket is named with the variable it came from, ``name``), then
    the server must answer an HTTP request within ``timeout`` seconds with Qdrant's greeting: a port where
    nothing listens, a listener that never answers and a web server that is not Qdrant each get one message
    that says what to do, instead of a client traceback.
    """
    timeout = check_number(timeout, "timeout", above=0.0)
    fix = ("Set it to a Qdrant server's address such as http://localhost:6333"
           + (", or unset QDRANT_URL to use the embedded engine (Qdrant Edge)." if name == "QDRANT_URL" else "."))
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"{name}={url!r} is empty. {fix}")
    full = url.strip() if "://" in url else f"http://{url.strip()}"
    try:
        parsed = urlparse(full)
        port = parsed.port or (443 if parsed.scheme == "https" else 6333)
    except ValueError as exc:
        raise ValueError(f"{name}={url!r} is not a valid address ({exc}). {fix}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name}={url!r} is not an http(s) address with a host. {fix}")
    api_key = api_key or os.environ.get("QDRANT_API_KEY")
    try:
        socket.create_connection((parsed.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(
            f"{name}={url!r} is unreachable: nothing answers at {parsed.hostname}:{port} ({exc.__class__.__name__}: "
            f"{exc}) within {timeout:g} s. Start the server, or fix {name}"
            + (", or unset QDRANT_URL to use the embedded engine (Qdrant Edge)." if name == "QDRANT_URL" else ".")
        ) from None
    _greeting(full, api_key, timeout, f"{name}={url!r}", fix)
    return QdrantClient(url=full, api_key=api_key, timeout=int(math.ceil(timeout)))


def _greeting(url: str, api_key: str | None, timeout: float, where: str, fix: str) -> None:
    """Ask the server's root for Qdrant's greeting (``{"title": "qdrant - vector search engine", ...}``)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url.rstrip("/") + "/", headers={"api-key": api_key} if api_key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read(4096)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise ConnectionError(f"{where} refused the request (HTTP {exc.code}): the API key is missing or wrong; set "
                                  f"QDRANT_API_KEY to the server's key.") from None
        raise ConnectionError(f"{where} answered HTTP {exc.code} {exc.reason}, not as Qdrant does: it is another kind of "
                              f"server. {fix}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in str(reason):
            raise ConnectionError(f"{where} accepted a connection but sent no answer within {timeout:g} s: it is not a "
                                  f"Qdrant server (or it is stuck). {fix}") from None
        raise ConnectionError(f"{where} could not be asked ({reason}). {fix}") from None
    try:
        greeting = json.loads(body)
        ok = isinstance(greeting, dict) and "qdrant" in str(greeting.get("title", "")).lower()
    except ValueError:
        ok = False
    if not ok:
        shown = body[:60].decode("utf-8", "replace").strip()
        raise ConnectionError(f"{where} answered, but not as Qdrant does ({shown!r}...): it is another kind of server. "
                              f"{fix}")


def local_client(location: str | os.PathLike | None = None) -> QdrantClient:
    """qdrant-client's pure-Python local mode, in memory (``None``) or in a folder (one client at a time per folder).

    Introduced in notebook 05 (section 1, "The reference article's two functions, and what they get wrong").
    """
    if location is None or str(location) == ":memory:":
        return QdrantClient(location=":memory:")
    check_not_in_model(location, "path")
    try:
        return QdrantClient(path=str(Path(location).expanduser()))
    except RuntimeError as exc:
        if "already accessed" not in str(exc):
            raise
        raise RuntimeError(
            f"The Qdrant folder {str(location)!r} is locked by another client (in this kernel, another notebook, "
            f"a script or another kernel). Local mode lets one client hold a folder at a time, even within one "
            f"process: close the other client (client.close()) or restart its kernel, use a different folder, or run "
            f"a Qdrant server (set QDRANT_URL) for concurrent access."
        ) from None


class ClientStore(QdrantStore):
    """A collection behind a qdrant-client (a server, a cluster, or local mode).

    Not called by the notebooks; used by qdrant.open_store (a Qdrant server, or qdrant-client's local mode).

    Args:
        client: from :func:`get_client` (default: ``$QDRANT_URL``, else local mode in memory).
        collection: the collection's name.
        splade, dense, bm25_k1, bm25_b: see :class:`~.store.QdrantStore`.
    """

    engine = "client"

    def __init__(self, client: QdrantClient | None = None, collection: str = "course", *, splade=None, dense=None,
                 bm25_k1: float = 1.5, bm25_b: float = 0.75) -> None:
        super().__init__(collection, splade=splade, dense=dense, bm25_k1=bm25_k1, bm25_b=bm25_b)
        if client is not None and not isinstance(client, QdrantClient):
            raise TypeError(f"client must be a QdrantClient (from get_client()), got {type(client).__name__}.")
        self.client = client if client is not None else get_client()
        self._info = None
        if self._exists():
            self._refresh_ids()

    @property
    def is_local_mode(self) -> bool:
        """True for qdrant-client's pure-Python local mode (no server)."""
        return type(self.client._client).__name__ == "QdrantLocal"

    def __repr__(self) -> str:
        where = "qdrant-client local mode" if self.is_local_mode else "a Qdrant server"
        return f"ClientStore({self.collection!r} on {where}, {len(self.doc_ids):,} documents)"

    def _exists(self) -> bool:
        return self.client.collection_exists(self.collection)

    def _same_collection(self, other) -> bool:
        if not isinstance(other, ClientStore) or other.collection != self.collection:
            return False
        if other.client is self.client:
            return True
        address = [getattr(c._client, "rest_uri", None) for c in (self.client, other.client)]
        return address[0] is not None and address[0] == address[1]

    def _collection(self):
        if self._info is None:
            self._info = self.client.get_collection(self.collection)
        return self._info

    def _stored_layout(self) -> dict | None:
        return dict(self._collection().config.metadata or {}) if self._exists() else None

    def _create(self, layout: Layout) -> None:
        self.client.create_collection(
            self.collection,
            vectors_config={DENSE_VECTOR: models.VectorParams(size=layout.dense_dim, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPLADE_VECTOR: models.SparseVectorParams(),
                                   BM25_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            metadata=layout.metadata(),
        )
        self._info = None

    def _drop(self) -> None:
        self.client.delete_collection(self.collection)
        self._info = None

    def _check_engine_schema(self, layout: Layout) -> list[str]:
        params = self._collection().config.params
        dense = params.vectors if isinstance(params.vectors, dict) else {"": params.vectors}
        sparse = params.sparse_vectors or {}
        out = []
        if set(dense) != {DENSE_VECTOR} or set(sparse) != {SPLADE_VECTOR, BM25_VECTOR}:
            out.append(f"its vectors are {sorted(dense)} + sparse {sorted(sparse)}, not ['dense'] + sparse ['bm25', 'splade']")
            return out
        if dense[DENSE_VECTOR].size != layout.dense_dim:
            out.append(f"its dense vectors have {dense[DENSE_VECTOR].size} dimensions, the dense model makes {layout.dense_dim}")
        if dense[DENSE_VECTOR].distance != models.Distance.COSINE:
            out.append(f"its dense distance is {dense[DENSE_VECTOR].distance}, not Cosine")
        if sparse[BM25_VECTOR].modifier != models.Modifier.IDF:
            out.append("its 'bm25' vector lacks the IDF modifier (BM25 scores would be wrong)")
        if sparse[SPLADE_VECTOR].modifier not in (None, models.Modifier.NONE):
            out.append("its 'splade' vector has a modifier (SPLADE scores are plain dot products)")
        return out

    def _upsert(self, points: list[StoredPoint]) -> None:
        structs = [models.PointStruct(id=p.id, vector={n: _vector(v) for n, v in p.vectors.items()}, payload=p.payload)
                   for p in points]
        self.client.upsert(self.collection, points=structs, wait=True)

    def _delete(self, point_ids: list[str]) -> None:
        self.client.delete(self.collection, points_selector=models.PointIdsList(points=point_ids), wait=True)

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count if self._exists() else 0

    def close(self) -> None:
        self.client.close()

    def _page(self, offset, limit: int, payload, with_vectors: bool) -> tuple[list[StoredPoint], object]:
        records, offset = self.client.scroll(self.collection, limit=limit, offset=offset, with_payload=payload,
                                             with_vectors=with_vectors)
        return [record_point(r) for r in records], offset

    def _retrieve(self, point_ids: list[str]) -> list[StoredPoint]:
        return [record_point(r) for r in self.client.retrieve(self.collection, point_ids, with_payload=True, with_vectors=True)]

    def schema(self) -> dict[str, dict]:
        params = self._collection().config.params
        dense = params.vectors if isinstance(params.vectors, dict) else {"": params.vectors}
        out = {n: {"size": v.size, "distance": v.distance.value} for n, v in dense.items()}
        out.update({n: {"modifier": (v.modifier.value if v.modifier not in (None, models.Modifier.NONE) else None)}
                    for n, v in (params.sparse_vectors or {}).items()})
        return out

    def _run(self, requests: list[Nearest | Fused], with_payload: bool) -> list[list[tuple[str, float, dict | None]]]:
        payload = ["doc_id"] if with_payload else False
        built = [_request(r, payload) for r in requests]
        answers = self.client.query_batch_points(self.collection, requests=built)
        return [[(str(p.id), p.score, p.payload) for p in a.points] for a in answers]


def _vector(v: list[float] | SparseVec):
    return models.SparseVector(indices=v.indices, values=v.values) if isinstance(v, SparseVec) else v


def _filter(conditions) -> models.Filter | None:
    if not conditions:
        return None
    must = []
    for c in conditions:
        if isinstance(c, Match):
            must.append(models.FieldCondition(key=c.key, match=models.MatchValue(value=c.value)))
        elif isinstance(c, MatchText):
            must.append(models.FieldCondition(key=c.key, match=models.MatchText(text=c.text)))
        elif isinstance(c, Range):
            must.append(models.FieldCondition(key=c.key, range=models.Range(gte=c.gte, lte=c.lte)))
    return models.Filter(must=must)


def _request(r: Nearest | Fused, payload) -> models.QueryRequest:
    if isinstance(r, Nearest):
        return models.QueryRequest(query=_vector(r.vector), using=r.using, limit=r.limit, filter=_filter(r.filter),
                                   with_payload=payload, with_vector=False)
    prefetch = [models.Prefetch(query=_vector(p.vector), using=p.using, limit=p.limit, filter=_filter(p.filter))
                for p in r.prefetch]
    if r.fusion == "rrf":
        query = models.RrfQuery(rrf=models.Rrf(k=qdrant_rrf_k(r.rrf_k), weights=list(r.weights) if r.weights else None))
    elif r.fusion == "dbsf":
        query = models.FusionQuery(fusion=models.Fusion.DBSF)
    else:
        query = models.FormulaQuery(
            formula=models.SumExpression(sum=[
                models.MultExpression(mult=[r.alpha, "$score[0]"]),
                models.MultExpression(mult=[1.0 - r.alpha, models.DivExpression(div=models.DivParams(
                    left="$score[1]", right=models.SumExpression(sum=[r.q_sum, "splade_sum"]), by_zero_default=0.0))]),
            ]),
            defaults={"$score[0]": 0.0, "$score[1]": 0.0},
        )
    return models.QueryRequest(prefetch=prefetch, query=query, limit=r.limit, with_payload=payload, with_vector=False)
