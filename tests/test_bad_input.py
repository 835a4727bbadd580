"""Bad input never gives a wrong answer: a clear error that names the parameter, or a documented safe result.

One regression test per defect found by trying the package as a new user would, then a property
test that throws generated bad values at every public entry point.
"""

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import splade_helpers as sh
from splade_helpers import qdrant as q
from splade_helpers.evaluation.__main__ import main as evaluate_main

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "data" / "cranfield"


# --- 1. a damaged Cranfield copy is refused, never used or kept ----------------------------------


def _load_cranfield_in(env: dict) -> subprocess.CompletedProcess:
    code = "import splade_helpers as sh; d = sh.load_dataset('cranfield'); print(len(d.doc_ids), len(d.query_ids))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs the shared Cranfield copy beside the checkout")
def test_a_damaged_cranfield_copy_is_refused_and_a_damaged_cache_repaired(tmp_path):
    good, bad, home = tmp_path / "good", tmp_path / "bad", tmp_path / "irds"
    shutil.copytree(SHARED, good)
    shutil.copytree(SHARED, bad)
    (bad / "cran.all.1400").write_bytes((good / "cran.all.1400").read_bytes()[:20000])  # as `head -c 20000`
    out = _load_cranfield_in({"CRANFIELD_DIR": str(bad), "IR_DATASETS_HOME": str(home)})
    assert out.returncode != 0 and "cran.all.1400 is not the official file" in out.stderr
    assert not (home / "cranfield" / "docs.txt").exists()  # nothing copied
    out = _load_cranfield_in({"CRANFIELD_DIR": str(good), "IR_DATASETS_HOME": str(home)})
    assert out.returncode == 0 and out.stdout.split() == ["1400", "225"], out.stderr[-1000:]
    cached = home / "cranfield" / "docs.txt"
    cached.write_bytes(cached.read_bytes()[:20000])  # the cache damaged later (disk, an old bad copy)
    env = {k: v for k, v in os.environ.items() if k != "CRANFIELD_DIR"}
    proc = subprocess.run([sys.executable, "-c", "import splade_helpers as sh; sh.load_dataset('cranfield')"],
                          capture_output=True, text=True, timeout=300, env={**env, "IR_DATASETS_HOME": str(home)})
    assert proc.returncode != 0 and "is damaged (docs.txt: 18 documents" in proc.stderr and "Delete" in proc.stderr
    out = _load_cranfield_in({"CRANFIELD_DIR": str(good), "IR_DATASETS_HOME": str(home)})  # a good source repairs it
    assert out.returncode == 0 and out.stdout.split() == ["1400", "225"]


# --- 2. the encoding cache cannot be poisoned ------------------------------------------------------


def test_bad_integers_are_refused_before_any_work_and_nothing_bad_is_cached(splade, tmp_cache):
    texts = [f"supersonic flow over wing number {i}" for i in range(20)]
    for kwargs, message in (({"batch_size": -1}, "batch_size=-1 must be an int >= 1"),
                            ({"batch_size": 0}, "batch_size=0"), ({"max_length": 0}, "max_length=0"),
                            ({"max_length": 9999}, "max_length=9999 must be an int between 2 and 512"),
                            ({"window": 2}, "window=2"), ({"stride": 3}, "stride=3 needs a window"),
                            ({"batch_size": 2.5}, "batch_size=2.5 must be an int")):
        with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")):
            splade.encode_documents(texts, **kwargs)
    assert not list(tmp_cache.rglob("*.npz"))  # nothing written
    good = splade.encode_documents(texts)
    assert (np.diff(good.indptr) > 0).all()
    other = splade.encode_documents(texts, batch_size=4)  # another batch size: its own cache entry
    assert len(list(tmp_cache.rglob("*.npz"))) == 2 and np.abs((good - other).toarray()).max() < 1e-4


# --- 3. a SPLADE folder is not a dense model ---------------------------------------------------------


def test_the_dense_encoder_refuses_a_masked_language_model_folder(splade):
    with pytest.raises(ValueError, match="is a masked-language model .*not a sentence embedding model"):
        sh.DenseEncoder(str(splade.source.path))


# --- 4. the same ids with new texts re-index -----------------------------------------------------


def test_a_hybrid_reindexes_when_the_texts_change():
    bm25 = sh.BM25Retriever()
    hybrid = sh.HybridRetriever([bm25], fusion="minmax")
    hybrid.index(["a", "b"], ["wing flutter", "heat transfer"])
    assert hybrid.search(["flutter"])[0][0][0] == "a"
    hybrid.index(["a", "b"], ["heat transfer", "wing flutter"])  # same ids, texts swapped
    assert hybrid.search(["flutter"])[0][0][0] == "b"


# --- 5. a cache that cannot be written costs the cache, not the result -----------------------------


def test_an_unwritable_cache_warns_once_and_returns_the_result(tmp_path, monkeypatch, dense):
    from splade_helpers import cache

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SPLADE_CACHE_DIR", str(blocker))
    monkeypatch.setattr(cache, "_WARNED", set())
    texts = [f"text {i}" for i in range(20)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = dense.encode(texts)
        second = dense.encode(texts)
    messages = [str(w.message) for w in caught if "cannot write the encoding cache" in str(w.message)]
    assert len(messages) == 1 and "SPLADE_CACHE_DIR" in messages[0]
    assert first.shape == (20, 384) and np.allclose(first, second)


# --- 6. an unwritable --json is refused before the run -------------------------------------------


def test_evaluate_checks_the_json_path_first(tmp_path, capsys):
    for path, message in ((tmp_path / "missing" / "out.json", "does not exist"), (tmp_path, "is a folder")):
        assert evaluate_main(["--dataset", "mini", "--retrievers", "bm25", "--json", str(path)]) == 2
        err = capsys.readouterr()
        assert message in err.err and "retriever" not in err.out  # nothing ran


# --- 7. evaluation refuses what would give a wrong mean --------------------------------------------


def test_evaluation_refuses_empty_duplicated_or_fractional_input():
    run = {"q1": [("d1", 1.0)]}
    with pytest.raises(ValueError, match="no judged query"):
        sh.evaluate_run(run, {"q1": {"d1": 0}})
    with pytest.raises(ValueError, match="duplicate query id 'q1'"):
        sh.evaluate_run(run, {"q1": {"d1": 1}}, ["q1", "q1"])
    with pytest.raises(ValueError, match=r"qrels\['q1'\]\['d1'\] = 0.5 is not a whole number"):
        sh.evaluate_run(run, {"q1": {"d1": 0.5}})
    empty = sh.Dataset("none", ["d1"], ["x"], ["q1"], ["x"], {"q1": {"d1": 0}})
    with pytest.raises(ValueError, match="has no judged query"):
        sh.compare_retrievers(empty, ["bm25"])


# --- 8. the BEIR loader names the file, the line and what it expected ------------------------------


def _beir(folder: Path, corpus: str, queries: str, qrels: str) -> Path:
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_bytes(corpus.encode("utf-8") if isinstance(corpus, str) else corpus)
    (folder / "queries.jsonl").write_text(queries)
    (folder / "qrels" / "test.tsv").write_text(qrels)
    return folder


GOOD_CORPUS = '{"_id": "a", "text": "lift"}\n{"_id": "b", "title": "T", "text": "drag"}\n'
GOOD_QUERIES = '{"_id": "q1", "text": "lift?"}\n'
GOOD_QRELS = "query-id\tcorpus-id\tscore\nq1\ta\t1\n"


@pytest.mark.parametrize("corpus, queries, qrels, message", [
    ('{"text": "lift"}\n', GOOD_QUERIES, GOOD_QRELS, r"corpus.jsonl:1 has no '_id'"),
    ('{"_id": "a"}\n', GOOD_QUERIES, GOOD_QRELS, r"corpus.jsonl:1 has no 'text'"),
    ('["a", "lift"]\n', GOOD_QUERIES, GOOD_QRELS, r"corpus.jsonl:1 is a JSON list, expected an object"),
    (b'{"_id": "a", "text": "caf\xe9"}\n', GOOD_QUERIES, GOOD_QRELS, r"corpus.jsonl:1 is not UTF-8 \(byte 0xe9"),
    (GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\ta\n", r"test.tsv:2 has 2 column\(s\)"),
    (GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1 a\n", r"test.tsv:2 has 2 column\(s\)"),
    (GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\ta\thigh\n", r"test.tsv:2: score 'high' is not a whole number"),
    (GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\ta\t0.5\n", r"test.tsv:2: score '0.5' is not a whole number"),
    (GOOD_CORPUS, '{"_id": "q1"}\n', GOOD_QRELS, r"queries.jsonl:1 has no 'text'"),
])
def test_a_broken_beir_folder_is_explained(tmp_path, corpus, queries, qrels, message):
    folder = _beir(tmp_path / "beir", corpus, queries, qrels)
    with pytest.raises(ValueError, match=message):
        sh.load_dataset(folder)


def test_trec_qrels_are_read_and_unknown_queries_reported(tmp_path):
    folder = _beir(tmp_path / "trec", GOOD_CORPUS, GOOD_QUERIES, "q1 0 a 2\nq1 0 b 0\nq9 0 a 1\nq8 0 b 1\n")
    with pytest.warns(UserWarning, match=r"2 judgment\(s\) of 2 query id\(s\) not in queries.jsonl"):
        ds = sh.load_dataset(folder)
    assert ds.qrels == {"q1": {"a": 2, "b": 0}} and ds.query_ids == ["q1"]


# --- 10. text edge cases -------------------------------------------------------------------------------


def test_a_corpus_without_a_single_term_scores_zero():
    for docs in (["", "  "], ["the of and", "a an"], ["!!!", "... ??"]):
        r = sh.BM25Retriever().index(["x", "y"], docs)
        assert r.scores(["flutter of wings"]).tolist() == [[0.0, 0.0]] and r.search(["flutter"]) == [[]]


def test_a_lone_surrogate_is_refused_with_its_position(splade, dense):
    text = "wing \ud800 flutter"
    for call in (lambda: splade.vector(text), lambda: splade.encode_queries([text]), lambda: dense.encode([text]),
                 lambda: sh.analyze([text]), lambda: sh.BM25Retriever().index(["a"], [text])):
        with pytest.raises(ValueError, match=r"'\\ud800' at character 5, a lone surrogate"):
            call()
    from splade_helpers.widgets import expansion_report

    assert "not valid Unicode" in expansion_report(splade, text)  # the widget never raises for what is typed


# --- the property test: generated bad values at every public entry point --------------------------

BAD = st.one_of(
    st.integers(-(10**6), 0), st.sampled_from([2**70, -(2**70)]), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "3", "abc", None, True, False, [], [1], {}, b"x", object()]),
)


@pytest.fixture(scope="module")
def world(mini, splade, dense):
    """Indexed retrievers, a store and a lab over the mini corpus."""
    retrievers = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    scores = {}
    for name, r in retrievers.items():
        r.index(mini.doc_ids, mini.doc_texts)
        scores[name] = r.scores(mini.query_texts)
    store = q.EdgeStore(collection="bad-input", splade=splade, dense=dense)
    store.index(mini.doc_ids, mini.doc_texts)
    vectors = store.query_vectors(mini.query_texts[:1])
    lab = sh.AlphaLab(mini, scores)
    reference = splade.encode_documents(mini.doc_texts[:20], cache=False).toarray()
    yield {"retrievers": retrievers, "scores": scores, "store": store, "vectors": vectors, "lab": lab,
           "reference": reference}
    store.close()


def entry_points(w, splade, dense, mini):
    """(parameter name, call with the bad value) for every public function that takes a parameter."""
    r, s, v, lab = w["retrievers"], w["scores"], w["vectors"], w["lab"]
    one = [s["dense"][:2], s["bm25"][:2]]
    query = {"dense": v["dense"][0], "splade": v["splade"][0]}
    return [
        ("batch_size", lambda x: splade.encode_documents(["flutter"], batch_size=x, cache=False)),
        ("max_length", lambda x: splade.encode_documents(["flutter"], max_length=x, cache=False)),
        ("window", lambda x: splade.encode_documents(["flutter"], window=x, cache=False)),
        ("kind", lambda x: splade.encode(["flutter"], kind=x, cache=False)),
        ("top_k", lambda x: splade.vector("flutter", top_k=x)),
        ("cache", lambda x: splade.encode_documents(["flutter"] * 20, cache=x)),
        ("texts", lambda x: splade.encode_documents(x)),
        ("texts", lambda x: dense.encode(x)),
        ("k", lambda x: r["bm25"].search(["flutter"], k=x)),
        ("k", lambda x: r["splade"].rank(s["splade"][:1], k=x)),
        ("queries", lambda x: r["dense"].scores(x)),
        ("rrf_k", lambda x: sh.rrf(one, rrf_k=x)),
        ("depth", lambda x: sh.rrf(one, depth=x)),
        ("weights", lambda x: sh.rrf(one, weights=[x, 1.0])),
        ("weights", lambda x: sh.weighted_sum(one, [x, 1.0])),
        ("normalization", lambda x: sh.normalize(one[0], x)),
        ("alpha", lambda x: sh.convex(one[0], one[1], x)),
        ("limit", lambda x: sh.fuse_lists([[("a", 1.0)]], limit=x)),
        ("rrf_k", lambda x: sh.fuse_lists([[("a", 1.0)]], rrf_k=x)),
        ("k", lambda x: sh.top_k(one[0], x)),
        ("k", lambda x: sh.prune_top_k(splade.encode_queries(["flutter"]), x)),
        ("alpha", lambda x: lab.state(x)),
        ("fusion", lambda x: lab.state(0.5, fusion=x)),
        ("k", lambda x: lab.state(0.5, k=x)),
        ("sparse", lambda x: lab.curve("minmax", x)),
        ("alpha", lambda x: sh.explore("flutter", r, alpha=x)),
        ("k", lambda x: sh.explore("flutter", r, k=x)),
        ("query", lambda x: sh.explore(x, r)),
        ("tune_fraction", lambda x: sh.split_queries(mini.query_ids, tune_fraction=x)),
        ("k", lambda x: sh.ndcg_at_k(s["bm25"], sh.gain_matrix(mini), k=x)),
        ("limit", lambda x: w["store"].search("bm25", v["bm25"][0], limit=x)),
        ("using", lambda x: w["store"].search(x, v["bm25"][0])),
        ("alpha", lambda x: w["store"].hybrid_search(query, fusion="formula", alpha=x)),
        ("rrf_k", lambda x: w["store"].hybrid_search(query, rrf_k=x)),
        ("prefetch_limit", lambda x: w["store"].hybrid_search(query, prefetch_limit=x)),
        ("weights", lambda x: w["store"].hybrid_search(query, weights=[x, 1.0])),
        ("fusion", lambda x: w["store"].hybrid_search(query, fusion=x)),
        ("batch_size", lambda x: w["store"].upsert([], batch_size=x)),
        ("engine", lambda x: q.open_store(engine=x)),
        ("k1", lambda x: sh.BM25(k1=x)),
        ("b", lambda x: sh.BM25(b=x)),
        ("doc", lambda x: r["bm25"].bm25.explain("flutter", x)),
        ("k", lambda x: sh.compare_retrievers(mini, ["bm25"], k=x)),
        ("dataset", lambda x: sh.load_dataset(x)),
        ("batch_size", lambda x: sh.SpladeEncoder(batch_size=x)),  # checked before the model loads
        ("batch_size", lambda x: sh.DenseEncoder(batch_size=x)),
        ("model", lambda x: sh.resolve_model(x) if x is not None else sh.resolve_model("no/such-model-here")),
    ]


def _finite(result) -> bool:
    """No NaN or infinity anywhere in a result."""
    if isinstance(result, np.ndarray):
        return result.dtype.kind not in "fc" or bool(np.isfinite(result).all())
    if hasattr(result, "toarray"):
        return _finite(result.toarray())
    if isinstance(result, float):
        return np.isfinite(result)
    if isinstance(result, dict):
        return all(_finite(x) for x in result.values())
    if isinstance(result, (list, tuple)):
        return all(_finite(x) for x in result)
    return True


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_every_public_entry_point_refuses_bad_values_by_name(world, splade, dense, mini, data):
    calls = entry_points(world, splade, dense, mini)
    name, call = data.draw(st.sampled_from(calls), label="entry point")
    value = data.draw(BAD, label=name)
    try:
        result = call(value)
    except (ValueError, TypeError) as exc:
        assert name in str(exc) or "sparse vector" in str(exc), f"{name}={value!r}: the message does not name it: {exc}"
        return
    assert _finite(result), f"{name}={value!r} returned NaN or infinity"


def test_bad_values_changed_nothing_that_is_cached(world, splade, mini):
    """After the property test, a valid call still returns the fresh computation."""
    again = splade.encode_documents(mini.doc_texts[:20]).toarray()
    assert np.abs(again - world["reference"]).max() < 1e-5


FIXED_BAD = [0, -1, 2**70, float("nan"), float("inf"), -float("inf"), 1.5, "3", "", None, True, [], {}, object()]


def test_every_entry_point_with_every_kind_of_bad_value(world, splade, dense, mini):
    """The same check as the property test, exhaustively over a fixed list of the usual suspects."""
    problems = []
    for name, call in entry_points(world, splade, dense, mini):
        for value in FIXED_BAD:
            try:
                result = call(value)
            except (ValueError, TypeError) as exc:
                if name not in str(exc) and "sparse vector" not in str(exc):
                    problems.append(f"{name}={value!r}: message does not name it: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - exactly what must not happen
                problems.append(f"{name}={value!r}: raw {type(exc).__name__}: {exc}")
                continue
            if not _finite(result):
                problems.append(f"{name}={value!r}: NaN or infinity in the result")
    assert not problems, "\n".join(problems[:20])
