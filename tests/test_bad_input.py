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
from splade_helpers import training as T_
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


# --- issue 24: the training, storage and model-folder surfaces under attack ---------------------------------
# One regression test per numbered item; T = the reproducers' "--dataset mini --batch-size 8 --max-length 64".

T = ["--dataset", "mini", "--batch-size", "8", "--max-length", "64"]


def _beir_titles(folder: Path, n: int, title: str | None = None, query: str = "lift") -> Path:
    """A BEIR folder of ``n`` documents titled ``title`` (default: distinct titles), one query per document."""
    import json

    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": title or f"wing section {i}", "text": f"pressure on wing section {i} at mach {i}"}
            for i in range(n)]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": f"q{i}", "text": query}) + "\n" for i in range(n)))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(n)))
    return folder


@pytest.fixture(scope="module")
def trained(mini, tmp_path_factory):
    """A model of ours (two optimiser steps on mini's titles), in a folder with its manifest."""
    return T_.train(T_.title_pairs(mini), T_.TrainConfig(batch_size=8, max_length=64, max_steps=2),
                    out=tmp_path_factory.mktemp("trained") / "m")


def _user_files(folder: Path) -> dict[Path, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results").mkdir(exist_ok=True)
    files = {folder / "notes.txt": "my notes", folder / "results" / "table.csv": "a,b\n1,2\n"}
    for f, text in files.items():
        f.write_text(text)
    return files


def test_24_1_a_user_file_survives_every_command(tmp_path, monkeypatch, trained, mini, splade, dense, capsys):
    """No command deletes or overwrites a file it did not write, and refuses before any work."""
    from splade_helpers.qdrant.__main__ import main as load_main
    from splade_helpers.training.__main__ import main as train_main

    monkeypatch.chdir(tmp_path)
    m = tmp_path / "m"
    shutil.copytree(trained.path, m)  # a model of ours, then the user's files in it
    files = _user_files(m)
    files.update(_user_files(tmp_path))  # in the working directory (--out .)
    (tmp_path / "link").symlink_to(m)
    files[tmp_path / "mine.json"] = '{"my": "results"}'
    (tmp_path / "mine.json").write_text(files[tmp_path / "mine.json"])
    edge = tmp_path / "qdrant-data"
    with q.EdgeStore(edge, "course", splade=splade, dense=dense) as store:
        store.index(mini.doc_ids[:10], mini.doc_texts[:10])
    files.update(_user_files(edge))  # in the store's root
    files[edge / "course" / "notes.txt"] = "mine"  # inside a collection folder
    (edge / "course" / "notes.txt").write_text("mine")
    monkeypatch.setattr(T_.trainer, "_fit", lambda *a, **k: pytest.fail("refused too late: training started"))
    for out in ("m", "link", ".", ".."):
        assert train_main([*T, "--lambda-d", "0.1", "--out", out]) == 2
    assert evaluate_main(["--dataset", "mini", "--retrievers", "bm25", "--json", "mine.json"]) == 2
    assert load_main(["--dataset", "mini", "--path", str(edge), "--if-exists", "recreate"]) == 2
    with pytest.raises(ValueError, match="did not write"):
        T_.train(T_.title_pairs(mini), T_.TrainConfig(lambda_d=0.1), out=m)
    with q.EdgeStore(edge, "course", splade=splade, dense=dense) as store:
        with pytest.raises(ValueError, match=r"holds files the package did not write, or that changed after it wrote them \('notes.txt'\)"):
            store.index(mini.doc_ids, mini.doc_texts, if_exists="recreate")
        assert store.count() == 10  # the old collection, untouched
    err = capsys.readouterr().err
    assert "changed after it wrote them ('notes.txt', 'results')" in err and "symbolic link" in err and "working directory" in err
    assert "mine.json' exists and was not written by the package" in err
    for f, text in files.items():
        assert f.read_text() == text, f"{f} was changed"


def test_24_2_a_collection_stays_in_its_folder_and_is_never_wiped_by_a_copy(tmp_path, mini, splade, dense):
    from splade_helpers.qdrant.__main__ import main as load_main

    root = tmp_path / "root"
    with q.EdgeStore(root, "sibling", splade=splade, dense=dense) as sibling:
        sibling.index(mini.doc_ids[:5], mini.doc_texts[:5])
    for name in (".", "..", "a/b", "", "/abs", "x\x00y", " c", 7, ".c.new-host-abcd1234", ".c.old-x"):
        with pytest.raises((ValueError, TypeError), match="collection"):
            q.EdgeStore(root, name, splade=splade, dense=dense)
    assert load_main(["--dataset", "mini", "--path", str(tmp_path / "X" / "sub"), "--collection", ".."]) == 2
    assert not (tmp_path / "X").exists()
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValueError, match="is a symbolic link"):
        q.EdgeStore(root, "linked", splade=splade, dense=dense)
    (root / "linked").unlink()
    with q.EdgeStore(root, "sibling", splade=splade, dense=dense) as store:
        for if_exists in ("recreate", "reuse", "error"):
            with pytest.raises(ValueError, match="onto itself"):
                store.copy_to(store, if_exists=if_exists)
    with q.EdgeStore(root, "sibling", splade=splade, dense=dense) as store, q.EdgeStore(root, "other", splade=splade,
                                                                                      dense=dense) as other:
        assert store.count() == 5
        other.index(mini.doc_ids[20:25], mini.doc_texts[20:25])
        with pytest.raises(ValueError, match="holds 5 documents that are not in 'sibling'"):
            store.copy_to(other, if_exists="reuse")
        assert sorted(other.doc_ids) == sorted(mini.doc_ids[20:25])
        assert store.copy_to(other, if_exists="recreate") == 5 and sorted(other.doc_ids) == sorted(mini.doc_ids[:5])
    assert sorted(p.name for p in root.iterdir()) == ["other", "sibling"]


def test_24_3_no_choice_of_texts_makes_two_cache_keys_collide(splade, dense, tmp_cache, mini):
    from splade_helpers.retrievers import documents_digest
    from splade_helpers.training import Pairs, TrainConfig, model_key

    first, second = ["wing flutter\x00supersonic", "heat"], ["wing flutter", "supersonic\x00heat"]
    for encode in (lambda t: splade.encode_documents(t, cache=True).toarray(), lambda t: dense.encode(t, cache=True)):
        encode(first)
        again = encode(second)
        fresh = encode(second + ["x"])[:2]  # another key: computed afresh
        assert np.abs(again - fresh).max() < 1e-4 and np.abs(again - encode(first)).max() > 1e-2
    assert documents_digest(["a\x00b", "c"], ["t", "u"]) != documents_digest(["a", "b\x00c"], ["t", "u"])
    assert documents_digest(["a", "b"], ["x\x00b", "y"]) != documents_digest(["a", "b"], ["x", "b\x00y"])
    one, two = Pairs("p", ["a\x00b", "c"], ["d", "e"]), Pairs("p", ["a", "b\x00c"], ["d", "e"])
    assert one.digest() != two.digest() and model_key("base", one, TrainConfig()) != model_key("base", two, TrainConfig())


INVISIBLE = ["\u200b", "\ufeff", "\x00", "\u2060", "\u00ad", "\u200b\u2060\ufeff", " \u200b\t"]


@pytest.mark.parametrize("text", INVISIBLE, ids=[repr(t) for t in INVISIBLE])
def test_24_4_invisible_text_is_blank_and_matches_nothing(text, splade, dense, mini):
    from splade_helpers.validation import blank_texts

    assert blank_texts([text], splade.tokenizer) == [True] and blank_texts([text], dense.model.tokenizer) == [True]
    assert splade.encode_documents([text, "wing"], cache=False)[0].nnz == 0 and splade.vector(text)["indices"] == []
    assert not dense.encode([text, "wing"], cache=False)[0].any()
    ids, docs = ["blank", *mini.doc_ids], [text, *mini.doc_texts]
    for name, r in sh.build_retrievers(["bm25", "splade", "dense"], {"bm25": sh.BM25Retriever,
                                       "splade": lambda: sh.SpladeRetriever(splade),
                                       "dense": lambda: sh.DenseRetriever(dense)}).items():
        r.index(ids, docs)
        scores = r.scores(mini.query_texts[:5])
        assert (scores[:, 0] == 0).all(), f"{name}: the invisible document scores {scores[:, 0]}"
        assert not np.abs(r.scores([text])).any(), f"{name}: the invisible query matches something"


def test_24_5_training_that_would_do_nothing_or_diverge_is_refused(tmp_path, monkeypatch, mini, capsys):
    from splade_helpers.training.__main__ import main as train_main

    untitled = _beir_titles(tmp_path / "untitled", 20, title="Untitled")
    empty = _beir_titles(tmp_path / "empty", 20, query="")
    small = _beir_titles(tmp_path / "small", 13)
    calls = []
    monkeypatch.setattr(T_.trainer, "_fit", lambda *a, **k: calls.append(a) or pytest.fail("trained"))
    cases = [([ "--dataset", str(untitled), "--batch-size", "8"], "1 distinct anchor(s) ('Untitled' 20 times)"),
             (["--dataset", str(empty), "--pairs", "qrels", "--batch-size", "2"], "have any text"),
             (["--dataset", str(small)], "13 training pairs make no full batch of 32"),
             (["--dataset", "mini", "--batch-size", "100000"], "52 training pairs make no full batch of 100000"),
             (["--dataset", "mini", "--seed", "-1"], "seed=-1 must be an int between 0"),
             (["--dataset", "mini", "--negatives", "2"], "--negatives 2 needs --teacher"),
             # 13 pairs of the tuning half in batches of 8: one step, whose warm-up learning rate is 0
             (["--dataset", "mini", "--pairs", "qrels", "--batch-size", "8", "--max-length", "64"],
              "13 training pairs in batches of 8 make 1 optimiser step: its learning rate is 0")]
    for i, (args, message) in enumerate(cases):
        assert train_main([*args, "--out", str(tmp_path / f"out{i}")]) == 2
        assert message in capsys.readouterr().err, args
    monkeypatch.undo()
    assert not calls and not any((tmp_path / f"out{i}").exists() for i in range(len(cases)))
    with pytest.raises(ValueError, match=r"training stopped at step \d+: the loss is (nan|inf).*Nothing was saved"):
        T_.train(T_.title_pairs(mini), T_.TrainConfig(batch_size=8, max_length=64, lambda_d=1e38), out=tmp_path / "nan")
    assert not (tmp_path / "nan").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["empty", "small", "untitled"]


def test_24_5_the_train_command_prints_the_numbers(tmp_path, capsys):
    from splade_helpers.training.__main__ import main as train_main

    assert train_main(["--dataset", str(_beir_titles(tmp_path / "u", 20, title="Untitled")), "--batch-size", "8",
                       "--out", str(tmp_path / "o")]) == 2
    assert "the 20 pairs have 1 distinct anchor(s) ('Untitled' 20 times): a batch of 8 needs 8" in capsys.readouterr().err


def test_24_6_a_damaged_model_folder_is_refused_everywhere(tmp_path, monkeypatch, trained, mini, capsys):
    from splade_helpers.training import __main__ as train_command

    m = tmp_path / "m"
    shutil.copytree(trained.path, m)
    os.truncate(m / "model.safetensors", 1_000_000)
    with pytest.raises(ValueError, match=r"model.safetensors' has 1,000,000 bytes where the manifest"):
        sh.SpladeEncoder(str(m))
    assert evaluate_main(["--dataset", "mini", "--retrievers", "splade", "--splade-model", str(m)]) == 2
    assert "model.safetensors' has 1,000,000 bytes" in capsys.readouterr().err
    # a folder the user named is never overwritten, not even to repair it: damage and an edit look the same
    with pytest.raises(ValueError, match=r"changed after it wrote them \('model.safetensors \(changed since it was written\)'\)"):
        T_.train(T_.title_pairs(mini), trained.config, out=m)
    assert (m / "model.safetensors").stat().st_size == 1_000_000
    # the training cache is the package's own: a damaged model there is reported and trained again
    monkeypatch.setenv("SPLADE_CACHE_DIR", str(tmp_path / "cache"))
    cached = T_.train(T_.title_pairs(mini), trained.config)
    os.truncate(cached.path / "model.safetensors", 1_000_000)
    with pytest.warns(RuntimeWarning, match="has 1,000,000 bytes.*Training it again"):
        again = T_.train(T_.title_pairs(mini), trained.config)
    assert again.path == cached.path and sh.SpladeEncoder(str(again.path)).vocab_size == 30522
    dense_folder = str(sh.resolve_model(None, "dense").path)
    monkeypatch.setattr(train_command, "teacher_scores", lambda *a, **k: pytest.fail("the teacher scored first"))
    for base, message in ((dense_folder, "is a BertModel (sentence-transformers) model, not a masked-language model"),
                          ("rasyosef/splade-tinyy", "is not on this machine")):
        assert train_command.main([*T, "--teacher", "dense", "--base-model", base, "--out", str(tmp_path / "o")]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match="not a masked-language model"):
        T_.train(T_.title_pairs(mini), trained.config, base_model=dense_folder, out=tmp_path / "o")


def test_24_6_folders_the_package_did_not_write_get_clear_errors(tmp_path, capsys):
    base = sh.resolve_model(None, "splade").path
    damage = {"empty": lambda f: (f / "model.safetensors").write_bytes(b""),
              "config-only": lambda f: [p.unlink() for p in f.iterdir() if p.name != "config.json"],
              "bad-config": lambda f: (f / "config.json").write_text("{oops"),
              "no-tokenizer": lambda f: [(f / t).unlink() for t in ("tokenizer.json", "vocab.txt") if (f / t).exists()]}
    for name, hurt in damage.items():
        shutil.copytree(base, tmp_path / name)
        hurt(tmp_path / name)
        assert evaluate_main(["--dataset", "mini", "--retrievers", "splade", "--splade-model", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    for fragment in ("model.safetensors' is empty", "has config.json but no weights", "config.json' cannot be read",
                     "has no tokenizer"):
        assert fragment in err
    assert "Traceback" not in err and "SafetensorError" not in err


FULL_DISK = """
import shutil
import sys
from pathlib import Path

import splade_helpers as sh
from splade_helpers import qdrant as q

disk, m = Path(sys.argv[1]), sh.load_dataset("mini")


def load(folder, wal):
    try:
        store = q.EdgeStore(disk / folder, "c", wal=wal)
        store.index(m.doc_ids, m.doc_texts)
        print(folder, "loaded", store.count(), flush=True)
        store.close()
    except ValueError as exc:
        print(folder, "refused:", exc, flush=True)


load("with-log", True)  # the write-ahead log's segments do not fit in 20 MiB
load("no-log", False)
(disk / "filler").write_bytes(b"\\x00" * (shutil.disk_usage(disk).free - 1_000_000))  # leave about 1 MB
load("no-log", False)  # re-opening, and creating, on the nearly full disk
load("new", False)
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
def test_24_7_a_full_disk_is_refused_before_the_engine_writes(tmp_path):
    """A real 20 MiB file system: the engine would crash the process ("Bus error"); the store refuses first.

    One child process runs the four loads in turn, so that a crash cannot take pytest with it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)]).returncode:
        pytest.skip("tmpfs cannot be mounted here")
    try:
        out = subprocess.run([sys.executable, "-c", FULL_DISK, str(disk)], capture_output=True, text=True, timeout=600)
        lines = out.stdout.splitlines()
        assert out.returncode == 0 and len(lines) == 4 and "Bus error" not in out.stderr, out.stdout + out.stderr[-2000:]
        assert lines[0].startswith("with-log refused: not enough free space for loading 52 points into Qdrant Edge in")
        assert "MiB free, about 68." in lines[0], lines[0]
        assert lines[1] == "no-log loaded 52", lines[1]
        assert lines[2].startswith("no-log refused: not enough free space for"), lines[2]
        assert lines[3].startswith("new refused: not enough free space for"), lines[3]
    finally:
        subprocess.run(["umount", str(disk)])


def test_24_7_the_room_estimate_refuses_what_the_free_space_cannot_hold(tmp_path, monkeypatch, mini, splade, dense):
    """The same refusal wherever tmpfs cannot be mounted: the free-space probe reports a nearly full disk."""
    from splade_helpers import folders

    with q.EdgeStore(tmp_path, "c", splade=splade, dense=dense, wal=False) as store:
        store.index(mini.doc_ids, mini.doc_texts)
        monkeypatch.setattr(folders, "free_bytes", lambda path: 3 * 2**20)
        with pytest.raises(ValueError, match=r"not enough free space for loading 52 points .* 3.0 MiB free, about 4.\d MiB"):
            store.index(mini.doc_ids, mini.doc_texts, if_exists="recreate")
        assert store.count() == 52  # refused before any write
        with pytest.raises(ValueError, match="not enough free space for optimizing"):
            store.optimize()
    with pytest.raises(ValueError, match="not enough free space for opening the Qdrant Edge collection 'c'"):
        q.EdgeStore(tmp_path, "c", splade=splade, dense=dense)


def test_24_8_vectors_of_another_model_are_refused_on_reuse_and_search(tmp_path, trained, mini, splade, dense):
    from safetensors.torch import load_file, save_file

    from splade_helpers.integrity import write_manifest

    model = tmp_path / "model"
    shutil.copytree(trained.path, model)
    with q.EdgeStore(tmp_path / "s", "c", splade=sh.SpladeEncoder(str(model)), dense=dense) as store:
        store.index(mini.doc_ids, mini.doc_texts)
    with q.EdgeStore(tmp_path / "s", "c", splade=splade, dense=dense) as store:  # another model, searched as it is
        with pytest.raises(ValueError, match="was built with other models than this store's encoders"):
            store.search("splade", store.query_vectors(["wing"], kinds=("splade",))["splade"][0])
        assert store.search("bm25", store.query_vectors(["battery"], kinds=("bm25",))["bm25"][0])  # BM25 is the same
    weights = load_file(model / "model.safetensors")  # "re-trained" at the same path: same names, other numbers
    save_file({k: v + 1e-3 if v.is_floating_point() else v for k, v in weights.items()}, model / "model.safetensors",
              metadata={"format": "pt"})
    write_manifest(model)
    retrained = sh.SpladeEncoder(str(model))
    with q.EdgeStore(tmp_path / "s", "c", splade=retrained, dense=dense) as store:
        with pytest.raises(ValueError, match=r"cannot be reused with these encoders: splade_files is"):
            store.index(mini.doc_ids, mini.doc_texts, if_exists="reuse")
        with pytest.raises(ValueError, match="was built with other models"):
            store.query_vectors(["wing"], kinds=("splade",))


def _answers_never():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_24_9_qdrant_url_at_something_else_gets_one_clear_error(monkeypatch):
    import http.server
    import threading

    silent, silent_url = _answers_never()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        for url, message in ((silent_url, "accepted a connection but sent no answer within 1 s"),
                             (f"127.0.0.1:{web.server_address[1]}", "answered, but not as Qdrant does"),
                             ("http://localhost:abc", "is not a valid address"), ("http://localhost:99999", "Port out of range"),
                             ("http://[::1", "Invalid IPv6 URL"), ("ftp://host", "not an http(s) address")):
            monkeypatch.setenv("QDRANT_URL", url)
            with pytest.raises((ValueError, ConnectionError)) as err:
                q.get_client(timeout=1.0)
            assert f"QDRANT_URL={url!r}" in str(err.value) and message in str(err.value), str(err.value)
            assert "unset QDRANT_URL" in str(err.value)
    finally:
        web.shutdown()
        silent.close()


BAD_INPUT_24 = [
    (lambda: q.Match("title", 1.5), "Match value=1.5 must be a str, an int or a bool"),
    (lambda: q.Range("year", gte="a"), "Range gte='a' must be a number"),
    (lambda: q.Range("year", gte=float("nan")), "Range gte=nan must be a finite number"),
    (lambda: q.Range("year", gte=5, lte=1), "is empty"),
    (lambda: q.MatchText("text", None), "MatchText text=None must be a non-empty str"),
    (lambda: q.plain({"n": 2**63}), r"payload.n is 9223372036854775808, beyond Qdrant's 64-bit integers"),
    (lambda: q.plain({"n": -(2**63) - 1}), "beyond Qdrant's 64-bit integers"),
    (lambda: list(q.iter_points(["a"], ["x"], np.zeros((1, 2)), np.zeros((1, 3)), [([], [])], extra=["str"])),
     r"extra\[0\]='str' must be a dict of payload fields"),
    (lambda: list(q.iter_points(["a"], ["x"], np.zeros((1, 2)), np.zeros((1, 3)), [([], [])], extra="abc")),
     "extra='abc' must be a list"),
    (lambda: sh.split_queries(["q1", "q2", "q1"]), "duplicate query_id 'q1'"),
    (lambda: sh.split_queries("abc"), "query_ids must be a list of strings"),
    (lambda: sh.split_queries([f"q{i}" for i in range(20)], tune_fraction=0.01), "leaves the tuning half empty"),
    (lambda: sh.split_queries([f"q{i}" for i in range(20)], tune_fraction=0.99), "leaves the test half empty"),
    (lambda: sh.paired_comparison([0.5, float("nan"), 0.1], [0.2, 0.3, 0.1]), r"a\[1\] is nan"),
    (lambda: sh.paired_comparison([0.5, 0.4], [0.2, float("inf")]), r"b\[1\] is inf"),
    (lambda: sh.paired_comparison([1e200, 0.4], [0.2, 0.3]), r"a\[0\] is 1e\+200; per-query scores are metric values"),
    (lambda: sh.paired_comparison([0.5, "0.4"], [0.2, 0.3]), r"a and b must be lists of per-query scores \(numbers\)"),
    (lambda: sh.intervals_on_n_queries([0.5, float("nan"), 0.1], [0.2, 0.3, 0.1], ns=(2,)), r"a\[1\] is nan"),
    (lambda: sh.intervals_on_n_queries([0.5, 0.4, 0.1], [0.2, -1e300, 0.1], ns=(2,)), r"b\[1\] is -1e\+300"),
    (lambda: sh.paired_comparison([0.5, 0.4], [0.2, 0.3], n_boot=0), "n_boot=0 must be an int between 1"),
    (lambda: sh.paired_comparison([0.5, 0.4], [0.2, 0.3], n_boot=2.5), "n_boot=2.5 must be an int"),
    (lambda: sh.format_interval((0.1, 0.0, 0.2)), r"comparison=\(0.1, 0.0, 0.2\) must be a dict with mean_diff"),
    (lambda: sh.interval_verdict({"mean_diff": 0.1, "low": 0.0}), r"comparison has no ci_low, ci_high \(keys: \['low', 'mean_diff'\]\)"),
    (lambda: sh.interval_verdict({"mean_diff": 0.1, "ci_low": float("nan"), "ci_high": 0.2}), r"comparison\['ci_low'\]=nan"),
    (lambda: sh.format_interval({"mean_diff": 0.1, "ci_low": 0.3, "ci_high": 0.2}), "ci_low=0.3 is above ci_high=0.2"),
    (lambda: sh.format_interval({"mean_diff": "0.1", "ci_low": 0.0, "ci_high": 0.2}), r"comparison\['mean_diff'\]='0.1' must be a number"),
    (lambda: sh.fuse_lists(None), "lists=None must be a list of ranked lists"),
    (lambda: sh.fuse_lists("abc"), "lists='abc' must be a list of ranked lists"),
    (lambda: sh.fuse_lists([[("a", float("nan"))]]), r"lists\[0\]\[0\] score=nan"),
    (lambda: sh.fuse_lists([[("a", 1.0)], [("a", 2.0)]], "dbsf", weights=[2.0, 1.0]), r"weights=\[2.0, 1.0\] apply to rrf only"),
    (lambda: sh.evaluate_run({1: [("d1", 1.0)]}, {"1": {"d1": 1}}), r"run key 1 \(int\) must be a query id \(str\)"),
    (lambda: sh.evaluate_run({"1": [("d1", 1.0)]}, {"1": {"d1": 1}}, ["1", "3x"]), r"1 query id\(s\) not in the qrels, e.g. \['3x'\]"),
    (lambda: sh.evaluate_run({"1": [("d9", 0.1), ("d1", 0.9)]}, {"1": {"d1": 1}}), r"run\['1'\] is not best first: position 1 scores 0.9"),
    (lambda: sh.evaluate_run({"1": [("d1", float("nan"))]}, {"1": {"d1": 1}}), r"run\['1'\]\[0\] score=nan must be a finite number"),
    (lambda: sh.evaluate_run({"1": [("d1", None)]}, {"1": {"d1": 1}}), r"run\['1'\]\[0\] score=None must be a number"),
    (lambda: sh.split_queries({"q1", "q2", "q3", "q4"}, seed=42), r"query_ids is a set, whose order changes from run to run"),
    (lambda: sh.fuse({"bm25": np.ones((1, 2))}, ["bm25"]), r"weights=\['bm25'\] must be a non-empty dict keyed by retriever name"),
    (lambda: sh.fuse({"bm25": np.ones((1, 2))}, {}), r"weights=\{\} must be a non-empty dict keyed by retriever name"),
    (lambda: sh.normalize([[True, False]]), r"scores is a matrix of booleans"),
    (lambda: sh.rrf([np.ones((2, 3))], retrieved=[np.ones((3, 2), bool)]), r"retrieved\[0\] has shape \(3, 2\), expected \(2, 3\) \(transposed"),
    (lambda: sh.article_hybrid_matrix(np.ones((1, 2)), np.ones((1, 2)), [np.nan], [1.0, 1.0]), "query_sums holds nan"),
    (lambda: sh.article_hybrid_matrix(np.ones((1, 2)), np.ones((1, 2)), [1.0], [1.0, -np.inf]), "doc_sums holds -inf"),
    (lambda: sh.evaluate_run({"q": [("d", 1.0)]}, {"q": {"d": float("nan")}}), r"qrels\['q'\]\['d'\] = nan is not a whole number"),
    (lambda: sh.evaluate_run({"q": [("d", 1.0)]}, {"q": {"d": float("inf")}}), "= inf is not a whole number"),
    (lambda: sh.evaluate_run({"q": [(1, 1.0)]}, {"q": {"d": 1}}), r"run\['q'\]\[0\] = \(1, 1.0\) must be a \(doc id, score\) pair with a str doc id"),
    (lambda: sh.evaluate_run({"q": [("d", 1.0)]}, {"q": {1: 1}}), r"qrels\['q'\] has the document id 1 \(int\)"),
    (lambda: sh.evaluate_run({"q": [("d", 1.0)]}, {"q": {"d": 2**32 + 1}}), "beyond 32-bit integers"),
    (lambda: T_.TrainConfig(seed=-1), "seed=-1 must be an int between 0 and 4294967295"),
]


@pytest.mark.parametrize("call, message", BAD_INPUT_24, ids=[m[:40] for _, m in BAD_INPUT_24])
def test_24_11_each_case_is_refused_by_name(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_24_11_the_load_command_checks_its_throttle_first(tmp_path, capsys):
    from splade_helpers.qdrant.__main__ import main as load_main

    for value in ("-1", "nan", "inf"):
        assert load_main(["--dataset", "mini", "--path", str(tmp_path / "x"), f"--throttle={value}"]) == 2
        assert f"--throttle={float(value)!r} must be a finite number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_commands_name_the_flag_not_the_python_parameter(tmp_path, capsys):
    """A value refused deep in the package is reported by the flag the user typed (--batch-size, not batch_size)."""
    from argparse import Namespace

    from splade_helpers.qdrant.__main__ import main as load_main
    from splade_helpers.training.__main__ import main as train_main
    from splade_helpers.validation import cli_message

    cases = [
        (evaluate_main, ["--dataset", "mini", "--retrievers", "bm25", "--queries", "test", "--split-seed", "-5"],
         "--split-seed=-5 must be an int >= 0"),
        (evaluate_main, ["--dataset", "mini", "--retrievers", "bm25", "--k", "0"], "--k=0 must be an int >= 1"),
        (load_main, ["--dataset", "mini", "--path", str(tmp_path / "x"), "--batch-size", "0"], "--batch-size=0 must be an int >= 1"),
        (train_main, ["--dataset", "mini", "--out", str(tmp_path / "m"), "--learning-rate", "-1"],
         "--learning-rate=-1.0 must be a finite number > 0"),
        (train_main, ["--dataset", "mini", "--out", str(tmp_path / "m"), "--seed", "-1"], "--seed=-1 must be an int"),
    ]
    for main, argv, message in cases:
        assert main(argv) == 2, argv
        assert f"error: {message}" in capsys.readouterr().err, argv
    assert not (tmp_path / "x").exists() and not (tmp_path / "m").exists()
    # only a leading name= that is one of the command's options is reworded
    args = Namespace(batch_size=0, k=3)
    assert cli_message(ValueError("batch_size=0 must be an int >= 1."), args) == "--batch-size=0 must be an int >= 1."
    assert cli_message(ValueError("seed=-5 must be an int >= 0."), args) == "seed=-5 must be an int >= 0."
    assert cli_message(ValueError("'k=3' is a strange id"), args) == "'k=3' is a strange id"
    assert cli_message(ValueError("no equals sign here"), args) == "no equals sign here"


@pytest.mark.parametrize("qrels, message", [
    ("\ufeffquery-id\tcorpus-id\tscore\nq1\ta\t1\n", None),  # a BOM before the header: still a header
    ("\ufeffq1\ta\t1\n", None),  # a BOM before the first judgment: still a judgment
    ("q1\ta\t1\nq1\ta\t2\n", r"test.tsv:2 judges document 'a' for query 'q1' 2, but line 1 judges it 1"),
])
def test_24_11_qrels_with_a_bom_or_conflicting_judgments(tmp_path, qrels, message):
    folder = _beir(tmp_path / "b", GOOD_CORPUS, GOOD_QUERIES, qrels)
    if message:
        with pytest.raises(ValueError, match=message):
            sh.load_dataset(folder)
    else:
        assert sh.load_dataset(folder).qrels == {"q1": {"a": 1}}


@pytest.mark.parametrize("corpus, message", [
    ('{"_id": 1.5, "text": "lift"}\n', r"corpus.jsonl:1: '_id' is 1.5 \(float\)"),
    ('{"_id": ["a"], "text": "lift"}\n', r"'_id' is \['a'\] \(list\)"),
    ('{"_id": " a", "text": "lift"}\n', "has spaces at its start or end"),
    ('{"_id": true, "text": "lift"}\n', r"'_id' is True \(bool\)"),
])
def test_24_11_ids_that_are_not_plain_strings_are_refused(tmp_path, corpus, message):
    with pytest.raises(ValueError, match=message):
        sh.load_dataset(_beir(tmp_path / "b", corpus, GOOD_QUERIES, GOOD_QRELS))


def test_24_11_integer_ids_are_read_as_strings(tmp_path):
    ds = sh.load_dataset(_beir(tmp_path / "b", '{"_id": 7, "text": "lift"}\n', '{"_id": 1, "text": "lift?"}\n', "1\t7\t1\n"))
    assert ds.doc_ids == ["7"] and ds.qrels == {"1": {"7": 1}}


@pytest.fixture(scope="module")
def inference_free(mini, tmp_path_factory):
    return T_.train(T_.title_pairs(mini), T_.TrainConfig(batch_size=8, max_length=64, max_steps=2, inference_free=True),
                    out=tmp_path_factory.mktemp("if") / "m")


def test_24_11_an_inference_free_model_in_the_expansion_box_and_without_the_cache(inference_free, mini, tmp_cache):
    from splade_helpers.widgets import expansion_report

    encoder = inference_free.encoder()
    report = expansion_report(encoder, "battery drains fast")
    assert "inference-free model" in report and "non-zero terms (0 expansions)" in report
    assert "matches nothing" in expansion_report(encoder, "\u200b")
    sh.compare_retrievers(mini, ["splade"], cache=False, splade_model=str(inference_free.path))
    assert not list(tmp_cache.rglob("*.npz"))  # --no-cache reached the document encoder
    encoder.cache = False
    assert encoder.documents.cache is False


def test_24_11_json_output_on_a_read_only_or_full_disk(tmp_path, capsys):
    """A folder that cannot be written is refused before the run; a write that fails after it is explained."""
    code = (
        "import resource, signal, sys; from splade_helpers.evaluation.__main__ import main\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))\n"
        "sys.exit(main(['--dataset', 'mini', '--retrievers', 'bm25', '--json', sys.argv[1]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "bm25" in out.stdout  # the table was printed, then the write failed
    assert f"error: cannot write --json={str(tmp_path / 'r.json')!r}: File too large" in out.stderr, out.stderr[-2000:]
    assert not list(tmp_path.iterdir())
    assert evaluate_main(["--dataset", "mini", "--retrievers", "bm25", "--json", str(tmp_path / "r.json")]) == 0
    assert evaluate_main(["--dataset", "mini", "--retrievers", "bm25", "--json", str(tmp_path / "r.json")]) == 0  # ours


def test_24_11_a_read_only_ir_datasets_home_is_explained(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = _load_cranfield_in({"IR_DATASETS_HOME": str(blocker / "home")})
    last = out.stderr.strip().splitlines()[-1]
    assert out.returncode != 0 and last.startswith("ValueError: Cranfield cannot be read or written in ir_datasets' cache")
    assert "set IR_DATASETS_HOME to a writable folder" in last


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
        # issue 24: storage, payloads and filters
        ("collection", lambda x: q.EdgeStore(collection=x).close()),
        ("path", lambda x: q.EdgeStore(x, "c").close()),
        ("value", lambda x: q.Match("title", x)),
        ("gte", lambda x: q.Range("year", gte=x)),
        ("lte", lambda x: q.Range("year", gte=-(10**9), lte=x)),
        ("text", lambda x: q.MatchText("text", x)),
        ("payload", lambda x: q.plain({"n": x})),
        ("extra", lambda x: list(q.iter_points(["a"], ["x"], np.zeros((1, 2)), np.zeros((1, 3)), [([], [])], extra=x))),
        ("payload", lambda x: list(q.iter_points(["a"], ["x"], np.zeros((1, 2)), np.zeros((1, 3)), [([], [])],
                                                 extra=[{"n": x}]))),
        # issue 24: evaluation, statistics, fusion and training settings
        ("query_ids", lambda x: sh.split_queries(x)),
        ("n_boot", lambda x: sh.paired_comparison([0.5, 0.4, 0.3], [0.2, 0.3, 0.1], n_boot=x)),
        ("per-query scores", lambda x: sh.paired_comparison([x, 0.4, 0.3], [0.2, 0.3, 0.1])),
        ("per-query scores", lambda x: sh.intervals_on_n_queries([x, 0.4, 0.3], [0.2, 0.3, 0.1], ns=(2,), draws=2, n_boot=20)),
        ("comparison", lambda x: sh.interval_verdict(x)),
        ("ci_low", lambda x: sh.format_interval({"mean_diff": 0.0, "ci_low": x, "ci_high": 1.0})),
        ("lists", lambda x: sh.fuse_lists(x)),
        ("lists", lambda x: sh.fuse_lists([[("a", x)]])),
        ("retrieved", lambda x: sh.rrf(one, retrieved=[x, None])),
        ("query_sums", lambda x: sh.article_hybrid_matrix(one[0][:1], one[1][:1], [x], np.ones(one[0].shape[1]))),
        ("qrels", lambda x: sh.evaluate_run({"q1": [("d1", 1.0)]}, {"q1": {"d1": x}})),
        ("seed", lambda x: T_.TrainConfig(seed=x)),
        ("batch_size", lambda x: T_.TrainConfig(batch_size=x)),
        ("lambda_d", lambda x: T_.TrainConfig(lambda_d=x)),
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


def test_evaluate_json_does_not_replace_a_file_that_only_looks_like_its_own(tmp_path, capsys):
    """A file with the command's generic keys but no mark ("made_by") is the user's: refused, left as it was."""
    path = tmp_path / "notes.json"
    text = '{"dataset": "my notes", "k": 1, "backend": "x", "results": ["my precious data"]}'
    path.write_text(text)
    assert evaluate_main(["--dataset", "mini", "--retrievers", "bm25", "--json", str(path)]) == 2
    assert path.read_text() == text and "notes.json" in capsys.readouterr().err


def test_weights_and_texts_are_not_silently_misread(splade):
    """A corpus dict would encode its ids; NaN weights were dropped by pruning; a vector of another width was read."""
    import scipy.sparse as sparse

    with pytest.raises(TypeError, match=r"texts is a dict: going through it gives its keys \(ids, not texts\)"):
        splade.encode({"d1": "wing flutter", "d2": "boundary layer"}, kind="document")
    with pytest.raises(ValueError, match="matrix holds the weight nan"):
        sh.prune_top_k(sparse.csr_matrix(np.array([[np.nan, 3.0, 1.0, 2.0]])), 2)
    with pytest.raises(TypeError, match="matrix=None must be a sparse matrix of term weights"):
        sh.prune_top_k(None, 2)
    np.testing.assert_array_equal(sh.prune_top_k(sparse.csr_matrix(np.array([[0.5, 3.0, 1.0, 2.0]])), 2).toarray(),
                                  [[0, 3.0, 0, 2.0]])
    for width in (50_000, 10):
        with pytest.raises(ValueError, match=f"vector has {width} columns; this model's vectors have {splade.vocab_size}"):
            splade.top_terms(sparse.csr_matrix((1, width)))
    dense = np.zeros(splade.vocab_size)
    dense[5] = np.nan
    with pytest.raises(ValueError, match="vector holds the weight nan"):
        splade.top_terms(dense)
    dense[5] = 2.0
    assert splade.top_terms(dense, 3) == [(splade.vocab[5], 2.0)]


def test_scores_rank_as_numbers_whatever_their_dtype_and_nan_is_refused():
    """top_k (and so every ranking) reads scores through validation.check_score_matrix: unsigned integers
    no longer wrap under the minus sign, NaN is no longer ranked last in silence."""
    assert sh.top_k(np.array([[0, 10, 7]], dtype=np.uint32), 3).tolist() == [[1, 2, 0]]
    assert sh.ndcg_at_k(np.array([[0, 10, 7]], dtype=np.uint32), np.array([[0, 1.0, 0]])).tolist() == [1.0]
    with pytest.raises(ValueError, match="scores contains nan at \\(query 0, document 0\\)"):
        sh.top_k([[np.nan, 1.0, 2.0]], 2)
    with pytest.raises(TypeError, match="matrix of booleans"):
        sh.top_k(np.array([[True, False]]), 1)
    bm25 = sh.BM25Retriever().index(["a", "b", "c"], ["wing", "flow", "heat"])
    with pytest.raises(ValueError, match="scores contains nan"):
        bm25.rank(np.array([[np.nan, 1.0, 0.5]]), 3)


def test_a_hybrid_never_fuses_columns_of_different_documents():
    one, two = sh.BM25Retriever(), sh.BM25Retriever()
    two.name = "bm25 again"
    hybrid = sh.HybridRetriever(r for r in (one, two))  # a generator is read once, and kept
    assert hybrid.retrievers == [one, two]
    hybrid.index(["a", "b"], ["wing flutter", "heat transfer"])
    with pytest.raises(ValueError, match="2 document ids but 3 texts"):
        hybrid.index(["a", "b"], ["wing flutter", "heat transfer", "EXTRA"])
    one.index(["x", "y"], ["heat transfer", "wing flutter"])  # a component re-indexed on its own
    with pytest.raises(ValueError, match=r"component\(s\) \['bm25'\] now hold other documents"):
        hybrid.search(["flutter"])
    hybrid.index(["a", "b"], ["wing flutter", "heat transfer"])  # the fix the message gives
    assert hybrid.search(["flutter"], k=1)[0][0][0] == "a"


def test_the_explorer_and_the_slider_refuse_bad_settings_when_built(mini, splade, dense):
    from splade_helpers.widgets import AlphaSlider, Explorer

    retrievers = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    for name, r in retrievers.items():
        r.index(mini.doc_ids[::-1] if name == "dense" else mini.doc_ids, mini.doc_texts[::-1] if name == "dense" else mini.doc_texts)
    with pytest.raises(ValueError, match="indexed on the same documents, in the same order"):
        sh.explore("laptop battery", retrievers)
    retrievers["dense"].index(mini.doc_ids, mini.doc_texts)
    for kwargs, message in (({"k": 0}, "k=0 must be an int >= 1"), ({"alpha": 5}, r"alpha=5 must be a number in \[0, 1\]")):
        with pytest.raises(ValueError, match=message):
            Explorer(retrievers, mini, **kwargs)
    lab = sh.AlphaLab(mini, {n: r.scores(mini.query_texts) for n, r in retrievers.items()})
    for kwargs, message in (({"alpha": 2.0}, r"alpha=2.0 must be a number in \[0, 1\]"),
                            ({"query_id": "nope"}, "query_id='nope' is not one of the dataset's 20 query ids"),
                            ({"fusion": "none"}, "fusion='none' is not supported"),
                            ({"sparse": "colbert"}, "sparse='colbert' is not supported")):
        with pytest.raises(ValueError, match=message):
            AlphaSlider(lab, **kwargs)


def test_a_dataset_is_checked_when_it_is_built():
    def build(**changes):
        fields = dict(name="x", doc_ids=["a"], doc_texts=["wing"], query_ids=["q"], query_texts=["flutter"], qrels={"q": {"a": 1}})
        return sh.Dataset(**{**fields, **changes})

    assert build().judged_query_ids == ["q"] and build(qrels={"q": {"a": -1}}).judged_query_ids == []  # <= 0: not relevant
    for changes, error, message in (
        ({"qrels": {"q": {"zz": 1}}}, ValueError, "qrels judge document 'zz' for query 'q', and the corpus has no such"),
        ({"qrels": {"q": {"a": "1"}}}, TypeError, r"qrels\['q'\]\['a'\]='1' must be an int"),
        ({"qrels": {"q": [("a", 1)]}}, TypeError, r"qrels\['q'\] must be a dict \{doc id: gain\}, got list"),
        ({"qrels": {"q": {"a": 1.5}}}, TypeError, r"qrels\['q'\]\['a'\]=1.5 must be an int"),
        ({"qrels": [("q", "a", 1)]}, TypeError, "qrels must be a dict"),
        ({"doc_texts": [None]}, TypeError, r"document texts\[0\] must be a str"),
        ({"doc_titles": ["one", "two"]}, ValueError, "1 documents but 2 titles"),
    ):
        with pytest.raises(error, match=message):
            build(**changes)


def test_label_budget_refuses_bad_counts_seeds_and_sizes_by_name():
    from splade_helpers.label_budget import intervals_on_n_queries

    a, b = np.linspace(0, 1, 20), np.linspace(0.1, 0.9, 20)
    for kwargs, error, message in (({"ns": 3}, TypeError, "ns=3 must be a list of query counts"),
                                   ({"ns": []}, ValueError, "ns is empty"),
                                   ({"ns": [5], "seed": -1}, ValueError, "seed=-1 must be an int >= 0"),
                                   ({"ns": [5], "n_boot": 10**12}, ValueError, "n_boot=1000000000000 must be an int between"),
                                   ({"ns": [5], "draws": 10**9}, ValueError, "draws=1000000000 must be an int between")):
        with pytest.raises(error, match=message):
            intervals_on_n_queries(a, b, **kwargs)


def test_a_store_refuses_what_its_engine_would_answer_wrongly(tmp_path, splade, dense):
    """Unicode-digit ids reopen; a path below a file is refused before encoding; query vectors with negative
    weights or term ids beyond the model's vocabulary are refused; texts and titles are not zip-truncated."""
    with q.open_store(tmp_path, "u", engine="edge", splade=splade, dense=dense) as store:
        store.index(["①", "2", "10"], ["wing flutter", "heat transfer", "shock waves"])
    with q.open_store(tmp_path, "u", engine="edge", splade=splade, dense=dense) as store:
        assert store.doc_ids == ["2", "10", "①"]
        v = store.query_vectors(["flutter"], kinds="splade")["splade"][0]  # one kind, as a string
        with pytest.raises(ValueError, match="splade query vector has a negative weight"):
            store.search("splade", q.SparseVec(v.indices, [-x for x in v.values]))
        with pytest.raises(ValueError, match="term id 40000; this store's model has 30,522 terms"):
            store.search("splade", q.SparseVec([40000], [1.0]))
        with pytest.raises(ValueError, match="3 document ids but 1 texts"):
            store.holds(["①", "2", "10"], ["only one"])
        with pytest.raises(ValueError, match="3 document ids but 1 titles"):
            store.index(["①", "2", "10"], ["a", "b", "c"], titles=["one"])
        assert not store.holds(["①", "2", "10"], (t for t in ["WRONG"] * 3))  # a generator of texts is read, not lost
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="notes.txt' is a file, so no folder can be made inside it"):
        q.open_store(tmp_path / "notes.txt" / "sub", "c", engine="edge", splade=splade, dense=dense)
    with pytest.raises(ValueError, match="path='' names no folder"):
        q.open_store("", "c", engine="edge", splade=splade, dense=dense)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_evaluate_refuses_an_empty_json_path(capsys):
    assert evaluate_main(["--dataset", "mini", "--retrievers", "bm25", "--json", ""]) == 2
    assert "--json='' must be a path" in capsys.readouterr().err


def test_small_helpers_refuse_what_they_would_misread():
    """match_contributions, the article's formula, cranfield_gain, format_table and setup_course, by name."""
    from splade_helpers.article import article_hybrid_score

    vocab = ["a", "b", "c"]
    assert sh.match_contributions(np.array([1.0, 1.0, 0.0]), np.array([2.0, 0.0, 1.0]), vocab) == [("a", 1.0, 2.0, 2.0)]
    with pytest.raises(ValueError, match="query holds the weight nan"):
        sh.match_contributions(np.array([np.nan, 1.0, 1.0]), np.ones(3), vocab)
    with pytest.raises(ValueError, match="doc has 4 columns; this model's vectors have 3"):
        sh.match_contributions(np.ones(3), np.ones(4), vocab)
    good = {"dense": [1.0, 0.0], "sparse": {"indices": [1, 2], "values": [0.5, 1.0]}}
    assert article_hybrid_score(good, good) == pytest.approx(0.7 + 0.3 * 1.25 / 3)
    for bad, error, message in (
        ({"dense": [1.0, 0.0], "sparse": {"indices": [1, 2, 3], "values": [0.5, 1.0]}}, ValueError, "3 term ids but 2 weights"),
        ({"dense": [1.0, 0.0], "sparse": {"indices": [1, 1], "values": [0.5, 1.0]}}, ValueError, "repeats term id 1"),
        ({"dense": [np.nan, 0.0], "sparse": {"indices": [1], "values": [0.5]}}, ValueError, "finite numbers"),
        ({"dense": [1.0, 0.0, 3.0], "sparse": {"indices": [1], "values": [0.5]}}, ValueError, "has 2 numbers and doc_repr"),
        ({"dense": [1.0, 0.0]}, TypeError, "doc_repr must be a dict"),
    ):
        with pytest.raises(error, match=message):
            article_hybrid_score(good, bad)
    assert [sh.cranfield_gain(c) for c in (1, 4, -1)] == [4, 1, 0]
    for code in (True, 1.0):
        with pytest.raises(TypeError, match=f"code={code!r} must be an int"):
            sh.cranfield_gain(code)
    with pytest.raises(TypeError, match="rows\\[0\\] must be a row of compare_retrievers"):
        sh.format_table([{"a": 1}])
    with pytest.raises(TypeError, match="seed=1.5 must be an int"):
        sh.setup_course(1.5)
    with pytest.raises(TypeError, match="fast_start='no' must be True or False"):
        sh.setup_course(fast_start="no")
