"""A small on-disk cache for encodings, safe against partial or corrupted files.

Each entry is one ``.npz`` file named by a hash of its key (model identity, settings, texts).
It stores the arrays, the key and a SHA-256 digest of both; a file that cannot be read, whose digest
or shapes do not match, that holds another key (a file copied or renamed) or non-finite numbers, is
reported, deleted and recomputed, never returned; an entry written without its key is recomputed. Files are
written to a temporary name and renamed, so an interrupted run leaves no half-written entry.

The folder is ``$SPLADE_CACHE_DIR`` if set, else ``.cache/splade_helpers`` in the project
checkout (git-ignored), else ``~/.cache/splade_helpers``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """The cache folder (created on first use).

    Not called by the notebooks; used by the encoding cache and training.train (where trained models are kept).
    """
    env = os.environ.get("SPLADE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    project = Path(__file__).resolve().parents[1]
    if (project / "pyproject.toml").is_file():
        return project / ".cache" / "splade_helpers"
    return Path.home() / ".cache" / "splade_helpers"


MIN_CACHED_BATCH = 16  # smaller batches (a typed query) are cheaper to encode than to look up


def digest(*parts: object, texts: Iterable[str] = (), size: int = 32) -> str:
    """A stable hex digest of JSON-able ``parts`` and a sequence of texts: the one key of every cache.

    Each piece is written with its length in front, so no choice of texts can make two different
    requests collide (``["a\\x00b", "c"]`` and ``["a", "b\\x00c"]`` get different digests).
    """
    h = hashlib.sha256()

    def piece(data: bytes) -> None:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    piece(json.dumps(parts, sort_keys=True, default=str).encode())
    for t in texts:
        piece(t.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:size]


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def load_arrays(path: Path, key: str | None = None) -> dict[str, np.ndarray] | None:
    """Read a cache file; ``None`` when it is missing (or, given ``key``, stored without one).

    Raises ``ValueError`` when it is damaged, holds non-finite numbers, or was stored for another ``key``.
    """
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:  # noqa: BLE001 - any read failure means a damaged file
        raise ValueError(f"cache file {path} cannot be read ({type(exc).__name__}: {exc})") from exc
    stored = arrays.pop("__digest__", None)
    if stored is None or str(stored) != _digest(arrays):
        raise ValueError(f"cache file {path} fails its checksum (partial or corrupted write)")
    stored_key = arrays.pop("__key__", None)
    if key is not None and stored_key is None:
        return None  # written without its key: it cannot be verified as the one asked for
    if key is not None and str(stored_key) != key:
        raise ValueError(f"cache file {path} holds the entry for key {str(stored_key)!r}, not {key!r} (copied or renamed)")
    if bad := _non_finite(arrays):
        raise ValueError(f"cache file {path} holds NaN or infinity in {bad!r}")
    return arrays


def _non_finite(arrays: dict[str, np.ndarray]) -> str | None:
    """The name of the first float array that holds NaN or infinity, if any."""
    return next((n for n, a in arrays.items() if a.dtype.kind in "fc" and not np.isfinite(a).all()), None)


def save_arrays(path: Path, arrays: dict[str, np.ndarray], key: str | None = None) -> None:
    """Write arrays atomically (temporary file, then rename) with ``key`` and their digest.

    Raises ``ValueError`` (writing nothing) when an array holds NaN or infinity: nothing wrong is cached.
    """
    if bad := _non_finite(arrays):
        raise ValueError(f"not caching {path}: {bad!r} holds NaN or infinity")
    stored = {**arrays, **({"__key__": np.array(key)} if key is not None else {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, __digest__=np.array(_digest(stored)), **stored)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_arrays(
    namespace: str,
    key: str,
    compute: Callable[[], dict[str, np.ndarray]],
    validate: Callable[[dict[str, np.ndarray]], bool] = lambda a: True,
    enabled: bool = True,
) -> dict[str, np.ndarray]:
    """Return the cached arrays for ``key``, computing and storing them when absent or damaged.

    Args:
        namespace: a sub-folder, e.g. ``"splade"`` or ``"dense"``.
        key: from :func:`digest`.
        compute: builds the arrays when the cache cannot serve them.
        validate: an extra check of a loaded entry (e.g. the expected number of rows).
        enabled: ``False`` skips the cache entirely.
    """
    if not enabled:
        return compute()
    path = cache_dir() / namespace / f"{key}.npz"
    try:
        arrays = load_arrays(path, key) if not path.parent.is_file() else None
        if arrays is not None and not validate(arrays):
            raise ValueError(f"cache file {path} does not match the request (wrong shape)")
    except ValueError as exc:
        warnings.warn(f"{exc}; recomputing it.", RuntimeWarning, stacklevel=2)
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only cache: the damaged file stays, and is never returned
        arrays = None
    if arrays is None:
        arrays = compute()
        try:
            save_arrays(path, arrays, key)
        except ValueError as exc:  # NaN or infinity: returned to the caller (whose checks name it), never cached
            warnings.warn(str(exc), RuntimeWarning, stacklevel=2)
        except OSError as exc:  # disk full, read-only folder, a file where a folder should be: keep the result
            _warn_once(str(path.parent), f"cannot write the encoding cache in {path.parent} ({type(exc).__name__}: "
                       f"{exc}); results are computed but not cached. Free space, fix the folder's permissions, or set "
                       f"SPLADE_CACHE_DIR to a writable folder.")
    return arrays


_WARNED: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
