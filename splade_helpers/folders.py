"""Where the package writes what a user names: one policy for every output folder and file.

Used by the train command and :func:`~splade_helpers.training.train` (``out``), ``evaluation --json``, and the
Qdrant Edge store's root and collection folders (and so the load command's ``--path`` / ``--collection``):

* never delete or overwrite what the package did not write: a folder is replaced only when every entry in it
  is ours (listed in our manifest, or one of the engine's own files), a file only when it carries our mark;
* never through a symbolic link, and never ``.``, the home folder or a folder that holds the working directory;
* new content is written beside the target and swapped in atomically, so a failure or a crash leaves the old
  output whole and never half a new one; a build left behind by a process that was killed (``kill -9``, a kernel
  restart) is deleted by the next build of the same target on the same host (:func:`build_folder`, by a lock
  the kernel drops when the process dies);
* all of it checked before any long work, with a message that names the path, says why, and what to do.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .validation import _shown

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None

Owned = Callable[[Path], list[str]]  # a folder -> the entries in it the package did not write ([] = all ours)
BUILD_TAG, HOLD_TAG = ".new-", ".old-"  # hidden folders beside a target: its replacement being built, its old content


def _path(path: object, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise TypeError(f"{name}={_shown(path)} must be a path (str).")
    if "\x00" in os.fspath(path):
        raise ValueError(f"{name}={_shown(path)} contains a NUL character; give a plain path.")
    return Path(os.path.abspath(Path(path).expanduser()))


def check_path_component(value: object, name: str, what: str = "a name") -> str:
    """``value`` as one path component (a collection or folder name): never ``.``, ``..``, a path or empty.

    Refused: non-strings, the empty string, surrounding spaces, ``"."`` and ``".."``, ``/`` or ``\\`` (a path,
    not a name), NUL and other control characters, names over 255 bytes (the file-system limit), and the hidden
    names of the package's own builds (``.NAME.new-...``, ``.NAME.old-...``).
    """
    if not isinstance(value, str):
        raise TypeError(f"{name}={_shown(value)} must be {what} (a str), got {type(value).__name__}.")
    problem = ""
    if not value.strip():
        problem = "is empty"
    elif value != value.strip():
        problem = "has spaces at its start or end"
    elif value in (".", ".."):
        problem = f"is {value!r}, which names a folder itself, not a new entry in it"
    elif "/" in value or "\\" in value:
        problem = "contains a slash: it is a path, not one name"
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        problem = "contains a control character (such as NUL)"
    elif len(value.encode("utf-8", "surrogatepass")) > 255:
        problem = "is longer than 255 bytes"
    elif value.startswith(".") and (BUILD_TAG in value or HOLD_TAG in value):
        problem = "is reserved: the package builds and swaps folders under hidden names like '.NAME.new-...'"
    if problem:
        raise ValueError(f"{name}={_shown(value)} {problem}; use {what} made of letters, digits, '-', '_' or '.', "
                         f"e.g. 'course'.")
    return value


def existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (where a new folder would be created)."""
    for p in (path, *path.parents):
        if p.exists():
            return p
    return Path(path.anchor or ".")


def _refuse_special(p: Path, name: str, what: str) -> None:
    """Symbolic links, ``.``, home and the working directory's ancestors are never outputs."""
    if p.is_symlink():
        raise ValueError(f"{name}={str(p)!r} is a symbolic link (to {os.readlink(p)!r}); the package never writes or "
                         f"replaces {what} through a link. Give the real path, or a new name.")
    real, cwd = p.resolve(), Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise ValueError(f"{name}={str(p)!r} is the working directory or a folder that holds it; replacing it would "
                         f"delete your files. Give a new sub-folder, e.g. {str(p / 'model')!r}.")
    if real == Path.home().resolve():
        raise ValueError(f"{name}={str(p)!r} is your home folder; give a new sub-folder of it.")


def model_folder_holding(path: Path) -> Path | None:
    """The model folder ``path`` is, or lies inside, if any: writing there changes the model (its files, their hash).

    A model folder holds our manifest, or ``config.json`` beside weights, or a sentence-transformers
    ``modules.json`` beside its ``config_sentence_transformers.json``.
    """
    for p in (path, *path.parents):
        if ((p / "splade_helpers_manifest.json").is_file()
                or ((p / "config.json").is_file() and any((p / w).is_file() for w in ("model.safetensors", "pytorch_model.bin")))
                or ((p / "modules.json").is_file() and (p / "config_sentence_transformers.json").is_file())):
            return p
    return None


def check_not_in_model(path: object, name: str) -> None:
    """Refuse a place at or under a model folder (see :func:`model_folder_holding`)."""
    p = _path(path, name)
    model = model_folder_holding(p)
    if model is not None:
        where = "is" if model == p else f"lies inside {str(model)!r}, which is"
        raise ValueError(f"{name}={str(p)!r} {where} a model folder: anything written there would change the model "
                         f"(its files and the hash that identifies it). Give a folder of its own, e.g. 'qdrant-data'.")


def check_output_folder(path: object, name: str, owned: Owned | None,
                        fix: str = "Give a new or empty folder, or move those files out first.") -> Path:
    """An output folder we may create or replace now: checked before any long work.

    Args:
        name: how the user named it (``"--out"``, ``"out"``), for messages.
        owned: lists the entries of an existing folder that the package did not write; ``None`` when the whole
            folder is the package's own (its cache).
        fix: what to do when it holds files that are not ours.
    Returns:
        the absolute path.
    """
    p = _path(path, name)
    if p.exists() or p.is_symlink():
        _refuse_special(p, name, "a folder")
        if not p.is_dir():
            raise ValueError(f"{name}={str(p)!r} is a file, not a folder; give a folder for the output.")
        foreign = owned(p) if owned is not None else []
        if foreign:
            shown = ", ".join(repr(f) for f in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise ValueError(f"{name}={str(p)!r} holds files the package did not write, or that changed after it wrote "
                             f"them ({shown}); it never deletes or overwrites them. {fix}")
    _check_writable(check_creatable(p, name), p, name, "choose a writable folder.")
    return p


def check_creatable(path: Path, name: str) -> Path:
    """The nearest existing ancestor of ``path``'s parent; a ``ValueError`` naming ``name`` when it is a file."""
    base = existing_ancestor(Path(path).absolute().parent)
    if not base.is_dir():
        raise ValueError(f"{name}={str(path)!r}: {str(base)!r} is a file, so no folder can be made inside it.")
    return base


def swap(a: Path, b: Path) -> None:
    """Exchange two existing folders: ``b`` gets ``a``'s content and ``a`` the old content of ``b``.

    One atomic step on Linux (``renameat2(RENAME_EXCHANGE)``); elsewhere three renames, so that a crash leaves
    the old content under a hidden name beside ``b``, never lost.
    """
    if _exchange(a, b):
        return
    hold = Path(tempfile.mkdtemp(prefix=f".{b.name}{HOLD_TAG}", dir=b.parent))
    os.replace(b, hold / "content")
    os.replace(a, b)
    os.replace(hold / "content", a)
    hold.rmdir()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


STALE_AFTER_S = 60.0  # an unlocked build younger than this may be one whose process has not locked it yet


@contextmanager
def build_folder(target: Path) -> Iterator[Path]:
    """A new, empty hidden folder beside ``target`` to build its replacement in: ``.NAME.new-HOST-XXXXXXXX``.

    The folder stays locked (``flock``) while the block runs; the kernel drops the lock when the process ends, even
    killed (``kill -9``, a kernel restart), when its own clean-up cannot run. So, first, the builds of the same
    target left by this host that nobody holds and that are older than ``STALE_AFTER_S`` are deleted: unfinished,
    and ours by their exact name. A build in progress (in any process or container), another host's, a link and
    every other name are kept. (Where ``flock`` does not exist, nothing is locked or deleted.)
    """
    prefix = f".{target.name}{BUILD_TAG}{_host()}-"
    limit = _name_max(target.parent)
    if len(os.fsencode(prefix)) + 8 > limit:
        raise ValueError(f"{str(target)!r}: its name is too long to build its replacement beside it (the build folder "
                         f"{prefix + 'XXXXXXXX'!r} exceeds the file system's {limit} bytes); choose a shorter name.")
    if fcntl is not None:
        _sweep(target.parent, re.compile(re.escape(prefix) + "[a-z0-9_]{8}"))
    new = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    # held until this block ends or the process dies; None on a file system without locks, where a sweep cannot
    # lock either, so it deletes nothing
    fd = _try_lock(new) if fcntl is not None else None
    try:
        yield new
    finally:
        if fd is not None:
            os.close(fd)


def _host() -> str:
    """This host's name as one safe file-name part."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(existing_ancestor(folder), "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


def _try_lock(folder: Path) -> int | None:
    """An open descriptor of ``folder`` holding its exclusive ``flock``, or None if it cannot be opened or is held."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _sweep(folder: Path, build: re.Pattern) -> None:
    """Delete the builds in ``folder`` whose name matches ``build`` that no process holds and that are not new."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if not build.fullmatch(p.name) or p.is_symlink() or not p.is_dir():
            continue
        fd = _try_lock(p)  # None while the building process lives
        if fd is None:
            continue
        try:
            if time.time() - os.fstat(fd).st_mtime > STALE_AFTER_S:
                shutil.rmtree(p)
        except OSError as exc:
            warnings.warn(f"{str(p)!r} is a build left by a process that was killed; it could not be deleted "
                          f"({exc.strerror}). Delete it by hand.", stacklevel=3)
        finally:
            os.close(fd)


@contextmanager
def replace_folder(target: Path, name: str, owned: Owned | None) -> Iterator[Path]:
    """Build a folder beside ``target`` and swap it in when the block succeeds; on failure the old one stays.

    Yields the new folder (empty). ``target`` is checked again just before the swap (a file added meanwhile
    is not deleted), then exchanged atomically with the new folder; the old content, all ours, is deleted.
    """
    target = check_output_folder(target, name, owned)
    with ExitStack() as stack:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            new = stack.enter_context(build_folder(target))
        except OSError as exc:
            raise ValueError(f"{name}={str(target)!r} cannot be written ({exc.strerror}); choose a writable folder.") from None
        try:
            yield new
            target = check_output_folder(target, name, owned)
            if target.exists():
                swap(new, target)
                shutil.rmtree(new)  # now the old content, all ours
            else:
                os.replace(new, target)
        finally:
            shutil.rmtree(new, ignore_errors=True)


def free_bytes(path: Path) -> int:
    """Free space, in bytes, on the file system that holds ``path`` (or would hold it)."""
    return shutil.disk_usage(existing_ancestor(Path(path))).free


def check_free_space(path: Path, needed: int, what: str) -> None:
    """Refuse before writing when the file system of ``path`` has less than ``needed`` bytes free."""
    free = free_bytes(path)
    if free < needed:
        raise ValueError(f"not enough free space for {what} in {str(path)!r}: {_mb(free)} free, about {_mb(needed)} "
                         f"needed. Free some space or choose a folder on another disk.")


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def check_output_file(path: object, name: str, ours: Callable[[Path], bool]) -> Path:
    """A file we may write now (its folder exists and is writable); an existing file only if ``ours(file)``."""
    p = _path(path, name)
    if p.exists() or p.is_symlink():
        _refuse_special(p, name, "a file")
        if p.is_dir():
            raise ValueError(f"{name}={str(p)!r} is a folder; give a file name inside it, e.g. {str(p / 'results.json')!r}.")
        if not p.is_file():
            raise ValueError(f"{name}={str(p)!r} is not a regular file (a device or a pipe); give a file name.")
        if not ours(p):
            raise ValueError(f"{name}={str(p)!r} exists and was not written by the package; it never overwrites your "
                             f"files. Give a new file name, or delete that file first.")
    folder = p.parent
    if not folder.is_dir():
        raise ValueError(f"{name}={str(p)!r}: the folder {str(folder)!r} does not exist; create it first.")
    _check_writable(folder, p, name, "choose another location.")
    return p


def _check_writable(folder: Path, p: Path, name: str, fix: str) -> None:
    """A ``ValueError`` naming ``p`` when ``folder`` (where it would be written) is read-only or not ours to write."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}={str(p)!r} cannot be written (read-only or permission denied in {str(folder)!r}); {fix}")


def write_file(path: Path, text: str, name: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file beside it, then a rename); a clear error on failure."""
    fd, tmp = None, None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            fd = None
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        space = f" ({_mb(free_bytes(path.parent))} free there)" if full else ""
        raise ValueError(f"cannot write {name}={str(path)!r}: {exc.strerror}{space}. Nothing was written; free space, "
                         f"fix the folder's permissions, or choose another location.") from None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
