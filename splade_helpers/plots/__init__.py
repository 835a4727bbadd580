"""Plotly figures for the lessons. Each takes plain data (no model calls) and returns a Figure.

Introduced in notebook 01 (section 3, "Evidence on Cranfield").

Numbers are rounded to 3 decimals before plotting: the stored notebooks' figure JSON is compared exactly,
and encodings differ in their last float bits from one CPU to another, so only digits that hold on any
CPU are kept.
"""

from __future__ import annotations

from .base import COLORS, _r, _ticks_1_2_5  # noqa: F401 - the private two for the tests
from .retrieval import (FAMILY_COLORS, alpha_curve_figure, contributions_figure, fusion_comparison, heatmap_figure,
                        label_budget_figure, pruning_figure, scale_figure, top_terms_figure, win_loss_figure)
from .training import running_mean, selection_figure, tradeoff_figure, training_figure

__all__ = ["COLORS", "FAMILY_COLORS", "alpha_curve_figure", "contributions_figure", "fusion_comparison", "heatmap_figure",
           "label_budget_figure", "pruning_figure", "running_mean", "scale_figure", "selection_figure", "top_terms_figure",
           "tradeoff_figure", "training_figure", "win_loss_figure"]
