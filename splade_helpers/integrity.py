"""Is a folder what it claims to be: manifests for the folders we write, structural checks for model folders.

A folder the package writes (a trained model) ends with a **manifest**: every file with its size and SHA-256,
written last, so a folder without one was never finished. Every load verifies it (:func:`verify_manifest`) and
refuses a damaged folder, naming the file; the manifest also says which files are ours, so that replacing the
folder never deletes anything else (:func:`unlisted`). Model folders the package did not write get
:func:`check_model_files`: readable ``config.json``, complete weights, a tokenizer, each refused with the file
named instead of a raw ``SafetensorError``, ``OSError`` or a five-token tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

MANIFEST_FILE = "splade_helpers_manifest.json"
RECORD_FILE = "splade_helpers_training.json"  # a trained folder's key, settings, history and what it was trained on
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model")
_HASHED: dict[tuple, str] = {}  # (path, inode, size, mtime) -> SHA-256: each file is hashed once per process


class DamagedFolderError(ValueError):
    """A folder whose files are not what they should be (truncated, missing, changed or unreadable)."""


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file (memoised per process by path, inode, size, modification and change times).

    The change time (ctime) is the kernel's: a rewrite that restores the old modification time still moves it.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if key not in _HASHED:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASHED[key] = h.hexdigest()
    return _HASHED[key]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)


def write_manifest(folder: Path, about: dict | None = None) -> None:
    """List every file of ``folder`` (size, SHA-256) in its manifest; call it last, when the folder is complete."""
    files = {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in _files(folder)}
    record = {"made_by": "splade_helpers", "manifest": 1, **(about or {}), "files": files}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, folder / MANIFEST_FILE)


def read_manifest(folder: Path) -> dict | None:
    """The manifest of ``folder``; ``None`` when it has none. A manifest that cannot be read is damage."""
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record.get("files"), dict):
            raise ValueError("no file list")
    except (OSError, ValueError, AttributeError) as exc:
        raise DamagedFolderError(f"{str(path)!r} cannot be read ({exc}); the folder is damaged. Train or copy the "
                                 f"model again.") from None
    return record


def verify_manifest(folder: Path) -> dict | None:
    """Check every file the manifest lists (present, same size, same SHA-256); ``None`` when there is no manifest.

    Raises:
        DamagedFolderError: naming the first file that is missing, truncated or changed.
    """
    folder = Path(folder)
    record = read_manifest(folder)
    if record is None:
        return None
    fix = "The folder is damaged (an interrupted copy, a full disk, an edit): train or copy the model again."
    for rel, meta in sorted(record["files"].items()):
        path = folder / rel
        problem = _mismatch(path, meta)
        if problem == "missing":
            raise DamagedFolderError(f"{str(path)!r} is missing: the manifest of {str(folder)!r} lists it. {fix}")
        if problem == "size":
            raise DamagedFolderError(f"{str(path)!r} has {path.stat().st_size:,} bytes where the manifest of "
                                     f"{str(folder)!r} lists {meta.get('size'):,}. {fix}")
        if problem == "sha256":
            raise DamagedFolderError(f"{str(path)!r} differs from the file the manifest of {str(folder)!r} lists "
                                     f"(SHA-256). {fix}")
    return record


def _changed(path: Path, listed: object) -> bool:
    """Whether a listed file no longer matches its manifest entry (an unreadable file or entry counts as changed)."""
    try:
        return not isinstance(listed, dict) or bool(_mismatch(path, listed))
    except OSError:
        return True


def _mismatch(path: Path, listed: dict) -> str:
    """How a file differs from its manifest entry: ``"missing"``, ``"size"``, ``"sha256"``, or ``""`` when it does not."""
    if not path.is_file():
        return "missing"
    if path.stat().st_size != listed.get("size"):
        return "size"
    return "sha256" if sha256_file(path) != listed.get("sha256") else ""


def unlisted(folder: Path) -> list[str]:
    """Entries of ``folder`` that are not ours as the package wrote them (all of them when there is no manifest).

    Not ours: an entry the manifest does not list, a link, and a listed file whose size or SHA-256 changed since
    (someone edited it: shown as ``"<name> (changed since it was written)"``).
    """
    folder = Path(folder)
    try:
        record = read_manifest(folder)
    except DamagedFolderError:
        record = None
    files = (record or {}).get("files", {})
    parents = {p for f in files for p in Path(f).parents if str(p) != "."}
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel == MANIFEST_FILE and record is not None:
            continue
        if p.is_symlink() or (p.is_file() and rel not in files) or (p.is_dir() and Path(rel) not in parents):
            out.append(rel)
        elif p.is_file() and _changed(p, files[rel]):
            out.append(f"{rel} (changed since it was written)")
    return [r for r in out if not any(r.startswith(o + "/") for o in out)]  # a foreign folder, not each file in it


def _safetensors_problem(path: Path) -> str:
    """Why a ``.safetensors`` file is incomplete, or ``""``: its header promises a size the file must have."""
    size = path.stat().st_size
    if size == 0:
        return "is empty"
    try:
        with path.open("rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                return f"is truncated ({size:,} bytes; its header alone is {n:,})"
            header = json.loads(f.read(n))
    except (OSError, struct.error, ValueError, UnicodeDecodeError):
        return f"is not a safetensors file ({size:,} bytes)"
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + n + end != size:
        return f"is truncated or damaged ({size:,} bytes where its header promises {8 + n + end:,})"
    return ""


def check_model_files(folder: Path, name: str) -> None:
    """Refuse a model folder whose files cannot make a model, naming the file (``name``: how the user named it).

    Checked: a manifest, if there is one (:func:`verify_manifest`); otherwise ``config.json`` is a JSON object,
    weights exist (``model.safetensors`` or ``pytorch_model.bin``) and a safetensors file is complete, and a
    tokenizer file exists.
    """
    folder = Path(folder)
    if verify_manifest(folder) is not None:
        return
    config = folder / "config.json"
    try:
        if not isinstance(json.loads(config.read_text(encoding="utf-8")), dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DamagedFolderError(f"model {name!r}: {str(config)!r} cannot be read ({exc}); restore the file from "
                                 f"the model's source, or point at another model folder.") from None
    weights = [folder / w for w in WEIGHT_FILES if (folder / w).is_file()]
    if not weights:
        raise DamagedFolderError(f"model {name!r}: {str(folder)!r} has config.json but no weights ({WEIGHT_FILES[0]} "
                                 f"or {WEIGHT_FILES[1]}); copy the whole model folder.")
    for w in weights:
        problem = _safetensors_problem(w) if w.suffix == ".safetensors" else ("is empty" if not w.stat().st_size else "")
        if problem:
            raise DamagedFolderError(f"model {name!r}: {str(w)!r} {problem}; the copy is damaged. Copy or download "
                                     f"the model again.")
    if not any((folder / t).is_file() for t in TOKENIZER_FILES):
        raise DamagedFolderError(f"model {name!r}: {str(folder)!r} has no tokenizer ({TOKENIZER_FILES[0]} or "
                                 f"{TOKENIZER_FILES[1]}); copy the whole model folder, tokenizer files included.")
