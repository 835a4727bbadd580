"""Figures of notebooks 01-05: expansions, matches, fusion, alpha, Qdrant's scale, label budgets."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..expansion import TermOrigin
from .base import COLORS, _r


def top_terms_figure(origins: Sequence[TermOrigin], k: int = 20, title: str = "") -> go.Figure:
    """Horizontal bars of the ``k`` heaviest terms, coloured "in the text" vs "expansion".

    Introduced in notebook 03 (section 1, "Own terms and expansions").
    """
    top = list(origins)[:k][::-1]
    fig = go.Figure()
    for label in ("in the text", "expansion"):
        rows = [o for o in top if (o.in_text if label == "in the text" else not o.in_text)]
        fig.add_bar(
            y=[o.term for o in rows],
            x=[_r(o.weight) for o in rows],
            orientation="h",
            name=label,
            marker_color=COLORS[label],
            customdata=[o.source_token for o in rows],
            hovertemplate="%{y}: %{x:.3f}<br>from input token %{customdata}<extra></extra>",
        )
    fig.update_layout(
        title=title or f"The {len(top)} heaviest terms", xaxis_title="SPLADE weight (log(1 + ReLU(logit)), unitless)",
        height=max(300, 22 * len(top) + 120), barmode="overlay",
        yaxis={"categoryorder": "array", "categoryarray": [o.term for o in top], "title": "vocabulary term"},
    )
    return fig


def contributions_figure(
    splade_parts: Sequence[tuple[str, float, float, float]],
    bm25_parts: Sequence[tuple[str, float]],
    title: str = "",
    k: int = 15,
    own_terms: Collection[str] | None = None,
) -> go.Figure:
    """Side by side: SPLADE's per-term products q_w * d_w and BM25's per-term contributions.

    Introduced in notebook 03 (section 3, "Why a document matched").

    The two scores live on different scales (SPLADE's dot products reach tens, BM25's a few units
    per term), so each panel has its own x axis; compare the shapes, not the bar lengths across panels.
    ``own_terms``: the query's own word pieces; SPLADE's bars are then coloured as in :func:`top_terms_figure`
    (in the text / expansion), otherwise grey. BM25's terms are all in the text.
    """
    sp_rows = list(splade_parts)[:k][::-1]
    bm_rows = [p for p in bm25_parts if p[1] > 0][:k][::-1]
    sp_total, bm_total = sum(p[3] for p in splade_parts), sum(p[1] for p in bm25_parts)
    if own_terms is None:
        sp_colors, key = [COLORS["tie"]] * len(sp_rows), ""
    else:
        if isinstance(own_terms, str):
            raise TypeError(f"own_terms={own_terms!r} is one string; pass a collection of terms, e.g. {{{own_terms!r}}}.")
        own = set(own_terms)
        sp_colors = [COLORS["in the text" if p[0] in own else "expansion"] for p in sp_rows]
        key = "<br><sup>blue: a word piece of the query; orange: an expansion</sup>"
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.18, subplot_titles=(
        f"SPLADE: query weight × document weight (score {sp_total:.2f}){key}", f"BM25: per stemmed term (score {bm_total:.2f})"))
    fig.add_bar(
        y=[p[0] for p in sp_rows], x=[_r(p[3]) for p in sp_rows], orientation="h", name="SPLADE",
        marker_color=sp_colors, row=1, col=1,
        customdata=[[_r(p[1]), _r(p[2])] for p in sp_rows],
        hovertemplate="%{y}: %{customdata[0]} × %{customdata[1]} = %{x:.3f}<extra></extra>",
    )
    fig.add_bar(y=[p[0] for p in bm_rows], x=[_r(p[1]) for p in bm_rows], orientation="h", name="BM25",
                marker_color=COLORS["in the text"], row=1, col=2)
    fig.update_xaxes(title_text="contribution to the SPLADE score", row=1, col=1)
    fig.update_xaxes(title_text="contribution to the BM25 score", row=1, col=2)
    fig.update_yaxes(title_text="vocabulary term", row=1, col=1)
    fig.update_yaxes(title_text="stemmed term", row=1, col=2)
    fig.update_layout(title=(title or "Why the document matched") + " (each panel on its own scale)", showlegend=False,
                      height=max(340, 22 * max(len(sp_rows), len(bm_rows), 1) + 160))
    return fig


def win_loss_figure(
    a: Mapping[str, float], b: Mapping[str, float], names: tuple[str, str] = ("SPLADE", "BM25"), metric: str = "nDCG@10"
) -> go.Figure:
    """Per-query difference ``a - b``, sorted; green where ``a`` wins, red where it loses.

    Introduced in notebook 01 (section 3, "Evidence on Cranfield").
    """
    if set(a) != set(b):
        raise ValueError("both runs must cover the same queries.")
    diff = sorted(((_r(a[q] - b[q]), q) for q in a), key=lambda t: (-t[0], t[1]))
    colors = [COLORS["win"] if d > 0 else COLORS["loss"] if d < 0 else COLORS["tie"] for d, _ in diff]
    fig = go.Figure(go.Bar(
        x=list(range(1, len(diff) + 1)), y=[d for d, _ in diff], marker_color=colors, customdata=[q for _, q in diff],
        hovertemplate="query %{customdata}: %{y:+.3f}<extra></extra>",
    ))
    wins = sum(d > 0 for d, _ in diff)
    losses = sum(d < 0 for d, _ in diff)
    fig.update_layout(
        title=f"{metric}: {names[0]} − {names[1]} per query ({wins} wins, {losses} losses, {len(diff) - wins - losses} ties)",
        xaxis_title="queries, sorted by difference", yaxis_title=f"Δ {metric}", bargap=0, height=380,
    )
    return fig


def heatmap_figure(values: np.ndarray, tokens: Sequence[str], terms: Sequence[str], title: str = "") -> go.Figure:
    """A (positions x terms) heatmap, e.g. log1p(relu(logits)) for the top vocabulary entries.

    Introduced in notebook 02 (section 5, "Max pooling over positions").
    """
    z = np.round(np.asarray(values, dtype=np.float64), 3)
    if z.shape != (len(tokens), len(terms)):
        raise ValueError(f"values have shape {z.shape}, expected ({len(tokens)}, {len(terms)}).")
    fig = go.Figure(go.Heatmap(
        z=z.tolist(), x=list(terms), y=[f"{i}: {t}" for i, t in enumerate(tokens)], colorscale="Blues",
        hovertemplate="position %{y}<br>term %{x}: %{z:.3f}<extra></extra>",
    ))
    fig.update_layout(title=title, xaxis_title="vocabulary entry (term)", height=90 + 28 * len(tokens),
                      yaxis={"autorange": "reversed", "title": "input position: token"})
    return fig


def pruning_figure(rows: Sequence[Mapping[str, float]]) -> go.Figure:
    """nDCG@10 against mean non-zeros per document, one point per pruning level (index MB in hover).

    Introduced in notebook 03 (section 5, "Pruning: how many terms does a document need?").
    """
    fig = go.Figure(go.Scatter(
        x=[round(float(r["mean_nnz"]), 1) for r in rows], y=[_r(r["nDCG@10"]) for r in rows], mode="lines+markers+text",
        text=[str(r["label"]) for r in rows], textposition="top center",
        customdata=[_r(r["index_mb"]) for r in rows],
        hovertemplate="%{x:.0f} terms per document<br>nDCG@10 %{y:.3f}<br>index %{customdata:.2f} MB<extra></extra>",
    ))
    fig.update_layout(title="Pruning documents to their top-k terms (Cranfield)",
                      xaxis_title="mean non-zero terms per document", yaxis_title="nDCG@10 (all queries)", height=380)
    return fig


FAMILY_COLORS = {"single retriever": "#7f7f7f", "score fusion": "#2ca02c", "rank fusion": "#ff7f0e",
                 "reference article": "#d62728"}


def fusion_comparison(rows: Sequence[Mapping], metrics: Sequence[str] = ("nDCG@10", "R@100", "MRR@10"),
                      title: str = "") -> go.Figure:
    """One panel per metric, one dot per method (``rows[i]["retriever"]``), coloured by ``rows[i]["family"]``.

    Introduced in notebook 04 (section 3, "The reference article's formula, and what it costs").

    Each panel's axis spans only the range of its values (with a margin), so differences of a few
    hundredths are visible; methods are listed in the order given.
    """
    fig = make_subplots(rows=1, cols=len(metrics), shared_yaxes=True, horizontal_spacing=0.04, subplot_titles=list(metrics))
    labels = [str(r["retriever"]) for r in rows][::-1]
    for col, metric in enumerate(metrics, 1):
        values = [float(r[metric]) for r in rows]
        lo, hi = min(values), max(values)
        pad = max(0.01, (hi - lo) * 0.15)
        for family, color in FAMILY_COLORS.items():
            chosen = [r for r in rows if r.get("family") == family]
            if not chosen:
                continue
            fig.add_scatter(x=[_r(r[metric]) for r in chosen], y=[str(r["retriever"]) for r in chosen], mode="markers",
                            marker={"size": 11, "color": color}, name=family, legendgroup=family, showlegend=col == 1,
                            hovertemplate="%{y}: %{x:.3f}<extra>" + metric + "</extra>", row=1, col=col)
        fig.update_xaxes(range=[_r(lo - pad), _r(hi + pad)], title_text=f"{metric} (mean over queries)", row=1, col=col)
    fig.update_yaxes(categoryorder="array", categoryarray=labels)
    fig.update_layout(title=title or "Retrievers and fusions compared", height=max(360, 28 * len(rows) + 150),
                      legend={"orientation": "h", "y": -0.2})
    return fig


def alpha_curve_figure(alphas: Sequence[float], curve: Sequence[float], alpha: float, current: float, title: str = "") -> go.Figure:
    """Mean nDCG@10 against alpha, with the current alpha marked.

    Introduced in notebook 04 (section 5, "The alpha slider").
    """
    fig = go.Figure(go.Scatter(x=[_r(a) for a in alphas], y=[_r(v) for v in curve], mode="lines+markers", name="nDCG@10"))
    fig.add_scatter(x=[_r(alpha)], y=[_r(current)], mode="markers", marker={"size": 14, "color": COLORS["loss"]},
                    name=f"alpha = {alpha:.2f}")
    fig.update_layout(title=title or "nDCG@10 (all queries) versus alpha", xaxis_title="alpha (dense weight)",
                      yaxis_title="mean nDCG@10", height=340, showlegend=False)
    return fig


def scale_figure(results: Sequence[Mapping]) -> go.Figure:
    """Median query latency against collection size, log-log, from ``benchmarks/qdrant_scale.py`` results.

    Introduced in notebook 05 (section 8, "Cost as the collection grows").

    One line per (engine, query kind): Qdrant Edge after ``optimize()`` and qdrant-client's local mode.
    """
    fig = go.Figure()
    styles = {"splade": "solid", "hybrid": "dash", "dense": "dot"}
    colors = {"edge": COLORS["win"], "local": COLORS["loss"]}
    names = {"edge": "Qdrant Edge", "local": "local mode"}
    for engine in ("edge", "local"):
        rows = sorted((r for r in results if r["engine"] == engine), key=lambda r: r["points"])
        for kind in ("splade", "hybrid", "dense"):
            lat = [r.get("latency_after_optimize", r["latency"])[kind]["p50_ms"] for r in rows]
            fig.add_scatter(x=[r["points"] for r in rows], y=[_r(v) for v in lat], mode="lines+markers",
                            name=f"{names[engine]}, {kind}", line={"color": colors[engine], "dash": styles[kind]},
                            hovertemplate="%{x:,} points: %{y:.3g} ms<extra>" + f"{names[engine]}, {kind}" + "</extra>")
    fig.update_layout(title="Median query latency as the collection grows (log-log)", height=420,
                      xaxis={"title": "points in the collection", "type": "log"},
                      yaxis={"title": "milliseconds per query (median)", "type": "log"},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def label_budget_figure(
    choices: Mapping[str, Sequence[Mapping[str, float]]],
    single: tuple[str, float],
    widths: Sequence[Mapping[str, float]] = (),
    published: Mapping[int, float] | None = None,
    title: str = "",
) -> go.Figure:
    """Left: test-half nDCG@10 of the fusion chosen on n queries (mean, 5-95 % band) per grid, and a
    single retriever as a line. Right (if ``widths``): the 95 % interval's half-width against n, with
    published points. Both x axes are logarithmic.

    Introduced in notebook 04 (section 8, "How many labelled queries do you need?").

    Args:
        choices: grid label -> ``ChoiceDraws.summary()`` rows (one per n).
        single: (label, test-half nDCG@10) of the single retriever drawn as a horizontal line.
        widths: ``IntervalDraws.summary()`` rows; published: n -> half-width quoted from elsewhere.
    """
    panels = 2 if widths else 1
    fig = make_subplots(rows=1, cols=panels, horizontal_spacing=0.12, subplot_titles=(
        "test-half nDCG@10 of the fusion chosen on n queries", "95 % interval half-width on n queries")[:panels])
    palette = [COLORS["in the text"], COLORS["expansion"], COLORS["win"]]
    all_n = sorted({int(r["n"]) for rows in choices.values() for r in rows})
    for i, (label, rows) in enumerate(choices.items()):
        rows = sorted(rows, key=lambda r: r["n"])
        color, n = palette[i % len(palette)], [int(r["n"]) for r in rows]
        rgb = tuple(int(color[k:k + 2], 16) for k in (1, 3, 5))
        fig.add_scatter(x=n + n[::-1], y=[_r(r["p95"]) for r in rows] + [_r(r["p5"]) for r in rows[::-1]],
                        mode="lines", fill="toself", line={"width": 0}, fillcolor="rgba(%d, %d, %d, 0.2)" % rgb,
                        hoverinfo="skip", name=f"{label}: 5-95 % of draws", row=1, col=1)
        fig.add_scatter(x=n, y=[_r(r["mean"]) for r in rows], mode="lines+markers", line={"color": color},
                        name=f"{label}: mean", hovertemplate="n %{x}: %{y:.3f}<extra>" + label + "</extra>", row=1, col=1)
    if all_n:
        fig.add_scatter(x=[all_n[0], all_n[-1]], y=[_r(single[1])] * 2, mode="lines", line={"color": COLORS["tie"], "dash": "dash"},
                        name=single[0], hovertemplate="%{y:.3f}<extra>" + single[0] + "</extra>", row=1, col=1)
    if widths:
        rows = sorted(widths, key=lambda r: r["n"])
        fig.add_scatter(x=[int(r["n"]) for r in rows], y=[_r(r["half_width"]) for r in rows], mode="lines+markers",
                        line={"color": COLORS["loss"]}, name="measured here: mean, bars 5-95 % of draws",
                        error_y={"type": "data", "symmetric": False,
                                 "array": [_r(r["half_width_p95"] - r["half_width"]) for r in rows],
                                 "arrayminus": [_r(r["half_width"] - r["half_width_p5"]) for r in rows]},
                        hovertemplate="n %{x}: ±%{y:.3f}<extra></extra>", row=1, col=2)
        if published:
            pts = sorted(published.items())
            fig.add_scatter(x=[int(k) for k, _ in pts], y=[_r(v) for _, v in pts], mode="markers",
                            marker={"symbol": "diamond", "size": 11, "color": "#7f7f7f"}, name="quoted (source not traced)",
                            hovertemplate="n %{x}: ±%{y:.3f}<extra>quoted</extra>", row=1, col=2)
        fig.update_yaxes(title_text="half-width (nDCG@10)", rangemode="tozero", row=1, col=2)
        ticks = sorted({int(r["n"]) for r in widths} | {int(k) for k in (published or {})})
        fig.update_xaxes(tickvals=ticks, row=1, col=2)
    fig.update_xaxes(tickvals=all_n, row=1, col=1)
    fig.update_xaxes(type="log", tickangle=0, title_text="labelled queries n (log scale)")
    fig.update_yaxes(title_text="nDCG@10 on the fixed test half", row=1, col=1)
    fig.update_layout(title=title or "How many labelled queries?", height=420, legend={"orientation": "h", "y": -0.3})
    return fig
