"""What every figure shares: the course's colours, rounding, and log-axis ticks."""

from __future__ import annotations

import math
from collections.abc import Sequence

COLORS = {"in the text": "#1f77b4", "expansion": "#ff7f0e", "win": "#2ca02c", "loss": "#d62728", "tie": "#bbbbbb"}


def _r(x: float) -> float:
    return round(float(x), 3)


def _ticks_1_2_5(values: Sequence[float]) -> list[float]:
    """Log-axis ticks at 1, 2 and 5 times a power of ten around ``values``, each labelled in full.

    Plotly's own log ticks label the minor steps with one digit, so 0.4 reads as "4".
    """
    positive = [v for v in values if math.isfinite(v) and v > 0]  # a log axis has no place for 0, NaN or infinity
    if not positive:
        return []
    low, high = min(positive), max(positive)
    decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
    return [float(f"{m * 10.0 ** e:.12g}") for e in decades for m in (1, 2, 5) if low / 3 <= m * 10.0 ** e <= high * 3]
