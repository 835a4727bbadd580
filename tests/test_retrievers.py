import numpy as np
import pytest

from splade_helpers import BM25Retriever, HybridRetriever, SpladeRetriever, build_retrievers, evaluate_run

DOC_IDS = ["a", "b", "c"]
DOCS = ["wing flutter at transonic speed", "heat transfer in a boundary layer", "the cost of fuel"]


def test_search_returns_ranked_doc_ids(splade):
    r = SpladeRetriever(splade).index(DOC_IDS, DOCS)
    (hits,) = r.search(["flutter of wings"], k=2)
    assert hits[0][0] == "a" and len(hits) <= 2
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_sparse_retrievers_return_only_matching_documents():
    r = BM25Retriever().index(DOC_IDS, DOCS)
    assert r.search(["boundary", "", "zebra"]) == [[("b", pytest.approx(r.scores(["boundary"])[0, 1]))], [], []]


def test_ties_are_broken_by_document_order():
    r = BM25Retriever().index(["x", "y", "z"], ["same words", "other", "same words"])
    assert [d for d, _ in r.search(["same"])[0]] == ["x", "z"]


def test_duplicate_or_mismatched_ids_are_refused():
    with pytest.raises(ValueError, match=r"duplicate document id 'a' at positions 0 and 2"):
        BM25Retriever().index(["a", "b", "a"], DOCS)
    with pytest.raises(ValueError, match="2 document ids but 3 texts"):
        BM25Retriever().index(["a", "b"], DOCS)
    with pytest.raises(ValueError, match="no documents indexed"):
        BM25Retriever().search(["x"])
    with pytest.raises(ValueError, match="k=0"):
        BM25Retriever().index(DOC_IDS, DOCS).search(["wing"], k=0)


def test_hybrid_fuses_component_scores(splade):
    bm25, sp = BM25Retriever(), SpladeRetriever(splade)
    h = HybridRetriever([bm25, sp], fusion="rrf").index(DOC_IDS, DOCS)
    m = [bm25.scores(["heat transfer"]), sp.scores(["heat transfer"])]
    np.testing.assert_allclose(h.scores(["heat transfer"]), h.fuse(m))
    assert h.search(["heat transfer"])[0][0][0] == "b"
    with pytest.raises(ValueError, match="fusion='max'"):
        HybridRetriever([bm25], fusion="max")


def test_build_retrievers_names():
    with pytest.raises(ValueError, match=r"unknown retriever\(s\) \['bm52'\]"):
        build_retrievers(["bm25", "bm52"])
    made = build_retrievers("splade,hybrid")
    assert list(made) == ["splade", "hybrid"]
    parts = {r.name: r for r in made["hybrid"].retrievers}
    assert parts["splade"] is made["splade"] and set(parts) == {"bm25", "splade", "dense"}


def test_splade_beats_bm25_on_the_mismatch_queries(mini, splade):
    """The mini corpus exists to show this: BM25 cannot find mismatch queries' answers at all."""
    import json

    from splade_helpers.datasets import DATA_DIR

    lines = (DATA_DIR / "mini" / "queries.jsonl").read_text().splitlines()
    mismatch = [json.loads(x)["_id"] for x in lines if json.loads(x)["metadata"]["mismatch"]]
    texts = [mini.query(q) for q in mismatch]
    scores = {}
    for r in (BM25Retriever(), SpladeRetriever(splade)):
        r.index(mini.doc_ids, mini.doc_texts)
        scores[r.name] = evaluate_run(r.run(mismatch, texts, 10), mini.qrels, mismatch)[0]
    assert scores["bm25"]["R@100"] < 0.2 < scores["splade"]["R@100"]
    assert scores["splade"]["MRR@10"] > scores["bm25"]["MRR@10"] + 0.3
