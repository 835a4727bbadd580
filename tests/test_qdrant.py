import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import scipy.sparse as sp

import splade_helpers as sh
from splade_helpers import qdrant as q
from splade_helpers.evaluate import compare_retrievers
from splade_helpers.qdrant import models


def tiny_points(n=3, dim=4):
    dense = np.eye(n, dim) + 0.1
    splade = sp.csr_matrix(np.array([[0, 1.0, 0, 2.0], [0.5, 0, 0, 0], [0, 0, 3.0, 0]])[:n])
    return dense, splade


def test_point_ids_are_uuid5_of_the_document_id():
    assert q.point_id("42") == q.point_id("42") != q.point_id("43")
    assert uuid.UUID(q.point_id("doc/with spaces")).version == 5
    with pytest.raises(TypeError):
        q.point_id(42)


def test_create_collection_is_an_explicit_choice():
    client = q.get_client()
    assert q.create_collection(client, "c", 4) is True
    with pytest.raises(ValueError, match="already exists; pass if_exists='reuse'"):
        q.create_collection(client, "c", 4)
    assert q.create_collection(client, "c", 4, if_exists="reuse") is False
    with pytest.raises(ValueError, match="stores 4-d dense vectors, not 8-d"):
        q.create_collection(client, "c", 8, if_exists="reuse")
    assert q.create_collection(client, "c", 8, if_exists="recreate") is True
    with pytest.raises(ValueError, match="if_exists='keep'"):
        q.create_collection(client, "c", 8, if_exists="keep")


def test_upsert_twice_updates_instead_of_duplicating():
    client = q.get_client()
    q.create_collection(client, "c", 4)
    dense, splade = tiny_points()
    bm25 = [models.SparseVector(indices=[1], values=[1.0])] * 3
    for _ in range(2):
        q.upsert_points(client, "c", q.iter_points(["a", "b", "c"], ["x", "y", "z"], dense, splade, bm25), batch_size=2)
    assert client.count("c").count == 3
    hit = q.search(client, "c", "splade", models.SparseVector(indices=[3], values=[1.0]))
    assert hit == [("a", pytest.approx(2.0))]
    (point,) = client.retrieve("c", [q.point_id("a")], with_payload=True)
    assert point.payload == {"doc_id": "a", "title": "", "text": "x", "splade_sum": 3.0}


def test_validation_happens_before_qdrant():
    dense, splade = tiny_points()
    bm25 = [models.SparseVector(indices=[1], values=[1.0])] * 3
    bad = dense.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="dense vector of document 'b' contains inf"):
        list(q.iter_points(["a", "b", "c"], ["x"] * 3, bad, splade, bm25))
    with pytest.raises(ValueError, match="repeats index 7"):
        q.check_sparse([7, 2, 7], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="duplicate document id 'a'"):
        list(q.iter_points(["a", "b", "a"], ["x"] * 3, dense, splade, bm25))
    with pytest.raises(ValueError, match="3 document ids but 2 texts"):
        list(q.iter_points(["a", "b", "c"], ["x"] * 2, dense, splade, bm25))
    assert q.plain({"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(2)}) == {"n": 3, "x": 0.5, "v": [0, 1]}
    with pytest.raises(ValueError, match="payload.score is nan"):
        q.plain({"score": float("nan")})
    with pytest.raises(TypeError, match="payload.when has a object"):
        q.plain({"when": object()})
    client = q.get_client()
    q.create_collection(client, "c", 4)
    with pytest.raises(ValueError, match="query vector has 3 dimensions; the collection's 'dense' vectors have 4"):
        q.search(client, "c", "dense", [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="using='sparse'"):
        q.search(client, "c", "sparse", [1.0])
    assert q.search(client, "c", "splade", models.SparseVector(indices=[], values=[])) == []


def test_an_empty_document_is_stored_but_never_matched():
    client = q.get_client()
    q.create_collection(client, "c", 4)
    dense, splade = tiny_points()
    dense[2] = 0
    splade = sp.csr_matrix(splade.toarray() * [[1], [1], [0]])
    bm25 = [models.SparseVector(indices=[1], values=[1.0])] * 2 + [models.SparseVector(indices=[], values=[])]
    q.upsert_points(client, "c", q.iter_points(["a", "b", "c"], ["x", "y", ""], dense, splade, bm25))
    assert client.count("c").count == 3
    assert "c" not in [d for d, _ in q.search(client, "c", "dense", [1.0, 1.0, 1.0, 1.0], limit=10)]


def test_unreachable_server_fails_fast_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:1")
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="unreachable.*unset QDRANT_URL"):
        q.get_client()
    assert time.perf_counter() - start < 5


def test_a_second_client_on_the_same_folder_gets_an_explanation(tmp_path):
    first = q.get_client(tmp_path / "db")
    try:
        with pytest.raises(RuntimeError, match="locked by another client.*client.close"):
            q.get_client(tmp_path / "db")
    finally:
        first.close()
    q.get_client(tmp_path / "db").close()  # free again once closed


def test_persistence_survives_close_and_reopen(tmp_path):
    client = q.get_client(tmp_path / "db")
    q.create_collection(client, "c", 4)
    dense, splade = tiny_points()
    q.upsert_points(client, "c", q.iter_points(["a", "b", "c"], ["x", "y", "z"], dense, splade,
                                               [models.SparseVector(indices=[1], values=[1.0])] * 3))
    client.close()
    again = q.get_client(tmp_path / "db")
    assert again.count("c").count == 3
    again.close()


def test_fuse_lists_rrf_matches_the_textbook_with_k_minus_one():
    a, b = [("x", 3.0), ("y", 2.0)], [("y", 9.0), ("z", 1.0)]
    fused = dict(q.fuse_lists([a, b], "rrf", rrf_k=2))
    assert fused == pytest.approx({"x": 1 / 2, "y": 1 / 3 + 1 / 2, "z": 1 / 3})
    assert [d for d, _ in q.fuse_lists([a, b], "rrf", rrf_k=61)] == ["y", "x", "z"]


def test_evaluate_an_existing_store_as_it_is(mini, splade, dense, monkeypatch):
    from splade_helpers.datasets import Dataset

    store = q.QdrantStore(q.get_client(), "mini", splade=splade, dense=dense)
    store.index(mini.doc_ids, mini.doc_texts, mini.doc_titles)
    monkeypatch.setattr(store, "index", lambda *a, **k: pytest.fail("the store was re-indexed"))
    memory = {r["retriever"]: r for r in compare_retrievers(mini)}
    through = {r["retriever"]: r for r in compare_retrievers(mini, backend=store)}
    for name in ("bm25", "splade", "dense", "hybrid"):
        for metric in ("nDCG@10", "R@100", "MRR@10"):
            assert through[name][metric] == pytest.approx(memory[name][metric], abs=1e-3), (name, metric)
    fewer = Dataset("mini-10", mini.doc_ids[:10], mini.doc_texts[:10], mini.query_ids, mini.query_texts, mini.qrels)
    with pytest.raises(ValueError, match="holds 52 documents indexed by this store, not the 10 given"):
        compare_retrievers(fewer, backend=store)
    assert store.client.count("mini").count == 52  # untouched
    with pytest.raises(TypeError, match="'memory', 'qdrant' or a QdrantStore"):
        compare_retrievers(mini, backend=object())
    with pytest.raises(ValueError, match="'memory', 'qdrant' or a QdrantStore"):
        compare_retrievers(mini, backend="elastic")


@pytest.fixture(scope="module")
def cranfield_store(cranfield, splade, dense):
    store = q.QdrantStore(q.get_client(), "cranfield", splade=splade, dense=dense)
    assert store.index(cranfield.doc_ids, cranfield.doc_texts, cranfield.doc_titles) == 1400
    memory = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    for r in memory.values():
        r.index(cranfield.doc_ids, cranfield.doc_texts)
    return store, memory


def same_ranking(a, b, atol=1e-4):
    """``a`` ranks the same documents as ``b`` in the same order, scores within tolerance.

    Documents whose scores tie within the tolerance may come in either order, and where a tie
    straddles the cut-off either member may be the one kept.
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
        return False  # a document is in one list only, and not because of a tie at the cut-off
    shared = [sb[d] for d, _ in a if d in sb]
    return all(x >= y - tol(y) for x, y in zip(shared, shared[1:]))


@pytest.mark.slow
def test_qdrant_equals_the_in_memory_retrievers_and_fusion_on_every_query(cranfield, cranfield_store):
    store, memory = cranfield_store
    vectors = store.query_vectors(cranfield.query_texts)
    lists = {n: r.search(cranfield.query_texts, 100) for n, r in memory.items()}
    for i, qid in enumerate(cranfield.query_ids):
        for using in ("bm25", "splade", "dense"):
            got = q.search(store.client, store.name, using, vectors[using][i], limit=100)
            assert same_ranking(got, lists[using][i]), (qid, using)
        for fusion in ("rrf", "dbsf"):
            server = q.hybrid_search(store.client, store.name, {"dense": vectors["dense"][i], "splade": vectors["splade"][i]},
                                     fusion=fusion, limit=10, prefetch_limit=100)
            client_side = q.fuse_lists([lists["dense"][i], lists["splade"][i]], fusion, limit=10)
            assert same_ranking(server, client_side), (qid, fusion)


def test_the_seed_formula_runs_server_side(cranfield, cranfield_store):
    store, memory = cranfield_store
    vectors = store.query_vectors(cranfield.query_texts[:5])
    qsum = np.asarray(memory["splade"].encoder.encode_queries(cranfield.query_texts[:5]).sum(axis=1)).ravel()
    dsum = np.asarray(memory["splade"].doc_matrix.sum(axis=1)).ravel()
    dense = memory["dense"].scores(cranfield.query_texts[:5])
    sparse = memory["splade"].scores(cranfield.query_texts[:5])
    expected = sh.fusion.seed_hybrid_matrix(dense, sparse, qsum, dsum, 0.7)
    for i in range(5):
        hits = q.hybrid_search(store.client, store.name, {"dense": vectors["dense"][i], "splade": vectors["splade"][i]},
                               fusion="seed", alpha=0.7, limit=5, prefetch_limit=1400)
        for d, s in hits:
            assert s == pytest.approx(expected[i, cranfield.doc_ids.index(d)], rel=1e-4, abs=1e-6)
        assert [d for d, _ in hits][0] == cranfield.doc_ids[int(np.argmax(expected[i]))]


@pytest.mark.slow
def test_evaluate_with_the_qdrant_backend_gives_the_same_metrics(cranfield):
    memory = {r["retriever"]: r for r in compare_retrievers(cranfield)}
    qdrant = {r["retriever"]: r for r in compare_retrievers(cranfield, backend="qdrant")}
    for name in ("bm25", "splade", "dense", "hybrid"):
        for metric in ("nDCG@10", "R@100", "MRR@10"):
            assert qdrant[name][metric] == pytest.approx(memory[name][metric], abs=1e-3), (name, metric)


@pytest.mark.slow
def test_a_killed_upsert_is_finished_by_rerunning_it(tmp_path, cranfield, splade, dense):
    folder = tmp_path / "qdrant"
    cmd = [sys.executable, "-m", "splade_helpers.qdrant", "--dataset", "cranfield", "--path", str(folder),
           "--batch-size", "20", "--throttle", "0.05"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        for line in proc.stdout:
            if line.startswith("upserted") and int(line.split()[1]) >= 200:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL  # it died mid-way
    client = q.get_client(folder)
    partial = client.count("course").count
    client.close()
    assert 200 <= partial < 1400
    done = subprocess.run(cmd[:-2], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    client = q.get_client(folder)
    try:
        assert client.count("course").count == 1400
        ids = [q.point_id(d) for d in cranfield.doc_ids]
        points = {p.payload["doc_id"]: p for p in client.retrieve("course", ids, with_vectors=True, with_payload=True)}
        assert len(points) == 1400
        dense_vecs = dense.encode(cranfield.doc_texts)
        splade_vecs = splade.encode_documents(cranfield.doc_texts)
        for i, d in enumerate(cranfield.doc_ids):
            vec = points[d].vector
            if dense_vecs[i].any():
                stored = np.asarray(vec["dense"])
                np.testing.assert_allclose(stored, dense_vecs[i] / np.linalg.norm(dense_vecs[i]), atol=1e-5)
            row = splade_vecs[i]
            assert vec["splade"].indices == row.indices.tolist()
            np.testing.assert_allclose(vec["splade"].values, row.data, rtol=1e-6)
    finally:
        client.close()
