"""Exercise 02: SPLADE's pooling, from MLM logits to one weight per vocabulary term."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ._answer import Mistake, call, checker, describe


def _weights(value: Any) -> torch.Tensor:
    """A learner's result as a float tensor, else :class:`Mistake`."""
    if isinstance(value, tuple) and hasattr(value, "values") and hasattr(value, "indices"):
        raise Mistake("You returned what .max(dim=1) returns, a pair (values, indices): "
                      "take its .values, or use .amax(dim=1).")
    if isinstance(value, (str, bytes, dict)):
        raise Mistake(f"Return a (batch, vocab) tensor of weights, not a {type(value).__name__}.")
    try:
        return torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise Mistake(f"Return a (batch, vocab) tensor of weights; got {describe(value)}.") from None


@checker
def check_splade_pooling(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Exercise 02: ``fn(logits, attention_mask)`` -> (batch, vocab) SPLADE weights.

    Introduced in notebook 02 (section "Exercises").
    """
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 7, generator=gen) * 2
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    logits[1, 3:] = 6.0  # padding with large logits: a pooling that ignores the mask picks them
    keep = mask.unsqueeze(-1)
    expected = torch.log1p(torch.relu(logits.masked_fill(keep == 0, float("-inf")))).amax(dim=1)
    got = _weights(call(fn, logits.clone(), mask.clone(), returns="a (batch, vocab) tensor of weights"))
    if tuple(got.shape) != (2, 7):
        raise Mistake(f"Expected shape (batch, vocab) = (2, 7), got {tuple(got.shape)}: pool over dim=1 (positions).")
    if torch.allclose(got, expected, atol=1e-5):
        return "Correct: log1p(relu(logits)), max over unmasked positions."
    weights = torch.log1p(torch.relu(logits))
    summed = "you summed over positions; SPLADE takes the max (sum pooling was SPLADE v1's; max pooling came with v2)"
    hints = {
        "padding positions are not masked out": weights.amax(dim=1),
        "you took the mean over positions; SPLADE takes the max": (weights * keep).sum(1) / mask.sum(1, keepdim=True),
        summed: (weights * keep).sum(1),
        summed + ", and padding positions are not masked out": weights.sum(1),
        "log1p is missing (weights are unbounded)": torch.relu(logits.masked_fill(keep == 0, float("-inf"))).amax(dim=1),
        "ReLU is missing (negative logits must become 0)": torch.nan_to_num(
            torch.log1p(logits.clamp(min=-0.999)).masked_fill(keep == 0, float("-inf")).amax(dim=1)),
    }
    for hint, wrong in hints.items():
        if torch.allclose(got, wrong, atol=1e-5):
            raise Mistake(f"Not yet: {hint}.")
    worst = float((got - expected).abs().max())
    raise Mistake(f"Not yet: values differ from SPLADE's by up to {worst:.3f}. "
                  f"Apply ReLU, then log1p, then the masked max.")
