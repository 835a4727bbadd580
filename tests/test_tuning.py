import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import splade_helpers as sh
from splade_helpers.fusion import article_hybrid_matrix, article_hybrid_score
from splade_helpers.lab import AlphaLab, explore
from splade_helpers.retrievers import RECOMMENDED_HYBRID
from splade_helpers.tuning import (
    candidates,
    evaluate_candidates,
    gain_matrix,
    ndcg_at_k,
    paired_comparison,
    split_queries,
    top_k,
)
from splade_helpers.widgets import AlphaSlider, Explorer


@pytest.fixture(scope="module")
def cranfield_scores(cranfield, splade, dense):
    made = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    for r in made.values():
        r.index(cranfield.doc_ids, cranfield.doc_texts)
    return made, {n: r.scores(cranfield.query_texts) for n, r in made.items()}


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 30)), elements=st.integers(-3, 3).map(float)),
       st.integers(1, 12))
def test_top_k_equals_a_stable_full_sort(scores, k):
    expected = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, scores.shape[1])]
    np.testing.assert_array_equal(top_k(scores, k), expected)


def test_fast_ndcg_equals_ir_measures(cranfield, cranfield_scores):
    retrievers, scores = cranfield_scores
    gains = gain_matrix(cranfield)
    for name in ("bm25", "dense"):
        _, per_query = sh.evaluate_run(retrievers[name].run(cranfield.query_ids, cranfield.query_texts, 100), cranfield.qrels)
        fast = ndcg_at_k(scores[name], gains)
        assert max(abs(fast[i] - per_query[q]["nDCG@10"]) for i, q in enumerate(cranfield.query_ids)) < 1e-9


def test_split_is_seeded_disjoint_and_complete():
    ids = [str(i) for i in range(1, 226)]
    tune, test = split_queries(ids, seed=42)
    assert (tune, test) == split_queries(ids, seed=42) and (tune, test) != split_queries(ids, seed=1)
    assert sorted(tune + test, key=int) == ids and not set(tune) & set(test) and len(tune) == 112
    with pytest.raises(ValueError, match="tune_fraction=1"):
        split_queries(ids, tune_fraction=1)


def test_the_recommended_hybrid_is_what_tuning_chooses(cranfield, cranfield_scores):
    """RECOMMENDED_HYBRID must be the best candidate on the tuning half, not a hand-picked value."""
    _, scores = cranfield_scores
    tune, _ = split_queries(cranfield.judged_query_ids, seed=42)
    rows = np.array([cranfield.query_ids.index(q) for q in tune])
    best, _ = evaluate_candidates(scores, gain_matrix(cranfield), candidates(), rows)[0]
    assert best.method == RECOMMENDED_HYBRID["method"]
    assert dict(best.weights) == pytest.approx(RECOMMENDED_HYBRID["weights"])


def test_paired_comparison():
    a, b = np.array([0.5, 0.6, 0.7, 0.8]), np.array([0.4, 0.5, 0.6, 0.75])
    out = paired_comparison(a, b)
    assert out["mean_diff"] == pytest.approx(0.0875) and out["ci_low"] <= 0.0875 <= out["ci_high"] and out["p_value"] < 0.05
    assert paired_comparison(a, a)["p_value"] == 1.0
    with pytest.raises(ValueError, match="equal-length"):
        paired_comparison(a, b[:3])


def test_seed_formula_scalar_and_matrix_agree():
    q = {"dense": [1.0, 0.0], "sparse": {"indices": [1, 5], "values": [2.0, 1.0]}}
    d = {"dense": [0.6, 0.8], "sparse": {"indices": [5, 9], "values": [3.0, 1.0]}}
    # cosine 0.6; sparse 1*3 / (3 + 4) = 3/7
    assert article_hybrid_score(q, d, 0.7) == pytest.approx(0.7 * 0.6 + 0.3 * 3 / 7)
    m = article_hybrid_matrix(np.array([[0.6]]), np.array([[3.0]]), [3.0], [4.0], 0.7)
    assert m[0, 0] == pytest.approx(article_hybrid_score(q, d, 0.7))
    with pytest.raises(ValueError, match="alpha=2"):
        article_hybrid_score(q, d, 2)


def test_slider_headless(cranfield, cranfield_scores):
    _, scores = cranfield_scores
    lab = AlphaLab(cranfield, scores)
    slider = AlphaSlider(lab, alpha=0.65, query_id="1")
    first = slider.state
    assert first["alpha"] == 0.65 and all(row[4] == 0 for row in first["top"])
    assert first["mean_ndcg"] == pytest.approx(lab.curve()[13])  # alpha grid index of 0.65
    slider.alpha.value = 0.0  # sparse only
    second = slider.state
    assert second["alpha"] == 0.0 and second["mean_ndcg"] == pytest.approx(lab.curve()[0])
    expected = lab.state(0.0, "minmax", "1", previous=[d for _, d, *_ in first["top"]])
    assert second == expected and any(row[4] != 0 for row in second["top"])
    assert slider.figure.data[1].x == (0.0,) and "alpha 0.00" in slider.table.value
    slider.method.value = "rrf"
    assert slider.state["method"] == "rrf" and slider.state["mean_ndcg"] == pytest.approx(lab.curve("rrf")[0])
    slider.query.value = "2"
    assert slider.state["query_id"] == "2" and all(row[4] == 0 for row in slider.state["top"])


def test_lab_rejects_bad_input(cranfield, cranfield_scores):
    _, scores = cranfield_scores
    lab = AlphaLab(cranfield, scores)
    with pytest.raises(ValueError, match=r"alpha=1.5 must be a number in \[0, 1\]"):
        lab.fused(1.5)
    with pytest.raises(ValueError, match="method='max'"):
        lab.fused(0.5, "max")
    with pytest.raises(ValueError, match="query_id='nope' is not a query of 'cranfield'"):
        lab.state(0.5, query_id="nope")
    with pytest.raises(ValueError, match="expected"):
        AlphaLab(cranfield, {**scores, "dense": scores["dense"][:3]})


def test_explorer_headless(cranfield, cranfield_scores):
    retrievers, _ = cranfield_scores
    ex = Explorer(retrievers, cranfield)
    assert ex.results is None and "Type a query" in ex.table.value
    ex.text.value = "heat transfer to a flat plate in hypersonic flow"
    assert list(ex.results) == ["bm25", "splade", "dense", "hybrid"]
    assert all(len(v) == 10 for v in ex.results.values())
    assert ex.results == explore(ex.text.value, retrievers, 0.65)
    assert ex.table.value.count("<tr>") == 11
    ex.alpha.value = 1.0  # dense only: the hybrid ranking is the dense ranking
    assert [d for d, _ in ex.results["hybrid"]] == [d for d, _ in ex.results["dense"]]
    ex.text.value = "   "
    assert ex.results is None
    assert explore("", retrievers) == {"bm25": [], "splade": [], "dense": [], "hybrid": []}
