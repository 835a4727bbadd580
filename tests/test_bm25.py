import bm25s
import numpy as np
import pytest

from splade_helpers import BM25, analyze

DOCS = [
    "turbulent boundary layer on a flat plate",
    "the turbulence of the wake behind a cylinder",
    "heat transfer at hypersonic speed",
    "",
]


def test_analysis_stems_and_drops_stop_words():
    assert analyze(["The turbulent turbulence of the layers"]) == [["turbul", "turbul", "layer"]]


def test_scores_equal_bm25s_used_directly():
    ours = BM25().index(DOCS).scores(["turbulent layers"])
    ref = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    stemmer = __import__("Stemmer").Stemmer("english")
    ref.index(bm25s.tokenize(DOCS, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    q = bm25s.tokenize(["turbulent layers"], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)[0]
    np.testing.assert_allclose(ours[0], ref.get_scores(q), rtol=1e-6)
    assert ours[0, 0] > ours[0, 1] > 0 and ours[0, 2] == 0 and ours[0, 3] == 0


def test_unknown_and_empty_queries_score_zero():
    bm = BM25().index(DOCS)
    s = bm.scores(["", "   ", "zebra", "the of"])
    assert s.shape == (4, 4) and not s.any()


def test_explain_contributions_sum_to_the_score():
    bm = BM25().index(DOCS)
    query = "turbulent turbulent flat wake zebra"
    for doc in range(len(DOCS)):
        parts = bm.explain(query, doc)
        assert [t for t, _ in parts] == sorted({"turbul", "flat", "wake"}, key=lambda t: (-dict(parts)[t], t))
        assert sum(c for _, c in parts) == pytest.approx(float(bm.scores([query])[0, doc]), rel=1e-5)
    first = dict(bm.explain(query, 0))
    assert first["wake"] == 0.0 and first["turbul"] > first["flat"] > 0  # repeated term counts twice


def test_bad_use_is_explained():
    with pytest.raises(ValueError, match="call .index"):
        BM25().scores(["x"])
    with pytest.raises(ValueError, match="empty list"):
        BM25().index([])
    with pytest.raises(ValueError, match=r"doc=4 must be an int between 0 and 3"):
        BM25().index(DOCS).explain("wake", 4)
    with pytest.raises(TypeError, match="must be a str"):
        BM25().index(DOCS).scores([None])
