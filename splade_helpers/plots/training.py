"""Figures of notebook 06: the training history, the quality/FLOPS trade-off, the recipe selection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .base import COLORS, _r, _ticks_1_2_5


def running_mean(values: Sequence[float], window: int) -> list[float]:
    """The mean of each value and the ``window - 1`` before it (fewer at the start).

    Introduced in notebook 06 (section 3, "Training on a laptop CPU").
    """
    values = [float(v) for v in values]
    return [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1]) for i in range(len(values))]


def training_figure(history: Sequence[Mapping], title: str = "", smooth: int = 3) -> go.Figure:
    """Loss parts (left, the ranking loss with its running mean over ``smooth`` logs) and mean non-zero terms of a
    fixed probe (right) against the training step.

    Introduced in notebook 06 (section 3, "Training on a laptop CPU").
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("loss parts", "non-zero terms per vector (a fixed sample)"))
    logged = [h for h in history if "base_loss" in h]
    parts = {"base_loss": ("ranking loss", COLORS["in the text"]),
             "document_regularizer_loss": ("lambda × FLOPS (documents)", COLORS["expansion"]),
             "query_regularizer_loss": ("lambda × FLOPS (queries)", COLORS["win"])}
    steps = [h["step"] for h in logged]
    for key, (name, color) in parts.items():
        if any(key in h for h in logged):
            raw = [h.get(key, 0.0) for h in logged]
            fig.add_scatter(x=steps, y=[_r(v) for v in raw], mode="lines+markers", name=name, row=1, col=1,
                            line={"color": color, "width": 1 if key == "base_loss" and smooth > 1 else 2})
            if key == "base_loss" and smooth > 1:
                fig.add_scatter(x=steps, y=[_r(v) for v in running_mean(raw, smooth)], mode="lines", row=1, col=1,
                                name=f"ranking loss, running mean of {smooth} logs", line={"color": color, "width": 4})
    probed = [h for h in history if "document_nonzeros" in h]
    for key, name, color in (("document_nonzeros", "documents", COLORS["expansion"]), ("query_nonzeros", "queries", COLORS["win"])):
        fig.add_scatter(x=[h["step"] for h in probed], y=[round(float(h[key]), 1) for h in probed], mode="lines+markers",
                        name=f"non-zeros: {name}", line={"color": color, "dash": "dot"}, row=1, col=2)
    fig.update_xaxes(title_text="training step (one batch each)")
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="mean non-zero terms", row=1, col=2)
    fig.update_layout(title=title or "Training, step by step", height=400, legend={"orientation": "h", "y": -0.25})
    return fig


def tradeoff_figure(measured: Mapping[str, Mapping], intervals: Mapping[str, Mapping] | None = None, title: str = "") -> go.Figure:
    """Quality against expected FLOPS per query-document pair, one labelled point per model (log x axis).

    Introduced in notebook 06 (section 4, "Sparsity on demand: the lambda sweep").

    Without ``intervals`` the y axis is nDCG@10. With ``intervals`` (name -> a ``paired_comparison`` of that
    model against one reference; the reference itself absent), the y axis is the difference to the
    reference with its 95 % paired-bootstrap interval as an error bar, the reference at 0.
    """
    names = list(measured)
    if intervals is None:
        y, bars, axis = [_r(measured[n]["nDCG@10"]) for n in names], None, "nDCG@10"
    else:
        c = [intervals.get(n) for n in names]
        y = [_r(x["mean_diff"]) if x else 0.0 for x in c]
        bars = {"type": "data", "symmetric": False, "array": [_r(x["ci_high"] - x["mean_diff"]) if x else 0.0 for x in c],
                "arrayminus": [_r(x["mean_diff"] - x["ci_low"]) if x else 0.0 for x in c], "color": "#999999"}
        reference = next((n for n in names if n not in intervals), "the reference")
        axis = f"nDCG@10 − {reference} (95 % paired-bootstrap interval)"
    fig = go.Figure(go.Scatter(
        x=[_r(measured[n]["flops"]) for n in names], y=y, error_y=bars,
        mode="markers+text", text=names, textposition="top center", marker={"size": 11, "color": COLORS["expansion"]},
        customdata=[[round(float(measured[n]["doc_nonzeros"]), 1), round(float(measured[n]["query_nonzeros"]), 1),
                     _r(measured[n]["index_mb"]), _r(measured[n]["nDCG@10"])] for n in names],
        hovertemplate="%{text}<br>FLOPS %{x:.2f}, nDCG@10 %{customdata[3]:.3f}<br>%{customdata[0]:.0f} terms per document, "
                      "%{customdata[1]:.0f} per query<br>index %{customdata[2]:.2f} MB<extra></extra>",
    ))
    if intervals is not None:
        fig.add_hline(y=0, line={"color": "#bbbbbb", "dash": "dot"})
    ticks = _ticks_1_2_5([float(measured[n]["flops"]) for n in names])
    fig.update_layout(title=title or "Sparsity against quality", height=440, showlegend=False,
                      xaxis={"title": "expected multiplications per query-document pair (FLOPS, log scale)", "type": "log",
                             "tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]},
                      yaxis={"title": axis})
    return fig


def selection_figure(candidates: Sequence[Mapping], explored: Mapping[str, Mapping], winner: str, title: str = "") -> go.Figure:
    """Each candidate's nDCG@10 difference to the bundled model with its 95 % interval: on the tuning half (what chose
    the winner) and, beside it, on the test half (exploration only), sorted by the tuning-half score.

    Introduced in notebook 06 (section 6, "Choosing a recipe without the test queries").

    Introduced in notebook 06 (section 6, "Choosing a recipe without the test queries").

    Args:
        candidates: rows with ``name``, ``tune_ndcg`` and ``vs_bundled_tune`` (a ``paired_comparison``).
        explored: name -> a ``paired_comparison`` on the test half (missing names are left out).
    """
    rows = sorted(candidates, key=lambda r: r["tune_ndcg"])
    labels = [f"<b>{r['name']} (chosen)</b>" if r["name"] == winner else r["name"] for r in rows]
    fig = go.Figure()
    for key, name, color, symbol, shift in (("tune", "tuning half: the selection", COLORS["in the text"], "circle", 0.17),
                                           ("test", "test half: exploration only", COLORS["expansion"], "diamond", -0.17)):
        c = [r["vs_bundled_tune"] if key == "tune" else explored.get(r["name"]) for r in rows]
        keep = [i for i, x in enumerate(c) if x]
        fig.add_scatter(
            x=[_r(c[i]["mean_diff"]) for i in keep], y=[i + shift for i in keep], mode="markers", name=name,
            marker={"color": color, "symbol": symbol, "size": 9}, text=[labels[i] for i in keep],
            error_x={"type": "data", "symmetric": False, "array": [_r(c[i]["ci_high"] - c[i]["mean_diff"]) for i in keep],
                     "arrayminus": [_r(c[i]["mean_diff"] - c[i]["ci_low"]) for i in keep], "color": color},
            hovertemplate="%{text}<br>%{x:+.3f} against the bundled model<extra></extra>")
    fig.add_vline(x=0, line={"color": "#bbbbbb", "dash": "dot"})
    fig.update_layout(title=title or "Recipes against the bundled model", height=140 + 28 * len(rows),
                      xaxis={"title": "nDCG@10 − bundled model (95 % paired-bootstrap interval)"},
                      yaxis={"tickvals": list(range(len(rows))), "ticktext": labels, "range": [-0.6, len(rows) - 0.4]},
                      legend={"orientation": "h", "y": -0.12}, margin={"l": 320})
    return fig
