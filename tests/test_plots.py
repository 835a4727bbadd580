"""Figures are built from plain data and rounded, so stored notebook outputs compare exactly."""

import numpy as np
import plotly.graph_objects as go
import pytest

from splade_helpers import plots
from splade_helpers.expansion import term_origins


def test_figures_are_built_from_plain_data(splade):
    origins = term_origins(splade, "supersonic wing flutter")
    fig = plots.top_terms_figure(origins, k=10)
    assert isinstance(fig, go.Figure) and sum(len(t.y) for t in fig.data) == 10
    assert {t.name for t in fig.data} == {"in the text", "expansion"}
    wl = plots.win_loss_figure({"1": 0.5, "2": 0.1, "3": 0.2}, {"1": 0.2, "2": 0.3, "3": 0.2})
    assert "1 wins, 1 losses, 1 ties" in wl.layout.title.text
    with pytest.raises(ValueError, match="same queries"):
        plots.win_loss_figure({"1": 0.5}, {"2": 0.5})
    with pytest.raises(ValueError, match="expected"):
        plots.heatmap_figure(np.zeros((2, 3)), ["a"], ["x", "y", "z"])


def test_the_other_figures():
    sp_parts = [("heat", 1.0, 2.0, 2.0), ("flow", 0.5, 1.0, 0.5)]
    fig = plots.contributions_figure(sp_parts, [("heat", 1.5), ("flow", 0.0)])
    assert list(fig.data[0].y) == ["flow", "heat"] and list(fig.data[1].y) == ["heat"]  # zero contributions dropped
    assert set(fig.data[0].marker.color) == {plots.COLORS["tie"]}  # no origins given: neither "in the text" nor "expansion"
    coloured = plots.contributions_figure(sp_parts, [("heat", 1.5)], own_terms={"heat"})
    assert list(coloured.data[0].marker.color) == [plots.COLORS["expansion"], plots.COLORS["in the text"]]  # flow, heat
    with pytest.raises(TypeError, match="collection of terms"):
        plots.contributions_figure(sp_parts, [], own_terms="heat")
    rows = [{"label": "top 8", "nDCG@10": 0.25, "mean_nnz": 8, "index_mb": 0.1}, {"label": "all", "nDCG@10": 0.35, "mean_nnz": 243, "index_mb": 2.7}]
    assert list(plots.pruning_figure(rows).data[0].text) == ["top 8", "all"]
    rows = [{"retriever": "a", "family": "single retriever", "nDCG@10": 0.36, "R@100": 0.7, "MRR@10": 0.5},
            {"retriever": "b", "family": "score fusion", "nDCG@10": 0.42, "R@100": 0.8, "MRR@10": 0.58}]
    comparison = plots.fusion_comparison(rows)
    assert len(comparison.data) == 6 and comparison.data[0].x == (0.36,)
    assert comparison.layout.xaxis.range[0] > 0.3  # the axis shows the differences, not 0..1
    curve = plots.alpha_curve_figure([0, 0.5, 1], [0.3, 0.4, 0.35], 0.5, 0.4)
    assert curve.data[1].x == (0.5,) and curve.data[1].y == (0.4,)


def test_training_figures_smooth_the_loss_and_draw_computed_intervals():
    assert plots.running_mean([1.0, 3.0, 2.0, 6.0], 3) == [1.0, 2.0, 2.0, pytest.approx(11 / 3)]
    history = [{"step": 0, "document_nonzeros": 200.0, "query_nonzeros": 60.0}] + [
        {"step": s, "base_loss": v, "document_regularizer_loss": 0.01 * s, "query_regularizer_loss": 0.0,
         "document_nonzeros": 200.0 - s, "query_nonzeros": 60.0 - s} for s, v in ((4, 0.8), (8, 0.9), (12, 0.7))]
    fig = plots.training_figure(history, smooth=2)
    smoothed = next(t for t in fig.data if "running mean" in t.name)
    assert list(smoothed.y) == [0.8, 0.85, 0.8] and list(smoothed.x) == [4, 8, 12]
    measured = {"bundled": {"flops": 12.4, "nDCG@10": 0.353, "doc_nonzeros": 230, "query_nonzeros": 61, "index_mb": 2.6},
                "lambda 0.1": {"flops": 1.3, "nDCG@10": 0.339, "doc_nonzeros": 58, "query_nonzeros": 18, "index_mb": 0.7}}
    comparison = {"mean_diff": -0.014, "ci_low": -0.037, "ci_high": 0.010}
    fig = plots.tradeoff_figure(measured, {"lambda 0.1": comparison})
    assert list(fig.data[0].y) == [0.0, -0.014] and fig.data[0].error_y.array[1] == pytest.approx(0.024)
    assert fig.data[0].error_y.arrayminus[1] == pytest.approx(0.023) and "nDCG@10 − bundled" in fig.layout.yaxis.title.text
    assert list(plots.tradeoff_figure(measured).data[0].y) == [0.353, 0.339] and plots.tradeoff_figure(measured).data[0].error_y.array is None
    assert list(fig.layout.xaxis.ticktext) == ["0.5", "1", "2", "5", "10", "20"]  # whole labels, not plotly's "5" for 0.5
    assert list(fig.layout.xaxis.tickvals) == [0.5, 1.0, 2.0, 5.0, 10.0, 20.0]
    low = {"bundled": {**measured["bundled"], "flops": 0.4}, "zero": {**measured["lambda 0.1"], "flops": 0.0}}
    assert list(plots.tradeoff_figure(low).layout.xaxis.ticktext) == ["0.2", "0.5", "1"]  # FLOPS 0 has no place on a log axis
    assert plots._ticks_1_2_5([float("nan"), float("inf"), 0.0]) == [] and plots._ticks_1_2_5([float("inf"), 3.0]) == [1.0, 2.0, 5.0]
    candidates = [{"name": "a", "tune_ndcg": 0.36, "vs_bundled_tune": {"mean_diff": 0.01, "ci_low": -0.01, "ci_high": 0.03}},
                  {"name": "b", "tune_ndcg": 0.37, "vs_bundled_tune": {"mean_diff": 0.02, "ci_low": 0.0, "ci_high": 0.04}}]
    fig = plots.selection_figure(candidates, {"b": comparison}, winner="b")
    assert list(fig.layout.yaxis.ticktext) == ["a", "<b>b (chosen)</b>"]  # sorted by the tuning-half score
    assert list(fig.data[0].x) == [0.01, 0.02] and list(fig.data[1].x) == [-0.014]  # the test half: only what was explored
