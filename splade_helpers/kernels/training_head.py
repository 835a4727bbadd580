"""The max-first SPLADE head of notebook 02, with a backward pass: training at a fraction of the time and memory.

Same vectors and gradients as sentence-transformers' ``MLMTransformer`` + ``SpladePooling`` (max, ReLU), tested.
"""

from __future__ import annotations

import torch

from .mlm_head import head_input, max_pooled_logits


class PooledHead(torch.autograd.Function):
    """``max`` over each text's positions of ``tokens @ weight.T + bias``: a (texts x vocabulary) matrix.

    Not called by the notebooks; used by splade_forward (for fast_splade_head).

    ``tokens`` holds the real (unpadded) positions of every text, one text after the other; ``lengths``
    says how many belong to each. Forward: :func:`~splade_helpers.kernels.mlm_head.max_pooled_logits`, so the
    (tokens x vocabulary) matrix never exists (at batch 32 and 128 tokens it would be 500 MB); maxima at or
    below zero may come back as 0 (``positive_only``): ReLU follows, so the vectors and gradients are the same.
    Backward: the max sends each text's gradient to the one position that won it, exactly as autograd
    does for ``torch.max``. Only the (text, term) pairs with a non-zero gradient need that position
    (log1p(relu) zeroes the others: about 1 % of them), so it is found then, for those pairs only, and
    the backward pass costs a few thousand row updates instead of a product over the whole vocabulary.
    """

    @staticmethod
    def forward(ctx, tokens: torch.Tensor, lengths: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.bounds = [0, *torch.cumsum(lengths, 0).tolist()]
        ctx.save_for_backward(tokens, weight, bias)
        return max_pooled_logits(tokens, ctx.bounds, weight, bias, positive_only=True)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        tokens, weight, bias = ctx.saved_tensors
        text, term = torch.nonzero(grad, as_tuple=True)
        values, rows = grad[text, term], winning_rows(tokens, ctx.bounds, weight, bias, text, term)
        grad_tokens = torch.zeros_like(tokens).index_add_(0, rows, values[:, None] * weight[term])
        grad_weight = torch.zeros_like(weight).index_add_(0, term, values[:, None] * tokens[rows])
        grad_bias = torch.zeros(weight.shape[0], dtype=grad.dtype).index_add_(0, term, values)
        return grad_tokens, None, grad_weight, grad_bias


def winning_rows(tokens: torch.Tensor, bounds, weight: torch.Tensor, bias: torch.Tensor,
                 text: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
    """For each (text, term) pair, the row of ``tokens`` whose logit is that text's maximum for that term.

    The logits of those terms only are recomputed over the text's rows (the same dot products as the
    forward pass); ties go to the first row, as in ``torch.max``.
    """
    rows = torch.empty_like(text)
    for r in torch.unique(text).tolist():
        at = (text == r).nonzero(as_tuple=True)[0]
        logits = torch.addmm(bias[term[at]], tokens[bounds[r] : bounds[r + 1]], weight[term[at]].T)
        rows[at] = logits.argmax(dim=0) + bounds[r]
    return rows


def splade_forward(mlm: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    """SPLADE vectors ``max_i log1p(relu(logit_i))`` of a masked-language model, differentiable, via :class:`PooledHead`.

    Not called by the notebooks; used by fast_splade_head.
    """
    decoder = mlm.get_output_embeddings()
    hidden = head_input(mlm, input_ids, attention_mask, token_type_ids)
    mask = attention_mask.bool()
    pooled = PooledHead.apply(hidden[mask], mask.sum(dim=1), decoder.weight, decoder.bias)
    return torch.log1p(torch.relu(pooled))


class fast_splade_head:
    """Within this block, a SparseEncoder's MLM + SpladePooling (max, relu) run through :func:`splade_forward`.

    Not called by the notebooks; used by training.train and benchmarks/training.py.

    Same vectors and same gradients (tested against the library's own path), a fraction of the
    memory and time; the model's weights are the same objects, so saving it afterwards saves the
    trained model in the library's own format.
    """

    def __init__(self, model) -> None:
        self.pairs = _mlm_pooling_pairs(model)

    def __enter__(self):
        for transformer, pooling in self.pairs:
            def forward(features, _t=transformer, **kwargs):
                features["sentence_embedding"] = splade_forward(
                    _t.auto_model, features["input_ids"], features["attention_mask"], features.get("token_type_ids"))
                return features

            def passthrough(features, **kwargs):
                return features

            transformer.forward, pooling.forward = forward, passthrough
        return self

    def __exit__(self, *exc) -> None:
        for transformer, pooling in self.pairs:
            del transformer.forward, pooling.forward


def _mlm_pooling_pairs(model) -> list:
    """(MLM transformer, SpladePooling) module pairs of a SparseEncoder, its Router's document side included."""
    from sentence_transformers.sparse_encoder.modules import Router, SpladePooling

    found, stacks = [], [list(model)]
    while stacks:
        modules = stacks.pop()
        for a, b in zip(modules, modules[1:]):
            if isinstance(b, SpladePooling) and b.pooling_strategy == "max" and b.activation_function == "relu" \
                    and hasattr(a, "auto_model") and a.auto_model.get_output_embeddings() is not None:
                found.append((a, b))
        for m in modules:
            if isinstance(m, Router):
                stacks += [list(route) for route in m.sub_modules.values()]
    return found
