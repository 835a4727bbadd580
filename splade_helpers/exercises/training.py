"""Exercise 06: the FLOPS regulariser that makes SPLADE's vectors sparse."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._answer import _call


def check_flops(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 06: ``fn(representations)`` -> the FLOPS regulariser of a (batch x vocabulary) matrix of weights.

    Introduced in notebook 06 (section "Exercises").
    """
    from sentence_transformers.sparse_encoder.losses import FlopsLoss

    gen = torch.Generator().manual_seed(0)
    cases = {
        "a random batch": torch.relu(torch.randn(8, 50, generator=gen)),
        "one term on in every vector": torch.zeros(4, 10).index_fill_(1, torch.tensor([3]), 2.0),
        "the same terms, each on in one vector only": torch.eye(4, 10) * 2.0,
    }
    reference = FlopsLoss.__new__(FlopsLoss)  # the library's computation, without a model
    reference.threshold = None
    for name, reps in cases.items():
        expected = float(reference.compute_loss_from_embeddings(reps))
        got, error = _call(fn, reps.clone())
        if error:
            print(error)
            return False
        try:
            got = float(torch.as_tensor(got).reshape(()))
        except (TypeError, ValueError, RuntimeError):
            print("Return one number (a 0-d tensor or a float) for the whole batch.")
            return False
        if abs(got - expected) <= 1e-5 * max(1.0, abs(expected)):
            continue
        b, total = reps.shape[0], reps.sum(dim=0)
        hints = {
            "square the mean weight of each term over the batch, then sum over terms (not the mean of the squares)":
                float((reps ** 2).mean(dim=0).sum()),
            "average over the batch (dim 0), one value per vocabulary term; not over the vocabulary":
                float((reps.mean(dim=1) ** 2).sum()),
            "that is the L1 norm of the mean; FLOPS squares each term's mean": float(reps.mean(dim=0).abs().sum()),
            f"the 1/B is missing: you summed each term's weights over the batch instead of averaging them (B = {b} "
            f"here, so your value is B² = {b * b} times too large)": float((total ** 2).sum()),
            f"divide by B before squaring: (sum / B)² is the squared mean; sum² / B is B = {b} times too large":
                float((total ** 2).sum() / b),
        }
        for hint, wrong in hints.items():
            if abs(got - wrong) <= 1e-5 * max(1.0, abs(wrong)):
                print(f"Not yet ({name}): {hint}.")
                return False
        print(f"Not yet ({name}): expected {expected:.5f}, got {got:.5f}.")
        return False
    print("Correct: equal to sentence-transformers' FlopsLoss on all three batches, including the one where a term "
          "is on everywhere (the case FLOPS punishes most).")
    return True
