"""Moving a collection to another store (e.g. from Qdrant Edge to a server): the stored points as they are.

:class:`StoreTransfer` is a part of :class:`~.store.QdrantStore`; it uses the store's engine primitives
(scrolling, the layout record, loading) and re-encodes nothing.
"""

from __future__ import annotations

from ..validation import check_choice
from .schema import IF_EXISTS, Layout, natural_key, point_bytes


class StoreTransfer:
    """``copy_to``, for :class:`~.store.QdrantStore` (it relies on the store's primitives)."""

    def copy_to(self, other: StoreTransfer, if_exists: str = "error", batch_size: int = 256) -> int:
        """Copy every point, vectors and payloads as stored, into ``other`` (e.g. from Qdrant Edge to a server).

        Nothing is re-encoded; ``other`` gets this collection's layout. Returns the points copied. Every point is
        read into memory first (fine for the course's collections; for millions of points, move a server's
        collection with Qdrant's snapshots instead).
        """
        if not isinstance(other, StoreTransfer):  # every QdrantStore is one
            raise TypeError(f"other must be a QdrantStore, got {type(other).__name__}.")
        if other is self or self._same_collection(other):
            raise ValueError(f"copy_to would copy collection {self.collection!r} onto itself (recreating it would empty "
                             f"it first); give another store or collection name.")
        stored = self._stored_layout()
        if not stored:
            raise ValueError(f"collection {self.collection!r} has no layout record to copy; it is empty or not ours.")
        layout = Layout.from_metadata(stored)
        if_exists = check_choice(if_exists, "if_exists", IF_EXISTS)
        points = self._scroll_points()
        replace = True
        if other._exists():
            if if_exists == "error":
                raise ValueError(f"collection {other.collection!r} already exists; pass if_exists='recreate' or 'reuse'.")
            if if_exists == "reuse":
                if layout.differences(other._stored_layout()) or other._check_engine_schema(layout):
                    raise ValueError(f"collection {other.collection!r} has another layout; use if_exists='recreate'.")
                other._refresh_ids()
                foreign = sorted(set(other.doc_ids) - set(self.doc_ids), key=natural_key)
                if foreign:
                    raise ValueError(f"collection {other.collection!r} holds {len(foreign):,} documents that are not in "
                                     f"{self.collection!r} (e.g. {foreign[:3]}); copying would mix two collections (and "
                                     f"BM25's IDF with them). Use if_exists='recreate', or another collection name.")
                replace = False
            else:
                other._check_replaceable()
        other._check_room(len(points), sum(point_bytes(p) for p in points))
        return other._load(points, layout, replace, self.doc_ids, batch_size=batch_size)

    def _same_collection(self, other: StoreTransfer) -> bool:
        return False  # engines that can tell say whether ``other`` is this very collection
