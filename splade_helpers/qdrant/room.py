"""How much disk a Qdrant Edge write needs, checked before the engine writes anything.

On a full file system the engine does not fail politely: it writes through memory-mapped files and the
process dies with "Fatal Python error: Bus error" (in a notebook, the kernel dies), when it creates a
collection, when it re-opens one (the write-ahead log prepares a segment) and when it loads points. So every
such step first compares an estimate with the free space (:func:`splade_helpers.folders.free_bytes`) and
refuses with the folder and both numbers. The estimate is deliberately generous:

* the write-ahead log: two segments of 32 MiB (Qdrant's ``wal_capacity_mb``; measured: re-opening a folder
  on a tmpfs with 16 MiB free crashed, with 33 MiB it worked), plus a copy of every point written;
* a segment's files before any point: 4 MiB (measured: 1.3 MiB on tmpfs);
* the points twice (their storage and the engine's index structures): 4 bytes per dense dimension, 8 per
  sparse non-zero (id and weight), and the payload as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..folders import check_free_space
from .schema import StoredPoint, point_bytes

MIB = 2**20
WAL_SEGMENT = 32 * MIB
BASE = 4 * MIB


def room_needed(data: int, wal: bool) -> int:
    """Free bytes to require before loading points of ``data`` bytes (:func:`~.schema.load_bytes`) into a new
    collection, with or without a write-ahead log."""
    return BASE + 2 * data + ((2 * WAL_SEGMENT + data) if wal else 0)


def open_needs(folder: Path | None, wal: bool = True) -> int:
    """Free bytes to require before opening ``folder`` (``None``: before creating a collection with ``wal``)."""
    has_wal = wal if folder is None else (Path(folder) / "wal").is_dir()
    return BASE + (2 * WAL_SEGMENT if has_wal else 0)


def batch_needs(folder: Path, points: Sequence[StoredPoint]) -> int:
    """Free bytes to require before one batch of an upsert (a new log segment may start in it)."""
    return BASE + 2 * sum(point_bytes(p) for p in points) + (WAL_SEGMENT if (Path(folder) / "wal").is_dir() else 0)


def optimize_needs(folder: Path) -> int:
    """Free bytes to require before ``optimize()``: it rewrites the segments (twice their size, to be safe)."""
    used = sum(f.stat().st_blocks * 512 for f in Path(folder).rglob("*") if f.is_file())
    return BASE + 2 * used


def check_room(folder: Path, needed: int, what: str) -> None:
    """Refuse ``what`` when the file system of ``folder`` has less than ``needed`` bytes free."""
    check_free_space(folder, needed, what)
