"""The MLM head's last layer (hidden -> 30,522 logits, SPLADE's dominant cost), max-pooled without the full matrix.

:func:`max_pooled_logits` runs it on real tokens only, a block of the vocabulary and a tile of texts at
a time, max-pooling each block at once: the same numbers (the same dot products) as one big product,
without padding work or a (tokens x vocabulary) tensor in memory. Since ReLU follows, only the maxima
above zero matter (about 1 % of them): with ``positive_only``, a bfloat16 product with a proven error
bound finds the terms that may reach zero, and only those are computed in float32.
:func:`head_input` runs a masked-language model up to that layer.
"""

from __future__ import annotations

import functools
import time

import torch

HEAD_BLOCK = 2048  # vocabulary entries per block of the MLM head's last matrix product
HEAD_TILE_ROWS = 512  # token rows per block: 512 x 2048 float32 logits (4 MB) stay in the CPU's cache
# |bfloat16 product - float32 product| <= HEAD_SLACK * |h| * |w| for every logit: rounding h, w and the
# result to bfloat16 (8-bit significand) errs by at most 3 * 2**-8 of sum_k |h_k w_k| <= |h| |w|; a third to spare
HEAD_SLACK = 2.0**-6
HEAD_MIN_ROWS = 64  # smaller tiles skip the bfloat16 filter (their full product is cheap)


def head_input(mlm: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Run a masked-language model up to its last layer (hidden -> vocabulary), which is never computed: that layer's input."""
    decoder = mlm.get_output_embeddings()
    handle = decoder.register_forward_pre_hook(_stop_with_input)
    try:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        mlm(input_ids=input_ids, attention_mask=attention_mask, **extra)
        raise RuntimeError("the MLM head's output layer was never called")  # pragma: no cover
    except _HeadInput as got:
        return got.args[0]
    finally:
        handle.remove()


def max_pooled_logits(tokens: torch.Tensor, bounds, weight: torch.Tensor, bias: torch.Tensor, *,
                      positive_only: bool = False) -> torch.Tensor:
    """``max`` over each text's rows of ``tokens @ weight.T + bias``: a (texts x vocabulary) matrix.

    ``tokens`` holds the real (unpadded) positions of every text, one text after the other; text r owns
    rows ``bounds[r]:bounds[r + 1]``. The product runs a block of the vocabulary and a tile of whole
    texts (about ``HEAD_TILE_ROWS`` rows) at a time, and each block is max-pooled at once: the
    (tokens x vocabulary) logits never exist in full, and each block (4 MB) is pooled while it is
    still in the CPU's cache. Every logit is the same dot product as in one big ``addmm`` (tested).

    ``positive_only``: every maximum above zero is the same float32 number (bit for bit, tested); the others
    may be 0 instead of their value (all that SPLADE needs: ReLU follows). See :func:`_positive_pooled_logits`.
    """
    tiles = _tiles(bounds, len(bounds) - 1)
    if positive_only and tokens.dtype == torch.float32 and len(tokens) >= HEAD_MIN_ROWS and _bfloat16_pays():
        pooled = _positive_pooled_logits(tokens, bounds, weight, bias, tiles)
        if pooled is not None:
            return pooled
    pooled = torch.empty((len(bounds) - 1, weight.shape[0]), dtype=tokens.dtype)
    for v0 in range(0, weight.shape[0], HEAD_BLOCK):
        w, b = weight[v0 : v0 + HEAD_BLOCK].T, bias[v0 : v0 + HEAD_BLOCK]
        for a, z in tiles:
            block = torch.addmm(b, tokens[bounds[a] : bounds[z]], w)
            for r in range(a, z):
                pooled[r, v0 : v0 + HEAD_BLOCK] = block[bounds[r] - bounds[a] : bounds[r + 1] - bounds[a]].amax(dim=0)
    return pooled


def _tiles(bounds, texts: int) -> list[tuple[int, int]]:
    """Runs of whole texts of about ``HEAD_TILE_ROWS`` rows: (first text, end text)."""
    tiles, first = [], 0
    for r in range(1, texts + 1):
        if bounds[r] - bounds[first] >= HEAD_TILE_ROWS or r == texts:
            tiles.append((first, r))
            first = r
    return tiles


def _positive_pooled_logits(tokens: torch.Tensor, bounds, weight: torch.Tensor, bias: torch.Tensor,
                            tiles: list[tuple[int, int]]) -> torch.Tensor | None:
    """The maxima above zero exactly, 0 elsewhere; ``None`` if an input is not finite (then nothing can be skipped).

    Per tile, a bfloat16 product (2-3x faster than float32 on CPUs with bfloat16 instructions) gives the
    tile's maximum logit of every term up to ``HEAD_SLACK * max|h| * |w|``; a term whose maximum plus that
    bound stays at or below zero cannot be positive in float32 for any text of the tile. The remaining terms
    (a few percent of the vocabulary) are computed in float32, in a product of ``HEAD_MIN_ROWS`` rows or more and a multiple of 64 terms:
    shapes for which this CPU's matrix product gives each dot product the same bits as the full product
    (tested; very small products take other code paths, so small tiles run the full product).
    """
    reach = torch.linalg.vector_norm(tokens, dim=1)
    slack = HEAD_SLACK * torch.linalg.vector_norm(weight, dim=1)
    if not (torch.isfinite(reach).all() and torch.isfinite(slack).all() and torch.isfinite(bias).all()):
        return None
    vocab = weight.shape[0]
    pooled = torch.zeros((len(bounds) - 1, vocab), dtype=tokens.dtype)
    low_weight = weight.to(torch.bfloat16)
    for a, z in tiles:
        rows = tokens[bounds[a] : bounds[z]]
        if len(rows) < HEAD_MIN_ROWS:
            pooled[a:z] = max_pooled_logits(rows, [b - bounds[a] for b in bounds[a : z + 1]], weight, bias)
            continue
        low_rows, upper = rows.to(torch.bfloat16), torch.empty(vocab)
        for v0 in range(0, vocab, HEAD_BLOCK):  # the tile's maximum: a bound for each of its texts
            upper[v0 : v0 + HEAD_BLOCK] = torch.mm(low_rows, low_weight[v0 : v0 + HEAD_BLOCK].T).amax(dim=0)
        maybe = upper + bias + reach[bounds[a] : bounds[z]].amax() * slack > 0
        terms = torch.nonzero(maybe, as_tuple=True)[0]
        width = max(64, -(-len(terms) // 64) * 64)  # padded with terms proven non-positive here
        terms = torch.cat([terms, torch.nonzero(~maybe, as_tuple=True)[0][: width - len(terms)]])
        exact = torch.addmm(bias[terms], rows, weight[terms].T)
        for r in range(a, z):
            pooled[r, terms] = exact[bounds[r] - bounds[a] : bounds[r + 1] - bounds[a]].amax(dim=0)
    return pooled


@functools.cache
def _bfloat16_pays() -> bool:
    """Whether a bfloat16 product of the head's shape takes under 60 % of float32's time here (measured once).

    Either way the numbers are the same; on CPUs without bfloat16 instructions it is slower, so it is skipped.
    """
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(HEAD_TILE_ROWS, 128, generator=g), torch.randn(128, HEAD_BLOCK, generator=g)
    la, lb = a.to(torch.bfloat16), b.to(torch.bfloat16)
    took = {}
    for name, run in (("float32", lambda: torch.mm(a, b)), ("bfloat16", lambda: torch.mm(la, lb))):
        run()
        start = time.perf_counter()
        for _ in range(5):
            run()
        took[name] = time.perf_counter() - start
    return took["bfloat16"] < 0.6 * took["float32"]


class _HeadInput(Exception):
    """Carries the input of the MLM head's last layer out of the forward pass (it is never computed)."""


def _stop_with_input(module: torch.nn.Module, args: tuple) -> None:
    raise _HeadInput(args[0])
