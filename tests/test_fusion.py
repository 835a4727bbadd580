import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from splade_helpers import convex, normalize, ranks, rrf

# multiples of 1/8: exact in binary, so affine transforms do not merge distinct scores
finite = st.integers(-8000, 8000).map(lambda x: x / 8)
matrices = arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 12)), elements=finite)


@settings(max_examples=60, deadline=None)
@given(matrices, st.sampled_from(["minmax", "dbsf"]))
def test_bounded_normalisations_stay_in_unit_interval(m, method):
    out = normalize(m, method)
    assert out.shape == m.shape and (out >= 0).all() and (out <= 1 + 1e-12).all()


@settings(max_examples=60, deadline=None)
@given(matrices, st.sampled_from([0.5, 2.0, 7.0]), st.sampled_from([-3.0, 0.0, 12.5]))
def test_minmax_and_zscore_ignore_positive_affine_transforms(m, scale, shift):
    for method in ("minmax", "zscore"):
        np.testing.assert_allclose(normalize(m * scale + shift, method), normalize(m, method), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_rrf_depends_only_on_ranks(m):
    np.testing.assert_allclose(rrf([m], k=60), rrf([np.exp(m / 1e4)], k=60))


def test_constant_rows_normalise_to_zero():
    assert not normalize(np.zeros((2, 5)), "minmax").any()
    assert not normalize(np.ones((1, 3)), "zscore").any()


def test_ranks_break_ties_by_document_order():
    assert ranks(np.array([[1.0, 3.0, 1.0, 3.0]])).tolist() == [[3, 1, 4, 2]]


def test_rrf_values():
    a = np.array([[3.0, 2.0, 1.0]])
    b = np.array([[0.0, 5.0, 1.0]])
    out = rrf([a, b], k=60, retrieved=[None, b > 0])
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
