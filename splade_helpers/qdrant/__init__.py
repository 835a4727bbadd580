"""Qdrant storage: named dense + sparse vectors, batched upserts, server-side hybrid queries.

The embedded default is **Qdrant Edge** (Qdrant's Rust engine in this process, a folder per
collection); ``QDRANT_URL`` moves the same layout and queries to a server or cluster through
qdrant-client. Modules: :mod:`.schema` (layout, point ids, validation), :mod:`.store` (the
engine-independent interface), :mod:`.edge` and :mod:`.client` (the engines), :mod:`.factory`
(choosing one), :mod:`.retriever` (a store behind the Retriever interface), ``__main__`` (the
load command).
"""

from qdrant_client import models  # the client's object model, for lessons that use its API directly

from .client import ClientStore, get_client, local_client, server_client
from .edge import EdgeStore, FolderLockedError
from .factory import ENGINES, default_engine, open_store
from .retriever import QdrantHybrid, QdrantRetriever, qdrant_retrievers
from .schema import (
    BM25_VECTOR,
    DENSE_VECTOR,
    POINT_NAMESPACE,
    SPLADE_VECTOR,
    VECTOR_NAMES,
    Layout,
    SparseVec,
    StoredPoint,
    check_dense,
    check_sparse,
    iter_points,
    plain,
    point_id,
)
from .search import Fused, Match, MatchText, Nearest, Range
from .store import QdrantStore

__all__ = [
    "models", "ClientStore", "get_client", "local_client", "server_client", "EdgeStore", "FolderLockedError", "ENGINES",
    "default_engine", "open_store", "QdrantHybrid", "QdrantRetriever", "qdrant_retrievers", "BM25_VECTOR", "DENSE_VECTOR",
    "POINT_NAMESPACE", "SPLADE_VECTOR", "VECTOR_NAMES", "Layout", "SparseVec", "StoredPoint", "check_dense",
    "check_sparse", "iter_points", "plain", "point_id", "Fused", "Match", "MatchText", "Nearest", "QdrantStore",
    "Range",
]
