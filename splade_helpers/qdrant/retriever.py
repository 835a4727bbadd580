"""A named vector of a Qdrant store behind the course's Retriever interface (storage imports retrievers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..retrievers import Retriever
from ..validation import check_choice, check_texts
from .schema import VECTOR_NAMES
from .store import QdrantStore


class QdrantRetriever(Retriever):
    """Scores from one named vector (``dense``, ``splade`` or ``bm25``) of a :class:`QdrantStore`.

    Retrievers sharing a store load it once. With ``reindex=False`` the store must already hold
    exactly the documents given to :meth:`index` (ids and texts): it is searched as it is.
    """

    def __init__(self, store: QdrantStore, using: str, reindex: bool = True) -> None:
        if not isinstance(store, QdrantStore):
            raise TypeError(f"store must be a QdrantStore (EdgeStore or ClientStore), got {type(store).__name__}.")
        super().__init__()
        self.store, self.reindex = store, reindex
        self.name = check_choice(using, "using", VECTOR_NAMES)

    def _index(self, doc_ids: list[str], texts: list[str]) -> None:
        if self.store.holds(doc_ids, texts):
            return
        if not self.reindex:
            raise ValueError(
                f"collection {self.store.collection!r} holds {len(self.store.doc_ids):,} documents that are not the "
                f"{len(doc_ids):,} given (ids or texts differ); call store.index(doc_ids, texts) first, or evaluate "
                f"with backend='qdrant' for a new collection.")
        self.store.index(doc_ids, texts)

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        self._check_indexed()
        return self.store.score_matrix(self.name, check_texts(queries, "queries"), self.doc_ids)


def qdrant_retrievers(store: QdrantStore, reindex: bool = True) -> dict[str, QdrantRetriever]:
    """One retriever per named vector of ``store`` (``bm25``, ``splade``, ``dense``)."""
    return {n: QdrantRetriever(store, n, reindex=reindex) for n in ("bm25", "splade", "dense")}
