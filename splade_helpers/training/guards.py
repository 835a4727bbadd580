"""What keeps a training run honest: it takes steps, its loss stays finite, and its output folder is whole.

- :func:`check_steps`: refuse, before any model is loaded, pairs that cannot make two optimiser steps (the first
  one's learning rate is 0);
- :class:`FiniteLossTrainer` stops on the first NaN or infinite loss (:class:`NonFiniteLoss`) before anything
  is saved, and :func:`check_finite_weights` checks the weights once more before saving;
- :func:`finished_model`: a trained folder is reused only when its record matches and its manifest verifies.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from pathlib import Path

import torch

from ..integrity import RECORD_FILE, DamagedFolderError, check_model_files, verify_manifest
from .pairs import Pairs



def check_steps(pairs: Pairs, batch_size: int, in_batch_negatives: bool, epochs: int = 1, max_steps: int = -1) -> int:
    """The optimiser steps a run takes (full batches per epoch x epochs, or ``max_steps``); a ``ValueError`` below 2.

    With in-batch negatives (no teacher labels) a batch never holds the same text twice, so ``batch_size``
    different anchors with text are needed: fifty "Untitled" titles make no batch at all. One step is refused
    too: the learning rate warms up from 0 (``warmup_steps=0.1``, rounded up to a whole step), so the first
    step changes nothing and a one-step run would save the base model unchanged under a trained model's name.
    """
    n = len(pairs)
    if n < batch_size:
        raise ValueError(f"{n} training pairs make no full batch of {batch_size} (incomplete batches are dropped), so "
                         f"training would take no step. Lower the batch size to at most {n}, or add pairs.")
    with_text = [a for a in pairs.anchors if a.strip()]
    if len(with_text) < batch_size:
        raise ValueError(f"only {len(with_text)} of the {n} anchors have any text (the others are empty): a batch of "
                         f"{batch_size} cannot be filled, so training would take no step. Check the queries or titles.")
    if in_batch_negatives:
        distinct = len(set(with_text))
        if distinct < batch_size:
            common, count = Counter(with_text).most_common(1)[0]
            raise ValueError(f"the {n} pairs have {distinct} distinct anchor(s) ({common!r} {count} times): a batch of "
                             f"{batch_size} needs {batch_size} different ones (in-batch negatives never repeat a text), "
                             f"so training would take no step. Use pairs with real titles or queries, or a batch size "
                             f"of at most {distinct}.")
    steps = max_steps if max_steps > 0 else (n // batch_size) * epochs
    if steps < 2:
        why = "the warm-up starts from 0, so the model would not change"
        if max_steps > 0:
            raise ValueError(f"max_steps={max_steps} is one optimiser step, whose learning rate is 0 ({why}). Use "
                             f"max_steps >= 2, or -1 for whole epochs.")
        smaller = f"lower the batch size to at most {n // 2}, " if n // 2 >= 2 else ""
        raise ValueError(f"{n} training pairs in batches of {batch_size} make {steps} optimiser step: its learning rate "
                         f"is 0 ({why}). To train, {smaller}train for more epochs, or add pairs.")
    return steps


class NonFiniteLoss(ArithmeticError):
    """The training loss became NaN or infinite at ``step``."""

    def __init__(self, step: int, value: float) -> None:
        super().__init__(f"the loss is {value} at step {step}")
        self.step, self.value = step, value


def finite_loss_trainer(base: type) -> type:
    """``base`` (a transformers ``Trainer``) that raises :class:`NonFiniteLoss` on the first NaN or infinite loss."""

    class FiniteLossTrainer(base):
        def add_model_card_callback(self, default_args_dict) -> None:
            """No model card: its widget examples print progress bars and draw from Python's random generator."""

        def compute_loss(self, model, inputs, *args, **kwargs):
            out = super().compute_loss(model, inputs, *args, **kwargs)
            loss = out[0] if isinstance(out, tuple) else out
            if not bool(torch.isfinite(loss.detach()).all()):
                raise NonFiniteLoss(self.state.global_step + 1, float(loss.detach().float().mean()))
            return out

    return FiniteLossTrainer


def check_finite_weights(model: torch.nn.Module) -> None:
    """Refuse to save a model with a NaN or infinite weight (a ``ValueError`` naming the parameter)."""
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p.detach()).all()):
            raise ValueError(f"after training, the weights {name} hold NaN or infinity: the updates overflowed. Lower "
                             f"lambda_d / lambda_q or the learning rate; nothing was saved.")


def finished_model(folder: Path, key: str, document_folder: str | None = None) -> dict | None:
    """The training record of a finished, intact model in ``folder`` with this ``key``; ``None`` to train again.

    Intact: its manifest verifies; a folder from before manifests must pass the model-file checks (complete
    weights, a readable config, a tokenizer). A damaged folder is reported (a warning) and trained again.
    """
    try:
        meta = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != key or "seconds" not in meta:
        return None
    try:
        if verify_manifest(folder) is None:
            check_model_files(folder / document_folder if document_folder else folder, str(folder))
    except DamagedFolderError as exc:
        warnings.warn(f"{exc} Training it again.", RuntimeWarning, stacklevel=3)
        return None
    return meta
