"""The fast kernels (splade_helpers.kernels) give the plain computation's numbers."""

import numpy as np
import pytest
import torch
from st_library import DOCS, QUERIES, features, library_model

from splade_helpers.kernels import fast_splade_head


def test_blockwise_max_pooling_is_exactly_the_full_product_s_max():
    from splade_helpers.kernels.mlm_head import HEAD_TILE_ROWS, max_pooled_logits

    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(5000, 128, generator=g), torch.randn(5000, generator=g)
    lengths = [3, HEAD_TILE_ROWS + 7, 1, 200, 400, 90]  # a text longer than a tile; tiles that end mid-way
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    tokens = torch.randn(int(bounds[-1]), 128, generator=g)
    full = torch.addmm(bias, tokens, weight.T)  # the (tokens x vocabulary) logits, in one product
    expected = torch.stack([full[bounds[r] : bounds[r + 1]].amax(dim=0) for r in range(len(lengths))])
    assert torch.equal(max_pooled_logits(tokens, bounds, weight, bias), expected)


@pytest.mark.parametrize("lengths", [[3, 600, 1, 200, 9], [9], [40] * 30 + [9]])  # long, short and query-like tiles
def test_positive_maxima_skip_nothing_and_are_the_full_product_s_bits(monkeypatch, lengths):
    from splade_helpers.kernels import mlm_head

    monkeypatch.setattr(mlm_head, "_int8_pays", lambda: True)  # the filtered path, whatever this CPU's speed
    g = torch.Generator().manual_seed(1)
    weight, bias = 0.1 * torch.randn(5000, 128, generator=g), torch.full((5000,), -4.0)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    tokens = torch.randn(int(bounds[-1]), 128, generator=g)
    bias[:50] = -torch.addmm(torch.zeros(50), tokens, weight[:50].T).amax(dim=0)  # maxima at 0: the bound's edge
    full = mlm_head.max_pooled_logits(tokens, bounds, weight, bias)
    fast = mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)
    positive = full > 0
    assert 0 < positive.sum() < 0.05 * positive.numel()  # few positives, as in SPLADE: most terms are skipped
    assert torch.equal(fast[positive], full[positive])
    assert torch.all(fast[~positive] <= 0)
    tokens[2, 5] = float("nan")  # nothing can be bounded: the full product, NaN and all
    assert torch.equal(mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True).isnan(),
                       mlm_head.max_pooled_logits(tokens, bounds, weight, bias).isnan())


@pytest.mark.parametrize("seed", [2, 3])
def test_positive_maxima_of_a_short_text_alone_have_the_full_product_s_bits(monkeypatch, seed):
    from splade_helpers.kernels import mlm_head

    monkeypatch.setattr(mlm_head, "_int8_pays", lambda: True)
    g = torch.Generator().manual_seed(seed)  # these seeds make a product of a few rows and terms differ in its last bits
    weight, bias = 0.1 * torch.randn(5000, 128, generator=g), torch.full((5000,), -4.0)
    tokens, bounds = torch.randn(5, 128, generator=g), [0, 5]  # a 5-token query, encoded alone
    full = mlm_head.max_pooled_logits(tokens, bounds, weight, bias)
    fast = mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)
    assert torch.equal(fast[full > 0], full[full > 0]) and (full > 0).sum() > 0


def test_int8_filter_never_reuses_a_weight_changed_in_place(monkeypatch):
    from splade_helpers.kernels import mlm_head

    monkeypatch.setattr(mlm_head, "_int8_pays", lambda: True)
    g = torch.Generator().manual_seed(4)
    weight, bias = 0.1 * torch.randn(3000, 128, generator=g), torch.full((3000,), -4.0)
    tokens, bounds = torch.randn(300, 128, generator=g), [0, 100, 300]
    for step in range(3):  # as in training: the same tensor, changed between calls
        full = mlm_head.max_pooled_logits(tokens, bounds, weight, bias)
        fast = mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)
        assert torch.equal(fast[full > 0], full[full > 0]) and (full > 0).sum() > 0 and torch.all(fast[full <= 0] <= 0)
        weight[step * 500 : step * 500 + 500] *= 3.0  # in place: same address, new contents
    mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)  # the weight's int8 form kept
    for broken in (bias, weight):  # NaN in the bias (the weight unchanged), inf in the weight: the full product
        broken.view(-1)[7] = float("nan") if broken is bias else float("inf")
        torch.testing.assert_close(mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True),
                                   mlm_head.max_pooled_logits(tokens, bounds, weight, bias), rtol=0, atol=0, equal_nan=True)


def test_without_an_int8_product_the_filter_is_skipped(monkeypatch):
    from splade_helpers.kernels import mlm_head

    assert mlm_head._int8_pays() in (True, False)  # measured, whatever this CPU
    monkeypatch.delattr(torch, "_int_mm")  # a torch build without it
    assert mlm_head._int8_pays.__wrapped__() is False


def test_the_fast_head_gives_the_library_s_vectors_and_gradients():
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    def run(fast):
        torch.manual_seed(0)
        model = library_model()
        model.train()
        loss = SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), 3e-2, 5e-2)
        batch = [features(model, QUERIES), features(model, DOCS)]
        if fast:
            with fast_splade_head(model):
                parts = loss(batch)
        else:
            parts = loss(batch)
        sum(parts.values()).backward()
        return {k: float(v.detach()) for k, v in parts.items()}, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    (lib_loss, lib_grad), (fast_loss, fast_grad) = run(False), run(True)
    assert fast_loss == pytest.approx(lib_loss, abs=1e-6)
    assert lib_grad.keys() == fast_grad.keys() and len(lib_grad) > 30
    for name, g in lib_grad.items():  # relative to the largest gradient of each tensor (key biases are ~0: noise)
        assert float((g - fast_grad[name]).abs().max()) <= 1e-6 + 1e-4 * float(g.abs().max()), name


def test_the_winning_rows_are_those_torch_max_picks():
    from splade_helpers.kernels.training_head import winning_rows

    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(3000, 64, generator=g), torch.randn(3000, generator=g)
    bounds = [0, 5, 6, 300, 420]
    tokens = torch.randn(bounds[-1], 64, generator=g)
    tokens[7] = tokens[8] = 10 * weight[5]  # rows 7 and 8 of text 2 tie for term 5: the first one wins
    text = torch.tensor([0, 0, 1, 2, 2, 3, 3, 2])
    term = torch.tensor([0, 2999, 17, 5, 5, 1000, 2, 2998])
    full = torch.addmm(bias, tokens, weight.T)
    expected = torch.tensor([int(full[bounds[r] : bounds[r + 1]].max(dim=0).indices[v]) + bounds[r]
                             for r, v in zip(text.tolist(), term.tolist())])
    assert expected[3] == expected[4] == 7
    assert torch.equal(winning_rows(tokens, bounds, weight, bias, text, term), expected)
