"""The output-folder policy (splade_helpers.folders) and folder integrity (splade_helpers.integrity), on real files."""

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from splade_helpers import folders
from splade_helpers.integrity import (
    MANIFEST_FILE,
    DamagedFolderError,
    check_model_files,
    unlisted,
    verify_manifest,
    write_manifest,
)
from splade_helpers.models import resolve_model


def _ours(folder: Path) -> Path:
    """A folder the package wrote: two files and a sub-folder, then its manifest."""
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_text("{}")
    (folder / "sub" / "b.bin").write_bytes(b"\x00" * 1000)
    write_manifest(folder)
    return folder


def test_an_output_folder_is_refused_for_every_reason_before_any_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ours = _ours(tmp_path / "ours")
    assert folders.check_output_folder(ours, "--out", unlisted) == ours  # every file listed: may be replaced
    assert folders.check_output_folder(tmp_path / "new" / "deeper", "--out", unlisted) == tmp_path / "new" / "deeper"
    (ours / "notes.txt").write_text("mine")
    (ours / "results").mkdir()
    with pytest.raises(ValueError, match=r"holds files the package did not write, or that changed after it wrote them \('notes.txt', 'results'\)"):
        folders.check_output_folder(ours, "--out", unlisted)
    (tmp_path / "link").symlink_to(ours)
    (tmp_path / "file").write_text("x")
    for path, message in (("link", "is a symbolic link"), (".", "is the working directory or a folder that holds it"),
                          ("..", "working directory or a folder that holds it"), ("file", "is a file, not a folder"),
                          (str(Path.home()), "working directory|home folder")):
        with pytest.raises(ValueError, match=message):
            folders.check_output_folder(path, "--out", unlisted)
    with pytest.raises(TypeError, match="--out=None must be a path"):
        folders.check_output_folder(None, "--out", unlisted)
    assert (ours / "notes.txt").read_text() == "mine"


def test_a_file_edited_after_the_package_wrote_it_is_the_user_s(tmp_path):
    ours = _ours(tmp_path / "ours")
    (ours / "a.json").write_text('{"my": "edit"}')  # listed in the manifest, but no longer what the package wrote
    (ours / "sub" / "b.bin").write_bytes(b"\x01" * 1000)  # same size, other content
    assert unlisted(ours) == ["a.json (changed since it was written)", "sub/b.bin (changed since it was written)"]
    with pytest.raises(ValueError, match=r"wrote them \('a.json \(changed since it was written\)'"):
        folders.check_output_folder(ours, "--out", unlisted)
    assert (ours / "a.json").read_text() == '{"my": "edit"}'


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    target = _ours(tmp_path / "model")
    with pytest.raises(RuntimeError, match="interrupted"), folders.replace_folder(target, "out", unlisted) as new:
        (new / "half.bin").write_bytes(b"1")
        raise RuntimeError("interrupted")
    assert sorted(p.name for p in target.iterdir()) == ["a.json", MANIFEST_FILE, "sub"]  # the old one, whole
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # nothing left beside it
    with folders.replace_folder(target, "out", unlisted) as new:
        (new / "c.json").write_text("[]")
        write_manifest(new)
    assert sorted(p.name for p in target.iterdir()) == ["c.json", MANIFEST_FILE]
    with pytest.raises(ValueError, match="did not write"), folders.replace_folder(target, "out", unlisted) as new:
        (target / "notes.txt").write_text("added while the new folder was being built")
    assert (target / "notes.txt").exists() and (target / "c.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def _aged(p: Path) -> Path:
    """Make ``p`` look older than STALE_AFTER_S (its last change two minutes ago)."""
    old = time.time() - folders.STALE_AFTER_S - 60
    os.utime(p, (old, old))
    return p


def test_a_build_left_by_a_killed_process_is_deleted_by_the_next_build_and_nothing_else(tmp_path):
    target = _ours(tmp_path / "model")
    script = "import os, sys; from pathlib import Path; from splade_helpers import folders\n" \
             "with folders.build_folder(Path(sys.argv[1])) as new:\n" \
             "    (new / 'half.bin').write_bytes(b'1'); print(new.name, flush=True); os._exit(9)"
    died = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    left = _aged(tmp_path / died.stdout.strip())  # a killed build: its clean-up never ran, its lock died with it
    prefix = f".model.new-{folders._host()}-"
    assert left.name.startswith(prefix) and (left / "half.bin").exists()
    young = tmp_path / f"{prefix}young123"  # unlocked but new: perhaps a build whose process has not locked it yet
    kept = [young, tmp_path / f"{prefix}x-abcdefgh", tmp_path / f"{prefix}mydata", tmp_path / f"{prefix}\u00b2bcdefgh",
            tmp_path / f".model.new-{folders._host()}x-abcdefgh", tmp_path / ".model.new-abcdefgh",
            tmp_path / f".other.new-{folders._host()}-abcdefgh", tmp_path / "model.new-notes"]
    for p in kept:
        p.mkdir()
        (p / "x.bin").write_bytes(b"1")
        if p != young:
            _aged(p)
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "x.bin").write_bytes(b"1")
    (tmp_path / f"{prefix}linked12").symlink_to(tmp_path / "precious", target_is_directory=True)
    (tmp_path / f"{prefix}afile123").write_text("not a folder")
    with folders.build_folder(target) as running:  # a build in progress in this process, old but locked
        _aged(running)
        with folders.replace_folder(target, "out", unlisted) as new:
            assert new.name.startswith(prefix) and running.exists()
            (new / "c.json").write_text("[]")
            write_manifest(new)
        assert running.exists()
    assert not left.exists() and all((p / "x.bin").exists() for p in kept)
    assert (tmp_path / "precious" / "x.bin").exists() and (tmp_path / f"{prefix}afile123").exists()
    assert sorted(p.name for p in target.iterdir()) == ["c.json", MANIFEST_FILE]


def test_on_a_file_system_without_locks_a_build_works_and_nothing_is_swept(tmp_path, monkeypatch):
    target = _ours(tmp_path / "model")
    stale = tmp_path / f".model.new-{folders._host()}-abcdefgh"
    stale.mkdir()
    _aged(stale)

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(folders.fcntl, "flock", no_locks)
    with folders.replace_folder(target, "out", unlisted) as new:
        (new / "c.json").write_text("[]")
        write_manifest(new)
    assert sorted(p.name for p in target.iterdir()) == ["c.json", MANIFEST_FILE]
    assert sorted(p.name for p in tmp_path.iterdir()) == [stale.name, "model"]  # kept: we cannot tell it is dead


def test_a_name_too_long_for_its_build_folder_is_refused_before_any_work(tmp_path):
    target = tmp_path / ("m" * 250)
    with pytest.raises(ValueError, match="too long to build its replacement beside it"), \
            folders.replace_folder(target, "out", unlisted):
        raise AssertionError("the block must not run")
    assert list(tmp_path.iterdir()) == []


def test_an_output_file_is_never_a_user_file_a_link_or_a_device(tmp_path):
    mine = tmp_path / "mine.json"
    mine.write_text('{"my": "data"}')
    ours = tmp_path / "ours.json"
    ours.write_text('{"made_by": "x"}')
    is_ours = lambda p: "made_by" in p.read_text()  # noqa: E731
    (tmp_path / "link.json").symlink_to(ours)
    for path, message in ((mine, "was not written by the package"), (tmp_path / "link.json", "symbolic link"),
                          ("/dev/null", "not a regular file"), (tmp_path, "is a folder"),
                          (tmp_path / "no" / "x.json", "does not exist")):
        with pytest.raises(ValueError, match=message):
            folders.check_output_file(path, "--json", is_ours)
    assert folders.check_output_file(ours, "--json", is_ours) == ours
    folders.write_file(ours, '{"made_by": "y"}', "--json")
    assert ours.read_text() == '{"made_by": "y"}' and mine.read_text() == '{"my": "data"}'


def test_a_failed_write_says_why_and_leaves_nothing(tmp_path):
    """A real write failure: the file-size limit (RLIMIT_FSIZE) makes the kernel refuse the write, as a full disk would."""
    target = tmp_path / "out.json"
    code = (
        "import resource, signal, sys; from pathlib import Path; from splade_helpers import folders\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n    folders.write_file(Path(sys.argv[1]), 'x' * 5000, '--json')\n"
        "except ValueError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True, timeout=120)
    assert f"cannot write --json={str(target)!r}: File too large" in out.stdout and "Nothing was written" in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_manifest_names_the_damaged_file(tmp_path):
    folder = _ours(tmp_path / "m")
    assert verify_manifest(folder)["made_by"] == "splade_helpers" and unlisted(folder) == []
    (folder / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    with pytest.raises(DamagedFolderError, match=r"sub/b.bin' has 10 bytes where the manifest .* lists 1,000"):
        verify_manifest(folder)
    (folder / "sub" / "b.bin").write_bytes(b"\x01" * 1000)  # same size, other content
    with pytest.raises(DamagedFolderError, match=r"sub/b.bin' differs .*SHA-256"):
        verify_manifest(folder)
    (folder / "sub" / "b.bin").unlink()
    with pytest.raises(DamagedFolderError, match="b.bin' is missing"):
        verify_manifest(folder)
    (folder / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(DamagedFolderError, match="cannot be read"):
        verify_manifest(folder)
    assert verify_manifest(tmp_path) is None


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "model.safetensors").write_bytes(b""), "model.safetensors' is empty"),
    (lambda f: os.truncate(f / "model.safetensors", 1_000_000), r"is truncated or damaged \(1,000,000 bytes where its header"),
    (lambda f: (f / "model.safetensors").unlink(), "has config.json but no weights"),
    (lambda f: (f / "config.json").write_text("{bad"), "config.json' cannot be read"),
    (lambda f: [(f / t).unlink() for t in ("tokenizer.json", "vocab.txt") if (f / t).exists()], "has no tokenizer"),
])
def test_a_damaged_model_folder_is_refused_naming_the_file(tmp_path, damage, message):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(resolve_model(None, "splade").path, folder)
    check_model_files(folder, "copy")
    damage(folder)
    with pytest.raises(DamagedFolderError, match=message):
        resolve_model(str(folder), "splade")


def test_without_an_atomic_exchange_the_swap_keeps_the_old_content_until_the_new_one_is_in(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)  # as on a system without renameat2
    old, new = tmp_path / "target", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / "x").write_text("old")
    (new / "x").write_text("new")
    folders.swap(new, old)
    assert (old / "x").read_text() == "new" and (new / "x").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "target"]
