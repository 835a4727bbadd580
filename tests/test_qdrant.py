"""Qdrant storage on both engines: Qdrant Edge (in process) and qdrant-client (local mode here, a server in production)."""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import qdrant_edge as qe
from qdrant_client import models

import splade_helpers as sh
from splade_helpers import folders
from splade_helpers import qdrant as q
from splade_helpers.evaluation import compare_retrievers
from splade_helpers.fusion import fuse_lists, top_k

ENGINES = ["edge", "local"]
DOCS = {"a": "Wing flutter at transonic speed.", "b": "Heat transfer in a laminar boundary layer.",
        "c": "The fuel cost of long flights."}


@pytest.fixture()
def store_of(tmp_path, splade, dense):
    """Open stores on either engine (Edge in a private folder, local mode in memory); closed afterwards."""
    opened = []

    def make(engine, collection="c", **kwargs):
        path = tmp_path / "db" if engine == "edge" else None
        store = q.open_store(path, collection, engine=engine, splade=splade, dense=dense, **kwargs)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def test_point_ids_are_uuid5_of_the_document_id():
    assert q.point_id("42") == q.point_id("42") != q.point_id("43")
    assert uuid.UUID(q.point_id("doc/with spaces")).version == 5
    with pytest.raises(TypeError):
        q.point_id(42)


def test_the_engine_is_chosen_by_argument_or_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("QDRANT_URL", raising=False)
    assert q.default_engine() == "edge"
    with q.open_store(tmp_path / "e") as store:
        assert isinstance(store, q.EdgeStore)
    with q.open_store(engine="local") as store:
        assert isinstance(store, q.ClientStore) and store.is_local_mode
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:1")
    assert q.default_engine() == "server"
    with pytest.raises(ConnectionError, match="unreachable.*unset QDRANT_URL"):
        q.open_store()
    with pytest.raises(ValueError, match="engine='cloud' is not supported"):
        q.open_store(engine="cloud")


@pytest.mark.parametrize("engine", ENGINES)
def test_create_is_an_explicit_choice(store_of, engine):
    store = store_of(engine)
    assert store.create() is True
    with pytest.raises(ValueError, match="already exists; pass if_exists='reuse'"):
        store.create()
    assert store.create(if_exists="reuse") is False
    assert store.create(if_exists="recreate") is True
    with pytest.raises(ValueError, match="if_exists='keep' is not supported"):
        store.create(if_exists="keep")


@pytest.mark.parametrize("engine", ENGINES)
def test_loading_the_same_documents_again_updates_them(store_of, engine):
    store = store_of(engine)
    for if_exists in ("recreate", "reuse"):
        assert store.index(list(DOCS), list(DOCS.values()), ["A", "B", "C"], if_exists=if_exists, batch_size=2) == 3
    assert store.count() == 3 and store.doc_ids == ["a", "b", "c"]
    vectors = store.query_vectors(["flutter of a wing"])
    assert store.search("splade", vectors["splade"][0], limit=1)[0][0] == "a"
    changed = dict(DOCS, c="Flutter of wings and flutter of tails.")
    store.index(list(changed), list(changed.values()), if_exists="reuse")
    assert store.count() == 3 and store.holds(list(changed), list(changed.values()))
    assert not store.holds(list(DOCS), list(DOCS.values()))


def test_validation_happens_before_the_engine(store_of, monkeypatch):
    import scipy.sparse as sparse

    dense = np.full((3, 4), 0.5)
    rows = sparse.csr_matrix(np.array([[0, 1.0, 0, 2.0], [0.5, 0, 0, 0], [0, 0, 3.0, 0]]))
    bm25 = [(np.array([1]), np.array([1.0]))] * 3
    bad = dense.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="dense vector of document 'b' contains inf"):
        list(q.iter_points(["a", "b", "c"], ["x"] * 3, bad, rows, bm25))
    with pytest.raises(ValueError, match="repeats index 7"):
        q.check_sparse([7, 2, 7], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="non-integer index"):
        q.check_sparse([1.5], [1.0])
    with pytest.raises(ValueError, match=r"indices must be in \[0, 2\*\*32\)"):
        q.check_sparse([-1], [1.0])
    with pytest.raises(ValueError, match="duplicate document id 'a'"):
        list(q.iter_points(["a", "b", "a"], ["x"] * 3, dense, rows, bm25))
    with pytest.raises(ValueError, match="3 document ids but 2 texts"):
        list(q.iter_points(["a", "b", "c"], ["x"] * 2, dense, rows, bm25))
    for field in ("doc_id", "title", "text", "splade_sum"):  # the text would no longer be what the vectors encode
        with pytest.raises(ValueError, match=f"extra\\[0\\] sets \\['{field}'\\], which the store writes itself"):
            list(q.iter_points(["a", "b", "c"], ["x"] * 3, dense, rows, bm25, extra=[{field: "z"}] * 3))
    assert q.plain({"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(2)}) == {"n": 3, "x": 0.5, "v": [0, 1]}
    with pytest.raises(ValueError, match="payload.score is nan"):
        q.plain({"score": float("nan")})
    with pytest.raises(TypeError, match="payload.when has a object"):
        q.plain({"when": object()})
    store = store_of("edge")
    store.index(list(DOCS), list(DOCS.values()))
    with pytest.raises(ValueError, match="query vector has 3 dimensions; the collection's 'dense' vectors have 384"):
        store.search("dense", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="using='sparse' is not supported"):
        store.search("sparse", [1.0])
    with pytest.raises(TypeError, match="must be a sparse vector"):
        store.search("splade", [1.0, 2.0])
    with pytest.raises(ValueError, match="limit=0 must be an int between 1 and"):
        store.search("bm25", q.SparseVec([1], [1.0]), limit=0)
    assert store.search("splade", q.SparseVec([], [])) == []
    with pytest.raises(TypeError, match="is not a Match, MatchText or Range"):
        store.search("bm25", q.SparseVec([1], [1.0]), filter=[{"title": "x"}])
    # points made by hand are checked too, and a refusal after written batches says what was written
    point = q.StoredPoint(q.point_id("raw"), {"dense": [float("nan")] * 384}, {"doc_id": "raw"})
    with pytest.raises(ValueError, match="dense vector of document 'raw' contains nan"):
        store.upsert([point])
    negative = q.StoredPoint(q.point_id("neg"), {"splade": q.SparseVec([1, 2], [-1.0, 2.0])}, {"doc_id": "neg"})
    with pytest.raises(ValueError, match="splade vector of document 'neg' has a negative weight \\(-1\\)"):
        store.upsert([negative])
    good = [q.StoredPoint(q.point_id(d), {"splade": q.SparseVec([1], [1.0])}, {"doc_id": d}) for d in ("x1", "x2", "x3")]
    before = store.count()
    with pytest.raises(ValueError, match="2 points had been written .*; the 1 after them were not sent.* run the same call again"):
        store.upsert([*good, point], batch_size=2)
    assert store.count() == before + 2  # what the message says
    p0, p1 = store.fetch(["a", "b"])  # a hand-made point must be the document it names, under its own id
    with pytest.raises(ValueError, match="carries doc_id 'b', whose point id is"):
        store.upsert([q.StoredPoint(p0.id, p0.vectors, dict(p1.payload))])
    for payload in ({}, {"text": "x"}):
        with pytest.raises(ValueError, match="has no payload doc_id"):
            store.upsert([q.StoredPoint(p0.id, p0.vectors, payload)])
    with pytest.raises(TypeError, match="payload of document 'a'"):
        store.upsert([q.StoredPoint(p0.id, p0.vectors, {**p0.payload, "when": object()})])
    real = store.splade.encode_documents  # an encoder gone wrong is refused whole, before the first write

    def broken(texts, **kwargs):
        m = real(texts, **kwargs).tolil()
        m[1, 5] = -0.5
        return m.tocsr()

    monkeypatch.setattr(store.splade, "encode_documents", broken)
    held = store.count()
    with pytest.raises(ValueError, match="splade vector of document 'b' has the weight -0.5.*Nothing was written"):
        store.index(list(DOCS), list(DOCS.values()), if_exists="recreate")
    assert store.count() == held


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_document_is_stored_counted_by_bm25_and_never_matched(store_of, engine):
    texts = ["flutter of wings", "flutter tests", "", "wing design"]
    ids = ["a", "b", "c", "d"]
    store = store_of(engine)
    store.index(ids, texts)
    assert store.count() == 4
    dense = store.query_vectors(["flutter"])["dense"][0]
    assert "c" not in [d for d, _ in store.search("dense", dense, limit=10)]
    memory = sh.BM25Retriever().index(ids, texts).search(["flutter wing"])[0]
    got = store.search("bm25", store.query_vectors(["flutter wing"])["bm25"][0], limit=10)
    assert dict(got) == pytest.approx(dict(memory), abs=1e-5)  # N = 4 in IDF, as in bm25s


def test_a_second_open_of_an_edge_folder_is_refused_with_its_name(tmp_path, splade, dense):
    first = q.EdgeStore(tmp_path / "db", "c", splade=splade, dense=dense)
    first.index(list(DOCS), list(DOCS.values()))
    try:
        with pytest.raises(q.FolderLockedError, match=re.escape(str(tmp_path / "db" / "c")) + ".*already open"):
            q.EdgeStore(tmp_path / "db", "c")
        other = subprocess.run([sys.executable, "-c", "from splade_helpers import qdrant as q; import sys; "
                                "q.EdgeStore(sys.argv[1], 'c')", str(tmp_path / "db")], capture_output=True, text=True)
        assert other.returncode != 0 and "already open" in other.stderr and "store.close()" in other.stderr
    finally:
        first.close()
    again = q.EdgeStore(tmp_path / "db", "c")  # free once closed
    assert again.doc_ids == ["a", "b", "c"] and again.count() == 3
    again.close()


def test_a_second_client_on_a_local_mode_folder_gets_an_explanation(tmp_path):
    first = q.local_client(tmp_path / "db")
    try:
        with pytest.raises(RuntimeError, match="locked by another client.*client.close"):
            q.local_client(tmp_path / "db")
    finally:
        first.close()
    q.local_client(tmp_path / "db").close()


def test_an_edge_collection_survives_close_and_reopen(tmp_path, mini, splade, dense):
    store = q.EdgeStore(tmp_path / "db", "mini", splade=splade, dense=dense)
    store.index(mini.doc_ids, mini.doc_texts, mini.doc_titles)
    vectors = store.query_vectors(mini.query_texts[:3])
    before = [store.hybrid_search({"dense": vectors["dense"][i], "splade": vectors["splade"][i]}) for i in range(3)]
    store.close()
    with pytest.raises(ValueError, match="closed"):
        store.count()
    reopened = q.EdgeStore(tmp_path / "db", "mini", splade=splade, dense=dense)
    try:
        assert reopened.count() == 52 and set(reopened.doc_ids) == set(mini.doc_ids)
        after = [reopened.hybrid_search({"dense": vectors["dense"][i], "splade": vectors["splade"][i]}) for i in range(3)]
        assert [[d for d, _ in h] for h in after] == [[d for d, _ in h] for h in before]
    finally:
        reopened.close()


def test_a_model_folder_is_not_a_place_for_collections(tmp_path, capsys):
    from splade_helpers.qdrant.__main__ import main as load_main

    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights")
    before = sorted(f.name for f in model.iterdir())
    with pytest.raises(ValueError, match="is a model folder: anything written there would change the model"):
        q.EdgeStore(model)
    with pytest.raises(ValueError, match="lies inside .*my-model', which is a model folder"):
        q.open_store(model / "qdrant-data", "c", engine="edge")
    with pytest.raises(ValueError, match="is a model folder"):
        q.open_store(model, "c", engine="local")
    for path in (model, model / "qdrant-data"):
        assert load_main(["--dataset", "mini", "--path", str(path)]) == 2
        assert "a model folder" in capsys.readouterr().err
    assert sorted(f.name for f in model.iterdir()) == before
    st_model = tmp_path / "st-model"  # a sentence-transformers folder: modules.json beside its own config
    st_model.mkdir()
    (st_model / "modules.json").write_text("[]")
    (st_model / "config_sentence_transformers.json").write_text("{}")
    with pytest.raises(ValueError, match="lies inside .*st-model', which is a model folder"):
        q.open_store(st_model / "qdrant-data", "c", engine="edge")
    assert sorted(f.name for f in st_model.iterdir()) == ["config_sentence_transformers.json", "modules.json"]
    project = tmp_path / "project"  # a folder with a config.json of its own (no weights) is not a model
    project.mkdir()
    (project / "config.json").write_text("{}")
    q.EdgeStore(project / "qdrant-data").close()


def test_a_temporary_edge_store_deletes_its_folder_on_close(splade, dense):
    store = q.EdgeStore(splade=splade, dense=dense)
    store.index(list(DOCS), list(DOCS.values()))
    assert store.root.is_dir()
    store.close()
    assert not store.root.exists()


def test_without_a_write_ahead_log_the_folder_is_smaller_and_still_durable(tmp_path, mini, splade, dense):
    apparent, allocated = {}, {}
    for wal in (True, False):
        folder = tmp_path / f"wal-{wal}"
        store = q.EdgeStore(folder, "mini", wal=wal, splade=splade, dense=dense)
        store.index(mini.doc_ids, mini.doc_texts)
        store.close()
        files = [f.stat() for f in folder.rglob("*") if f.is_file()]
        apparent[wal], allocated[wal] = sum(f.st_size for f in files), sum(f.st_blocks * 512 for f in files)
        assert (folder / "mini" / "wal").is_dir() == wal
        reopened = q.EdgeStore(folder, "mini")
        assert reopened.count() == 52  # index() flushed: durable without the log too
        reopened.close()
    assert apparent[True] - apparent[False] >= 60e6  # the log's two preallocated 32 MB files
    assert allocated[True] < apparent[True] / 50  # preallocated files are sparse: little real disk use


def _raw_edge_folder(folder, dense_dim=384, bm25_idf=True, layout=True):
    """A folder made with qdrant_edge directly: what a user might point the course at."""
    folder.mkdir(parents=True)
    bm25 = qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) if bm25_idf else qe.EdgeSparseVectorParams()
    shard = qe.EdgeShard.create(str(folder), qe.EdgeConfig(
        vectors={"dense": qe.EdgeVectorParams(size=dense_dim, distance=qe.Distance.Cosine)},
        sparse_vectors={"splade": qe.EdgeSparseVectorParams(), "bm25": bm25}))
    shard.close()
    if layout:
        (folder / "splade_helpers.json").write_text(json.dumps(q.Layout(384).metadata()))


def test_reusing_an_edge_folder_checks_its_whole_layout(tmp_path, splade, dense):
    _raw_edge_folder(tmp_path / "db" / "other", layout=False)
    store = q.EdgeStore(tmp_path / "db", "other", splade=splade, dense=dense)
    with pytest.raises(ValueError, match="not made by splade_helpers.*if_exists='recreate'"):
        store.index(list(DOCS), list(DOCS.values()), if_exists="reuse")
    store.close()
    _raw_edge_folder(tmp_path / "db" / "no-idf", bm25_idf=False)
    with pytest.raises(ValueError, match='does not have the course\'s layout.*"bm25"'):
        q.EdgeStore(tmp_path / "db", "no-idf")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "c").mkdir()
    (tmp_path / "plain" / "c" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty and holds no Qdrant Edge collection"):
        q.EdgeStore(tmp_path / "plain", "c", splade=splade, dense=dense).index(["a"], ["x"])
    assert (tmp_path / "plain" / "c" / "notes.txt").read_text() == "mine"  # never deleted


def test_reusing_a_client_collection_checks_its_whole_layout(splade, dense):
    client = q.local_client()
    layout = q.Layout(384, splade.source.name, dense.source.name, {"k1": 1.5, "b": 0.75}).metadata()
    cases = {
        "dot": ({"dense": models.VectorParams(size=384, distance=models.Distance.DOT)},
                {"splade": models.SparseVectorParams(), "bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
                layout, "dense distance is Dot"),
        "no-idf": ({"dense": models.VectorParams(size=384, distance=models.Distance.COSINE)},
                   {"splade": models.SparseVectorParams(), "bm25": models.SparseVectorParams()},
                   layout, "lacks the IDF modifier"),
        "other-model": ({"dense": models.VectorParams(size=384, distance=models.Distance.COSINE)},
                        {"splade": models.SparseVectorParams(), "bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
                        dict(layout, splade_model="naver/splade-v3"), "splade_model is 'naver/splade-v3'"),
        "foreign": ({"dense": models.VectorParams(size=384, distance=models.Distance.COSINE)},
                    {"splade": models.SparseVectorParams(), "bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
                    None, "not made by splade_helpers"),
    }
    for name, (vectors, sparse, metadata, message) in cases.items():
        client.create_collection(name, vectors_config=vectors, sparse_vectors_config=sparse, metadata=metadata)
        store = q.ClientStore(client, name, splade=splade, dense=dense)
        with pytest.raises(ValueError, match=re.escape(message)):
            store.index(list(DOCS), list(DOCS.values()), if_exists="reuse")
        assert client.count(name).count == 0  # nothing written


@pytest.mark.parametrize("engine", ENGINES)
def test_loading_another_dataset_into_a_collection_is_refused(store_of, mini, engine):
    store = store_of(engine)
    store.index(mini.doc_ids, mini.doc_texts)
    with pytest.raises(ValueError, match="holds 52 documents that are not in this load.*stay searchable"):
        store.index(list(DOCS), list(DOCS.values()), if_exists="reuse")
    assert store.count() == 52
    with pytest.raises(ValueError, match="holds 52 documents, which are not the 3 asked for"):
        store.score_matrix("bm25", ["flutter"], doc_ids=list(DOCS))
    store.index(list(DOCS), list(DOCS.values()), if_exists="recreate")
    assert store.count() == 3


def test_evaluate_an_existing_store_as_it_is(mini, splade, dense, monkeypatch):
    from splade_helpers.datasets import Dataset
    from splade_helpers.evaluation.compare import hybrid_label

    store = q.EdgeStore(collection="mini", splade=splade, dense=dense)
    store.index(mini.doc_ids, mini.doc_texts, mini.doc_titles)
    monkeypatch.setattr(store, "index", lambda *a, **k: pytest.fail("the store was re-indexed"))
    monkeypatch.setattr(store, "score_matrix", lambda *a, **k: pytest.fail("evaluation asked for every document's score"))
    memory = {r["retriever"]: r for r in compare_retrievers(mini)}
    through = {r["retriever"]: r for r in compare_retrievers(mini, backend=store)}
    assert list(through) == ["bm25", "splade", "dense", hybrid_label("engine"), hybrid_label("memory")]
    for name, other in (("bm25", "bm25"), ("splade", "splade"), ("dense", "dense"), (hybrid_label("memory"), "hybrid")):
        for metric in ("nDCG@10", "R@100", "MRR@10"):
            assert through[name][metric] == pytest.approx(memory[other][metric], abs=1e-9), (name, metric)
    ten = set(mini.doc_ids[:10])  # a Dataset's qrels judge documents of its corpus
    fewer = Dataset("mini-10", mini.doc_ids[:10], mini.doc_texts[:10], mini.query_ids, mini.query_texts,
                    {q: {d: g for d, g in judged.items() if d in ten} for q, judged in mini.qrels.items()})
    with pytest.raises(ValueError, match="holds 52 documents that are not the 10 given"):
        compare_retrievers(fewer, backend=store)
    assert store.count() == 52  # untouched
    with pytest.raises(TypeError, match="use one of .* or a QdrantStore"):
        compare_retrievers(mini, backend=object())
    with pytest.raises(ValueError, match="backend='elastic' is not supported"):
        compare_retrievers(mini, backend="elastic")
    store.close()


def test_the_engine_runs_each_top_k_and_the_hybrid_as_computed_in_memory(mini, splade, dense):
    """What evaluation through an engine runs: the engine's own top k, and its DBSF over each top 100, equal (ties as
    sets) to the in-memory retrievers' top k and to sh.fuse_lists over their top-100 lists."""
    memory = {n: r.index(mini.doc_ids, mini.doc_texts) for n, r in
              {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}.items()}
    with q.EdgeStore(collection="mini", splade=splade, dense=dense) as store:
        engine = q.qdrant_retrievers(store)
        for r in engine.values():
            r.index(mini.doc_ids, mini.doc_texts)
        top100 = {n: memory[n].search(mini.query_texts, 100) for n in memory}
        for n in memory:
            for got, expected in zip(engine[n].search(mini.query_texts, 10), top100[n]):
                assert same_ranking(got, expected[:10]), n
        fused = engine["hybrid"].search(mini.query_texts, 10)
        for i, got in enumerate(fused):
            expected = sh.fuse_lists([top100[n][i] for n in ("dense", "bm25", "splade")], "dbsf", limit=10)
            assert same_ranking(got, expected), mini.query_ids[i]
        assert engine["hybrid"].search([""], 10) == [[]]
        with pytest.raises(ValueError, match="not a score for every document"):
            engine["hybrid"].scores(["wing"])
        with pytest.raises(ValueError, match="fusion='formula'"):
            q.QdrantHybrid(store, fusion="formula")


def test_text_filters_match_words(store_of, cranfield):
    """Qdrant's MatchText on Edge matches whole words, case-insensitively (a full-text match)."""
    store = store_of("edge")
    store.index(cranfield.doc_ids[:300], cranfield.doc_texts[:300], cranfield.doc_titles[:300])
    dense = store.query_vectors(["flutter"])["dense"][0]
    got = {d for d, _ in store.search("dense", dense, limit=300, filter=q.MatchText("title", "Flutter"))}
    words = {d for d, t in zip(cranfield.doc_ids[:300], cranfield.doc_titles[:300]) if "flutter" in re.findall(r"\w+", t.lower())}
    assert got == words and len(words) > 3


def test_optimize_removes_deleted_points_from_bm25_idf(cranfield, splade, dense):
    store = q.EdgeStore(collection="idf", splade=splade, dense=dense)
    store.index(cranfield.doc_ids, cranfield.doc_texts)
    term = "flutter"
    (ids, weights) = store.bm25.query(term)
    doc_vectors = dict(zip(cranfield.doc_ids, store.bm25.transform(cranfield.doc_texts)))

    def idf_seen():
        (d, s), *_ = store.search("bm25", q.SparseVec(ids.tolist(), weights.tolist()), limit=1)
        return s / float(doc_vectors[d][1][list(doc_vectors[d][0]).index(ids[0])])

    def idf(n_docs, keep):
        df = sum(term in sh.analyze([cranfield.doc(d)])[0] for d in keep)
        return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))

    assert idf_seen() == pytest.approx(idf(1400, cranfield.doc_ids), rel=1e-5)
    store.delete(cranfield.doc_ids[:400])
    assert store.count() == 1000
    assert idf_seen() == pytest.approx(idf(1400, cranfield.doc_ids), rel=1e-5)  # deleted points still count
    assert store.optimize() is True
    assert idf_seen() == pytest.approx(idf(1000, cranfield.doc_ids[400:]), rel=1e-5)
    store.close()


# --- all of Cranfield, every query type, Edge == in memory == local mode ---------------------------


def same_ranking(a, b, atol=1e-4):
    """``a`` ranks the same documents as ``b`` in the same order, scores within tolerance.

    Documents whose scores tie within the tolerance may come in either order (Qdrant's RRF orders
    ties differently from call to call), and where a tie straddles the cut-off either may be kept.
    """
    if len(a) != len(b):
        return False
    if not b:
        return True
    sa, sb = dict(a), dict(b)
    tol = lambda s: atol * max(1.0, abs(s))  # noqa: E731
    if any(abs(sa[d] - sb[d]) > tol(sb[d]) for d in sa.keys() & sb.keys()):
        return False
    last = b[-1][1]
    if any(abs(sa.get(d, sb.get(d)) - last) > tol(last) for d in sa.keys() ^ sb.keys()):
        return False
    shared = [sb[d] for d, _ in a if d in sb]
    return all(x >= y - tol(y) for x, y in zip(shared, shared[1:]))


def rrf_consistent(got, lists, k, weights=None, limit=10, depth=100, atol=1e-4):
    """``got`` is an RRF fusion of ``lists`` for *some* order of their tied scores.

    A tie (scores within ``atol``) may come in any order in an engine's prefetch, and RRF turns the
    order into different scores; so each document gets the lowest and highest score it can reach,
    and ``got`` must respect them: every returned score within its bounds, best first, and no
    document left out whose lowest possible score beats the last one returned.
    """
    weights = weights or [1.0] * len(lists)
    lo, hi = {}, {}
    for lst, w in zip(lists, weights):
        scores = [x for _, x in lst]
        for d, x in lst:
            group = [r for r, t in enumerate(scores, 1) if abs(t - x) <= atol * max(1.0, abs(x))]
            open_end = len(lst) == depth and group[-1] == len(lst)  # the tie may continue past the cut-off
            lo[d] = lo.get(d, 0.0) + (0.0 if open_end else 1 / (k + group[-1] / w))
            hi[d] = hi.get(d, 0.0) + 1 / (k + group[0] / w)
    tol = 1e-5
    if len(got) != min(limit, len(lo)) and not any(len(lst) == depth for lst in lists):
        return False
    for d, x in got:
        if d not in lo:  # only possible through a tie at a cut-off
            if not any(len(lst) == depth for lst in lists):
                return False
            continue
        if not lo[d] - tol <= x <= hi[d] + tol:
            return False
    if any(a[1] < b[1] - tol for a, b in zip(got, got[1:])):
        return False
    returned, last = {d for d, _ in got}, (got[-1][1] if got else 0.0)
    return not any(lo[d] > last + tol for d in lo if d not in returned)


def test_the_tie_aware_rrf_check_can_fail():
    a = [("x", 3.0), ("y", 2.0), ("z", 2.0)]
    b = [("y", 9.0), ("x", 1.0)]
    right = fuse_lists([a, b], "rrf", rrf_k=1)
    assert rrf_consistent(right, [a, b], k=1)
    assert not rrf_consistent(fuse_lists([a, b], "rrf", rrf_k=60), [a, b], k=1)  # another constant
    assert not rrf_consistent(right[:2], [a, b], k=1)  # a document left out
    assert not rrf_consistent(right[::-1], [a, b], k=1)  # order reversed
    swapped = fuse_lists([[("x", 3.0), ("z", 2.0), ("y", 2.0)], b], "rrf", rrf_k=1)  # y and z tie in a: either order is fine
    assert rrf_consistent(swapped, [a, b], k=1)


def _lists(scores, doc_ids, rows, depth, sparse, allowed=None):
    out = []
    for i in rows:
        s = scores[i] if allowed is None else np.where(allowed, scores[i], -np.inf)
        order = top_k(np.nan_to_num(s[None, :], neginf=-1e9), depth)[0]
        keep = [j for j in order if (not sparse or s[j] > 0) and (allowed is None or allowed[j])]
        out.append([(doc_ids[j], float(scores[i][j])) for j in keep])
    return out


@pytest.fixture(scope="module")
def cranfield_stores(cranfield, splade, dense):
    lengths = [{"length": len(t.split())} for t in cranfield.doc_texts]
    stores = {}
    for engine in ENGINES:
        store = q.open_store(None, "cranfield", engine=engine, splade=splade, dense=dense)
        assert store.index(cranfield.doc_ids, cranfield.doc_texts, cranfield.doc_titles, extra=lengths) == 1400
        stores[engine] = store
    yield stores
    for s in stores.values():
        s.close()


def test_every_query_type_is_equal_on_edge_in_memory_and_in_local_mode(cranfield, cranfield_stores, splade, dense):
    """Single vectors, RRF (Qdrant's default k, k=60 weighted), DBSF, the article's formula, a filter: Qdrant Edge on
    all 225 queries, qdrant-client's local mode (pure Python, thousands of times slower on sparse queries) on every twelfth one (19 queries; at
    every fourth, local mode took most of this test's two minutes in CI)."""
    edge, local = cranfield_stores["edge"], cranfield_stores["local"]
    vectors = edge.query_vectors(cranfield.query_texts)
    memory = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    scores = {n: r.index(cranfield.doc_ids, cranfield.doc_texts).scores(cranfield.query_texts) for n, r in memory.items()}
    rows = range(len(cranfield.query_ids))
    lists = {n: _lists(scores[n], cranfield.doc_ids, rows, 100, n != "dense") for n in scores}
    allowed = np.array([100 <= len(t.split()) <= 200 for t in cranfield.doc_texts])
    filtered = {n: _lists(scores[n], cranfield.doc_ids, rows, 100, n != "dense", allowed) for n in ("dense", "bm25")}
    q_sums = np.asarray(splade.encode_queries(cranfield.query_texts).sum(axis=1)).ravel()
    d_sums = np.asarray(splade.encode_documents(cranfield.doc_texts).sum(axis=1)).ravel()
    column = {d: j for j, d in enumerate(cranfield.doc_ids)}
    ds = {"dense": None, "splade": None}
    cases = {
        "rrf, Qdrant's default k": (ds, {"fusion": "rrf", "rrf_k": 1}),
        "rrf k=60, weighted": ({"dense": None, "bm25": None}, {"fusion": "rrf", "rrf_k": 60, "weights": [0.65, 0.35]}),
        "dbsf": ({"dense": None, "bm25": None}, {"fusion": "dbsf"}),
        "formula": (ds, {"fusion": "formula", "alpha": 0.7}),
        "rrf, filtered": ({"dense": None, "bm25": None}, {"fusion": "rrf", "rrf_k": 1, "filter": q.Range("length", 100, 200)}),
    }
    engines = lambda i: (("edge", edge), ("local", local)) if i % 12 == 0 else (("edge", edge),)  # noqa: E731
    mismatches = []
    for i, qid in enumerate(cranfield.query_ids):
        for using in ("bm25", "splade", "dense"):
            got = {e: s.search(using, vectors[using][i], limit=100) for e, s in engines(i)}
            for e, hits in got.items():
                if not same_ranking(hits, lists[using][i]):
                    mismatches.append((qid, using, e))
        for name, (names, kwargs) in cases.items():
            query = {n: vectors[n][i] for n in names}
            source = filtered if "filter" in kwargs else lists
            if kwargs["fusion"] == "formula":
                # a document outside a prefetch list gets that score's default, 0 (Qdrant's `defaults`)
                dense_in, splade_in = dict(lists["dense"][i]), dict(lists["splade"][i])
                expected = sorted(((d, 0.7 * dense_in.get(d, 0.0) + 0.3 * splade_in.get(d, 0.0) / (q_sums[i] + d_sums[column[d]]))
                                   for d in dense_in.keys() | splade_in.keys()), key=lambda x: -x[1])[:10]
            else:
                parts = [source[n][i] for n in names]
                expected = fuse_lists(parts, kwargs["fusion"], limit=10, rrf_k=kwargs.get("rrf_k", 60), weights=kwargs.get("weights"))
            for e, s in engines(i):
                got = s.hybrid_search(query, limit=10, prefetch_limit=100, **kwargs)
                if kwargs["fusion"] == "rrf":  # ties in a prefetch list may come in any order
                    ok = rrf_consistent(got, [source[n][i] for n in names], kwargs["rrf_k"], kwargs.get("weights"))
                else:
                    ok = same_ranking(got, expected)
                if not ok:
                    mismatches.append((qid, name, e))
    assert not mismatches, mismatches[:10]


def test_evaluate_through_edge_prints_the_in_memory_metrics_and_the_engine_s_hybrid():
    def table(backend):
        proc = subprocess.run([sys.executable, "-m", "splade_helpers.evaluation", "--dataset", "cranfield", "--backend", backend],
                              capture_output=True, text=True, timeout=900, env=os.environ.copy())
        assert proc.returncode == 0, proc.stderr[-2000:]
        rows = {}
        for line in proc.stdout.splitlines()[3:]:  # after the title, the header and its rule
            if ":" in line:  # the note under an engine's table
                break
            label, *numbers = line.rsplit(None, 4)
            rows[label] = numbers[:3]  # the three metrics, not the encoding time
        return rows

    memory, edge = table("memory"), table("edge")
    assert list(memory) == ["bm25", "splade", "dense", "hybrid"]
    assert list(edge) == ["bm25", "splade", "dense", "hybrid (engine dbsf)", "hybrid (memory minmax)"]
    assert [edge[n] for n in ("bm25", "splade", "dense", "hybrid (memory minmax)")] == [memory[n] for n in memory]


def _kill_after_acknowledged(cmd: list[str], points: int) -> tuple[int, subprocess.Popen]:
    """Run a load that prints "upserted N" per acknowledged batch; SIGKILL it once N >= points."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    acknowledged = 0
    try:
        for line in proc.stdout:
            if line.startswith("upserted"):
                acknowledged = int(line.split()[1])
                if acknowledged >= points:
                    proc.send_signal(signal.SIGKILL)
                    break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return acknowledged, proc


def test_a_load_killed_mid_way_keeps_every_acknowledged_point_and_a_rerun_finishes_it(tmp_path, cranfield, splade, dense):
    folder = tmp_path / "qdrant"
    cmd = [sys.executable, "-m", "splade_helpers.qdrant", "--dataset", "cranfield", "--path", str(folder), "--engine", "edge",
           "--batch-size", "20", "--throttle", "0.05"]
    acknowledged, proc = _kill_after_acknowledged(cmd, 200)
    assert proc.returncode == -signal.SIGKILL  # it died mid-way, between or during writes
    store = q.EdgeStore(folder, "course")
    kept = store.count()
    store.close()
    assert acknowledged <= kept < 1400  # nothing acknowledged was lost
    done = subprocess.run(cmd[:-2], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    store = q.EdgeStore(folder, "course")
    try:
        assert store.count() == 1400 and set(store.doc_ids) == set(cranfield.doc_ids)
        records = {str(r.id): r for r in store._ready().retrieve([q.point_id(d) for d in cranfield.doc_ids],
                                                                 with_payload=True, with_vector=True)}
        dense_vecs = dense.encode(cranfield.doc_texts)
        splade_vecs = splade.encode_documents(cranfield.doc_texts)
        for i, d in enumerate(cranfield.doc_ids):
            vec = records[q.point_id(d)].vector
            assert records[q.point_id(d)].payload["doc_id"] == d
            if dense_vecs[i].any():
                np.testing.assert_allclose(np.asarray(vec["dense"]), dense_vecs[i] / np.linalg.norm(dense_vecs[i]), atol=1e-5)
            row = splade_vecs[i]
            assert list(vec["splade"].indices) == row.indices.tolist()
            np.testing.assert_allclose(vec["splade"].values, row.data, rtol=1e-6)
    finally:
        store.close()


def test_without_a_write_ahead_log_a_killed_load_still_keeps_every_acknowledged_batch(tmp_path, splade, dense):
    """wal=False: the engine keeps writes in memory until a flush, so each batch is flushed before on_batch hears of it."""
    folder = tmp_path / "qdrant"
    script = ("import sys, time\n"
              "import splade_helpers as sh\n"
              "from splade_helpers import qdrant as q\n"
              "ds = sh.load_dataset('mini')\n"
              "store = q.EdgeStore(sys.argv[1], 'course', wal=False)\n"
              "def report(sent):\n"
              "    print(f'upserted {sent}', flush=True)\n"
              "    time.sleep(0.3)\n"
              "store.index(ds.doc_ids, ds.doc_texts, ds.doc_titles, batch_size=5, progress=False, on_batch=report)\n")
    acknowledged, proc = _kill_after_acknowledged([sys.executable, "-c", script, str(folder)], 20)
    assert proc.returncode == -signal.SIGKILL and acknowledged >= 20
    assert not (folder / "course" / "wal").exists()  # really without a log
    store = q.EdgeStore(folder, "course", wal=False, splade=splade, dense=dense)
    try:
        assert acknowledged <= store.count() < 52  # nothing acknowledged was lost
    finally:
        store.close()


def test_the_load_command_explains_a_locked_folder(tmp_path, splade, dense):
    store = q.EdgeStore(tmp_path, "course", splade=splade, dense=dense)
    store.index(list(DOCS), list(DOCS.values()))
    try:
        proc = subprocess.run([sys.executable, "-m", "splade_helpers.qdrant", "--dataset", "mini", "--path", str(tmp_path)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and proc.stderr.startswith("error: The Qdrant Edge folder") and "Traceback" not in proc.stderr
    finally:
        store.close()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "splade_helpers.qdrant", "--dataset", "mini", "--path", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "holds 3 documents that are not in this load" in proc.stderr, proc.stderr
    assert time.perf_counter() - start < 120


@pytest.mark.parametrize("wal", [True, False])
def test_a_deletion_survives_a_process_that_dies_without_closing(tmp_path, splade, dense, wal):
    first = q.EdgeStore(tmp_path / "db", "c", wal=wal, splade=splade, dense=dense)
    first.index(list(DOCS), list(DOCS.values()))
    first.close()
    script = ("import os, sys; from splade_helpers import qdrant as q; "
              "s = q.EdgeStore(sys.argv[1], 'c', wal=sys.argv[2] == '1'); s.delete(['b']); os._exit(0)")  # no close, no flush
    died = subprocess.run([sys.executable, "-c", script, str(tmp_path / "db"), str(int(wal))], capture_output=True, text=True)
    assert died.returncode == 0, died.stderr
    again = q.EdgeStore(tmp_path / "db", "c")
    try:
        assert again.count() == 2 and sorted(again.doc_ids) == ["a", "c"]
    finally:
        again.close()


def test_a_replacement_killed_mid_way_is_cleaned_up_by_the_next_one(tmp_path, splade, dense):
    first = q.EdgeStore(tmp_path / "db", "c", splade=splade, dense=dense)
    first.index(list(DOCS), list(DOCS.values()))
    first.close()
    script = ("import json, os, sys; import splade_helpers as sh; from splade_helpers import qdrant as q; "
              "q.EdgeStore._upsert = lambda self, points: os._exit(9); "  # dies at the first write, as kill -9 would
              "s = q.EdgeStore(sys.argv[1], 'c', splade=sh.SpladeEncoder(), dense=sh.DenseEncoder()); "
              "docs = json.loads(sys.argv[2]); s.index(list(docs), list(docs.values()))")
    died = subprocess.run([sys.executable, "-c", script, str(tmp_path / "db"), json.dumps(DOCS)], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr
    left = [p for p in (tmp_path / "db").iterdir() if p.name.startswith(".c.new-")]
    assert len(left) == 1  # the half-built replacement beside the collection
    aged = time.time() - folders.STALE_AFTER_S - 60
    os.utime(left[0], (aged, aged))  # as if killed two minutes ago
    again = q.EdgeStore(tmp_path / "db", "c", splade=splade, dense=dense)
    try:
        assert again.count() == 3  # the old collection, whole
        again.index(list(DOCS), list(DOCS.values()))
        assert again.count() == 3 and not any(p.name.startswith(".c.new-") for p in (tmp_path / "db").iterdir())
    finally:
        again.close()


@pytest.mark.parametrize(("text", "locked"), [
    ("failed to open WAL /x/wal: Can't init WAL: Kind(WouldBlock)", True), ("the folder is locked", True),
    ("lock file held by pid 7", True), ("bad block in segment 3", False), ("clock went backwards", False),
    ("segment unlocked twice", False)])
def test_only_a_lock_error_is_reported_as_a_locked_folder(tmp_path, text, locked):
    from splade_helpers.qdrant.edge import _explain

    err = _explain(Exception(text), tmp_path)
    assert isinstance(err, q.FolderLockedError) is locked
    assert locked or text in str(err)
