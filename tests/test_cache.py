import numpy as np
import pytest

from splade_helpers.cache import cache_dir, cached_arrays, digest, load_arrays, save_arrays


def test_cache_dir_moves_with_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SPLADE_CACHE_DIR", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"


def test_keys_depend_on_every_part():
    base = digest("m", 512, texts=["a", "b"])
    assert base == digest("m", 512, texts=["a", "b"])
    assert len({base, digest("m", 256, texts=["a", "b"]), digest("n", 512, texts=["a", "b"]),
                digest("m", 512, texts=["ab"]), digest("m", 512, texts=["b", "a"])}) == 5


def test_round_trip(tmp_path):
    arrays = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.array([1, 2], dtype=np.int32)}
    save_arrays(tmp_path / "a.npz", arrays)
    back = load_arrays(tmp_path / "a.npz")
    assert set(back) == {"x", "i"} and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert load_arrays(tmp_path / "missing.npz") is None


def counting_compute(calls):
    def compute():
        calls.append(1)
        return {"x": np.ones((2, 2), dtype=np.float32)}
    return compute


def test_computed_once_then_served(tmp_cache):
    calls = []
    for _ in range(3):
        out = cached_arrays("t", "k", counting_compute(calls))
    assert len(calls) == 1 and out["x"].sum() == 4


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tampered"])
def test_damaged_files_are_detected_and_recomputed(tmp_cache, damage):
    calls = []
    cached_arrays("t", "k", counting_compute(calls))
    path = tmp_cache / "t" / "k.npz"
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    else:  # a valid npz whose data no longer matches its digest
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        arrays["x"] = arrays["x"] * 2
        np.savez(path, **arrays)
    with pytest.warns(RuntimeWarning, match="recomputing"):
        out = cached_arrays("t", "k", counting_compute(calls))
    assert len(calls) == 2 and out["x"].sum() == 4
    assert load_arrays(path)["x"].sum() == 4  # the repaired entry is on disk


def test_an_entry_of_the_wrong_shape_is_not_returned(tmp_cache):
    calls = []
    cached_arrays("t", "k", counting_compute(calls))
    with pytest.warns(RuntimeWarning, match="wrong shape"):
        cached_arrays("t", "k", counting_compute(calls), validate=lambda a: a["x"].shape == (3, 3))
    assert len(calls) == 2


def test_a_corrupted_splade_cache_file_is_recomputed(splade, tmp_cache):
    texts = ["wing flutter at transonic speed"]
    good = splade.encode_documents(texts, cache=True).toarray()
    (path,) = tmp_cache.rglob("*.npz")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        again = splade.encode_documents(texts, cache=True).toarray()
    np.testing.assert_array_equal(good, again)


def test_disabled_cache_writes_nothing(tmp_cache):
    calls = []
    cached_arrays("t", "k", counting_compute(calls), enabled=False)
    assert not tmp_cache.exists()


def test_weights_replaced_with_the_old_size_and_time_are_not_served_stale(splade, tmp_cache, tmp_path):
    """Other weights of the same size, copied with the old modification time (cp -p, rsync -a, tar x): a new key."""
    import os
    import shutil

    from splade_helpers import SpladeEncoder

    folder = tmp_path / "model"
    shutil.copytree(splade.source.path, folder)
    weights = folder / "model.safetensors"
    texts = ["wing flutter at transonic speed"]
    before = SpladeEncoder(str(folder)).encode_documents(texts, cache=True).toarray()
    st = weights.stat()
    other = SpladeEncoder(str(folder)).model  # the same architecture, its output layer's bias changed
    other.get_output_embeddings().bias.data += 0.5
    other.save_pretrained(tmp_path / "other")
    data = (tmp_path / "other" / "model.safetensors").read_bytes()
    assert len(data) == st.st_size
    weights.write_bytes(data)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.stat().st_size == st.st_size and weights.stat().st_mtime_ns == st.st_mtime_ns
    served = SpladeEncoder(str(folder)).encode_documents(texts, cache=True).toarray()
    fresh = SpladeEncoder(str(folder)).encode_documents(texts, cache=False).toarray()
    np.testing.assert_array_equal(served, fresh)
    assert not np.array_equal(served, before)


def test_an_entry_copied_over_another_key_is_not_served(tmp_cache):
    """A file copied or renamed onto another key's name holds that other key: refused, recomputed, repaired."""
    cached_arrays("t", "a", lambda: {"x": np.zeros(3)})
    cached_arrays("t", "b", lambda: {"x": np.ones(3)})
    (tmp_cache / "t" / "a.npz").replace(tmp_cache / "t" / "b.npz")
    with pytest.warns(RuntimeWarning, match="holds the entry for key 'a', not 'b'"):
        out = cached_arrays("t", "b", lambda: {"x": np.full(3, 2.0)})
    assert out["x"].tolist() == [2.0, 2.0, 2.0] and load_arrays(tmp_cache / "t" / "b.npz", "b")["x"][0] == 2.0


def test_a_real_encoding_copied_over_another_is_not_served(splade, tmp_cache):
    first, second = ["wing flutter at transonic speed"], ["heat transfer in a laminar boundary layer"]
    expected = splade.encode_documents(second, cache=False).toarray()
    splade.encode_documents(first, cache=True)
    (path,) = tmp_cache.rglob("*.npz")
    splade.encode_documents(second, cache=True)
    (other,) = set(tmp_cache.rglob("*.npz")) - {path}
    other.write_bytes(path.read_bytes())  # the first text's entry under the second text's name
    with pytest.warns(RuntimeWarning, match="holds the entry for key"):
        again = splade.encode_documents(second, cache=True).toarray()
    np.testing.assert_array_equal(again, expected)


def test_an_entry_stored_without_its_key_is_recomputed_quietly(tmp_cache, recwarn):
    save_arrays(tmp_cache / "t" / "k.npz", {"x": np.zeros(2)})  # no key: cannot be verified as the one asked for
    calls = []
    out = cached_arrays("t", "k", counting_compute(calls))
    assert len(calls) == 1 and out["x"].sum() == 4 and not recwarn.list
    assert load_arrays(tmp_cache / "t" / "k.npz", "k")["x"].sum() == 4  # stored again, with its key


def test_nan_is_never_cached_nor_served(tmp_cache):
    from splade_helpers.cache import _digest

    with pytest.warns(RuntimeWarning, match="not caching .* 'x' holds NaN or infinity"):
        out = cached_arrays("t", "k", lambda: {"x": np.array([1.0, np.nan])})
    assert np.isnan(out["x"][1]) and not (tmp_cache / "t" / "k.npz").exists()  # returned to the caller, not stored
    with pytest.raises(ValueError, match="'x' holds NaN or infinity"):
        save_arrays(tmp_cache / "t" / "k.npz", {"x": np.array([np.inf])})
    stored = {"x": np.array([np.nan]), "__key__": np.array("k")}  # written by hand, with a valid checksum
    (tmp_cache / "t").mkdir(parents=True, exist_ok=True)
    np.savez(tmp_cache / "t" / "k.npz", __digest__=np.array(_digest(stored)), **stored)
    with pytest.warns(RuntimeWarning, match="holds NaN or infinity in 'x'; recomputing"):
        assert cached_arrays("t", "k", counting_compute([]))["x"].sum() == 4
