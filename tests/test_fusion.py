import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from splade_helpers import convex, normalize, ranks, rrf
from splade_helpers.article import article_hybrid_matrix, article_hybrid_score
from splade_helpers.fusion import weighted_sum

# multiples of 1/8: exact in binary, so affine transforms do not merge distinct scores
finite = st.integers(-8000, 8000).map(lambda x: x / 8)
matrices = arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=finite)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_minmax_stays_in_unit_interval(m):
    out = normalize(m, "minmax")
    assert out.shape == m.shape and (out >= 0).all() and (out <= 1 + 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 12), elements=finite))
def test_dbsf_is_qdrants(row):
    """normalize(.., "dbsf") gives each score what qdrant-client's DBSF gives it (sample std, no clip, 0.5 without spread)."""
    from qdrant_client.http import models
    from qdrant_client.hybrid.fusion import distribution_based_score_fusion

    points = [models.ScoredPoint(id=i, version=0, score=float(x)) for i, x in enumerate(row)]
    theirs = {p.id: p.score for p in distribution_based_score_fusion([points], limit=len(row))}
    np.testing.assert_allclose(normalize(row[None, :], "dbsf")[0], [theirs[i] for i in range(len(row))], atol=1e-9)


def test_dbsf_of_tiny_scores_is_qdrants():
    from splade_helpers.fusion import fuse_lists

    row = [3e-13, 2e-13, 1e-13]
    np.testing.assert_allclose(normalize(np.array([row]), "dbsf")[0], [2 / 3, 1 / 2, 1 / 3])
    np.testing.assert_allclose([v for _, v in fuse_lists([[(str(i), x) for i, x in enumerate(row)]], "dbsf")], [2 / 3, 1 / 2, 1 / 3])


def test_dbsf_is_not_clipped():
    row = np.array([[100.0] + [0.0] * 19])  # one outlier: 100 is above mean + 3 std (5 + 3 * 22.4)
    assert normalize(row, "dbsf")[0, 0] > 1


@settings(max_examples=60, deadline=None)
@given(matrices, matrices)
def test_dbsf_over_the_same_documents_ranks_as_zscore(a, b):
    """sum w (z / 6 * sqrt((n - 1) / n) + 1/2): an affine map of the z-score sum, the same for every retriever."""
    b = np.resize(b, a.shape)
    n, weights = a.shape[1], [0.3, 0.7]
    expected = weighted_sum([a, b], weights, "zscore") * (np.sqrt((n - 1) / n) if n > 1 else 0.0) / 6 + 0.5
    np.testing.assert_allclose(weighted_sum([a, b], weights, "dbsf"), expected, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(matrices, st.sampled_from([0.5, 2.0, 7.0]), st.sampled_from([-3.0, 0.0, 12.5]))
def test_minmax_and_zscore_ignore_positive_affine_transforms(m, scale, shift):
    for method in ("minmax", "zscore"):
        np.testing.assert_allclose(normalize(m * scale + shift, method), normalize(m, method), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_rrf_depends_only_on_ranks(m):
    np.testing.assert_allclose(rrf([m], rrf_k=60), rrf([np.exp(m / 1e4)], rrf_k=60))


def test_constant_rows_normalise_to_zero():
    assert not normalize(np.zeros((2, 5)), "minmax").any()
    assert not normalize(np.ones((1, 3)), "zscore").any()


def test_ranks_break_ties_by_document_order():
    assert ranks(np.array([[1.0, 3.0, 1.0, 3.0]])).tolist() == [[3, 1, 4, 2]]


def test_rrf_values():
    a = np.array([[3.0, 2.0, 1.0]])
    b = np.array([[0.0, 5.0, 1.0]])
    out = rrf([a, b], rrf_k=60, retrieved=[None, b > 0])
    np.testing.assert_allclose(out, [[1 / 61, 1 / 62 + 1 / 61, 1 / 63 + 1 / 62]])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"alpha=1.5 must be a number in \[0, 1\]"):
        convex(np.ones((1, 2)), np.ones((1, 2)), 1.5)
    with pytest.raises(ValueError, match=r"contains nan at \(query 0, document 1\)"):
        normalize(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="contains inf"):
        rrf([np.array([[np.inf, 1.0]])])
    with pytest.raises(ValueError, match="different shapes"):
        convex(np.ones((1, 2)), np.ones((1, 3)), 0.5)
    with pytest.raises(ValueError, match="normalization='l2'"):
        normalize(np.ones((1, 2)), "l2")


def test_one_rrf_convention_ranks_from_one_and_a_weight_divides_the_rank():
    from splade_helpers.fusion import fuse_lists, qdrant_rrf_k

    a = np.array([[3.0, 2.0, 1.0]])
    np.testing.assert_allclose(rrf([a], rrf_k=60, weights=[2.0]), [[1 / (60 + 1 / 2), 1 / (60 + 2 / 2), 1 / (60 + 3 / 2)]])
    assert qdrant_rrf_k(60) == 61 and qdrant_rrf_k(1) == 2  # Qdrant counts positions from 0
    with pytest.raises(ValueError, match="whole number"):
        qdrant_rrf_k(1.5)
    x, y = [("x", 3.0), ("y", 2.0)], [("y", 9.0), ("z", 1.0)]
    # Qdrant's default Fusion.Rrf(k=2): 1 / (2 + position from 0) = 1 / (1 + rank from 1)
    assert dict(fuse_lists([x, y], "rrf", rrf_k=1)) == pytest.approx({"x": 1 / 2, "y": 1 / 3 + 1 / 2, "z": 1 / 3})
    assert [d for d, _ in fuse_lists([x, y], "rrf", rrf_k=60)] == ["y", "x", "z"]


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.just(2), st.integers(2, 12)), elements=st.integers(0, 6).map(float)),
       st.sampled_from([0.0, 1.0, 60.0]), st.floats(0.25, 4.0))
def test_matrix_rrf_equals_the_list_fusion_qdrant_runs(m, k, w):
    from splade_helpers.fusion import fuse_lists

    ids = [f"d{j}" for j in range(m.shape[1])]
    order = [np.argsort(-row, kind="stable") for row in m]
    lists = [[(ids[j], row[j]) for j in o if row[j] > 0] for row, o in zip(m, order)]
    fused = rrf([m[:1], m[1:]], rrf_k=k, weights=[1.0, w], retrieved=[m[:1] > 0, m[1:] > 0])[0]
    expected = dict(fuse_lists(lists, "rrf", limit=len(ids), rrf_k=k, weights=[1.0, w]))
    assert {ids[j]: fused[j] for j in range(len(ids)) if fused[j] > 0} == pytest.approx(expected)


def test_huge_scores_normalise_without_nan():
    m = np.array([[1e308, -1e308, 0.0], [1e-308, 0.0, 5e-309]])
    for method in ("minmax", "zscore", "dbsf"):
        out = normalize(m, method)
        assert np.isfinite(out).all(), method
    np.testing.assert_allclose(normalize(m, "minmax")[0], [1.0, 0.0, 0.5])
    from splade_helpers.fusion import fuse_lists

    fused = dict(fuse_lists([[("a", 1e308), ("c", 0.0), ("b", -1e308)]], "dbsf"))
    np.testing.assert_allclose([fused["a"], fused["c"], fused["b"]], [2 / 3, 1 / 2, 1 / 3])


def test_fusion_parameters_are_checked():
    from splade_helpers.fusion import fuse_lists, weighted_sum

    one = np.ones((1, 3))
    with pytest.raises(ValueError, match=r"weights\[0\]=-1.0 must be a finite number >= 0"):
        rrf([one, one], weights=[-1, 1])
    with pytest.raises(ValueError, match=r"weights\[1\]=nan"):
        weighted_sum([one, one], [1, float("nan")])
    with pytest.raises(ValueError, match="all 0"):
        weighted_sum([one, one], [0, 0])
    with pytest.raises(ValueError, match="retrieved has 1 masks but there are 2"):
        rrf([one, one], retrieved=[None])
    with pytest.raises(ValueError, match="depth=0 must be an int >= 1"):
        rrf([one], depth=0)
    with pytest.raises(ValueError, match="rrf_k=-1.0 must be a finite number >= 0"):
        fuse_lists([[("a", 1.0)]], rrf_k=-1)
    with pytest.raises(TypeError, match="limit=2.5 must be an int"):
        fuse_lists([[("a", 1.0)]], limit=2.5)


def test_the_reference_article_s_formula_scalar_and_matrix_agree():
    q = {"dense": [1.0, 0.0], "sparse": {"indices": [1, 5], "values": [2.0, 1.0]}}
    d = {"dense": [0.6, 0.8], "sparse": {"indices": [5, 9], "values": [3.0, 1.0]}}
    # cosine 0.6; sparse 1*3 / (3 + 4) = 3/7
    assert article_hybrid_score(q, d, 0.7) == pytest.approx(0.7 * 0.6 + 0.3 * 3 / 7)
    m = article_hybrid_matrix(np.array([[0.6]]), np.array([[3.0]]), [3.0], [4.0], 0.7)
    assert m[0, 0] == pytest.approx(article_hybrid_score(q, d, 0.7))
    with pytest.raises(ValueError, match="alpha=2"):
        article_hybrid_score(q, d, 2)
