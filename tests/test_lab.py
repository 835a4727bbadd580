"""The computations behind the alpha slider and the explorer (splade_helpers.lab), and their widgets."""

import pytest

import splade_helpers as sh
from splade_helpers.lab import AlphaLab, explore
from splade_helpers.widgets import AlphaSlider, Explorer


@pytest.fixture(scope="module")
def cranfield_scores(cranfield, splade, dense):
    made = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    for r in made.values():
        r.index(cranfield.doc_ids, cranfield.doc_texts)
    return made, {n: r.scores(cranfield.query_texts) for n, r in made.items()}


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
    slider.fusion.value = "rrf"
    assert slider.state["fusion"] == "rrf" and slider.state["mean_ndcg"] == pytest.approx(lab.curve("rrf")[0])
    slider.query.value = "2"
    assert slider.state["query_id"] == "2" and all(row[4] == 0 for row in slider.state["top"])


def test_lab_rejects_bad_input(cranfield, cranfield_scores):
    _, scores = cranfield_scores
    lab = AlphaLab(cranfield, scores)
    with pytest.raises(ValueError, match=r"alpha=1.5 must be a number in \[0, 1\]"):
        lab.fused(1.5)
    with pytest.raises(ValueError, match="fusion='max'"):
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
