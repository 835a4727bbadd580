import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import splade_helpers as sh
from splade_helpers.fusion import RECOMMENDED_HYBRID
from splade_helpers.tuning import (
    candidates,
    evaluate_candidates,
    format_interval,
    gain_matrix,
    interval_verdict,
    ndcg_at_k,
    paired_comparison,
    split_queries,
    top_k,
)


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
    assert best.fusion == RECOMMENDED_HYBRID["fusion"]
    assert dict(best.weights) == pytest.approx(RECOMMENDED_HYBRID["weights"])


def test_interval_reads_from_its_bounds_not_its_mean():
    better = paired_comparison(np.array([0.5, 0.6, 0.7, 0.8]), np.array([0.4, 0.5, 0.6, 0.75]))
    assert format_interval(better) == f"+0.087 [{better['ci_low']:+.3f}, {better['ci_high']:+.3f}]"
    assert interval_verdict(better) == "better"
    worse = paired_comparison(np.array([0.4, 0.5, 0.6, 0.75]), np.array([0.5, 0.6, 0.7, 0.8]))
    assert interval_verdict(worse) == "worse" and format_interval(worse).startswith("-0.087 [-")
    # a positive mean whose interval includes zero is no evidence either way
    level = {"mean_diff": 0.02, "ci_low": -0.001, "ci_high": 0.04}
    assert interval_verdict(level) == "no detectable difference"
    assert format_interval(level) == "+0.020 [-0.001, +0.040]"
    assert interval_verdict({"mean_diff": 0.0, "ci_low": 0.0, "ci_high": 0.0}) == "no detectable difference"
    assert format_interval(None) == interval_verdict(None) == ""


def test_paired_comparison():
    a, b = np.array([0.5, 0.6, 0.7, 0.8]), np.array([0.4, 0.5, 0.6, 0.75])
    out = paired_comparison(a, b)
    assert out["mean_diff"] == pytest.approx(0.0875) and out["ci_low"] <= 0.0875 <= out["ci_high"] and out["p_value"] < 0.05
    assert paired_comparison(a, a)["p_value"] == 1.0
    with pytest.raises(ValueError, match="4 values in a but 3 values in b"):
        paired_comparison(a, b[:3])
