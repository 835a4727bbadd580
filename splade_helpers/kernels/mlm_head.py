"""The MLM head's last layer (hidden -> 30,522 logits, SPLADE's dominant cost), max-pooled without the full matrix.

:func:`max_pooled_logits` runs it on real tokens only, a block of the vocabulary and a tile of texts at
a time, max-pooling each block at once: the same numbers (the same dot products) as one big product,
without padding work or a (tokens x vocabulary) tensor in memory. Since ReLU follows, only the maxima
above zero matter (about 1 % of them): with ``positive_only``, an exact 8-bit integer product with a
proven error bound finds the terms that may reach zero, and only those are computed in float32.
:func:`head_input` runs a masked-language model up to that layer.

Same numbers as the plain computation (:func:`splade_helpers.sparse.splade_pool` over
``model(...).logits``): the same dot products, so ``log1p(relu(max_pooled_logits(...)))`` is SPLADE's
vector (tested bit for bit against one full product, and within 1e-5 against sentence-transformers).
"""

from __future__ import annotations

import functools
import time

import torch

HEAD_BLOCK = 2048  # vocabulary entries per block of the MLM head's last matrix product
HEAD_TILE_ROWS = 512  # token rows per block: 512 x 2048 float32 logits (4 MB) stay in the CPU's cache
HEAD_MIN_ROWS = 64  # smaller tiles skip the int8 filter (their full product is cheap)


def head_input(mlm: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
               token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Run a masked-language model up to its last layer (hidden -> vocabulary), which is never computed: that layer's input.

    Not called by the notebooks; used by SpladeEncoder (its fast path) and splade_forward.
    """
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

    Not called by the notebooks; used by SpladeEncoder (its fast path) and PooledHead.

    ``tokens`` holds the real (unpadded) positions of every text, one text after the other; text r owns
    rows ``bounds[r]:bounds[r + 1]``. The product runs a block of the vocabulary and a tile of whole
    texts (about ``HEAD_TILE_ROWS`` rows) at a time, and each block is max-pooled at once: the
    (tokens x vocabulary) logits never exist in full, and each block (4 MB) is pooled while it is
    still in the CPU's cache. Every logit is the same dot product as in one big ``addmm`` (tested).

    ``positive_only``: every maximum above zero is the same float32 number (bit for bit, tested); the others
    may be 0 instead of their value (all that SPLADE needs: ReLU follows). See :func:`_positive_pooled_logits`.
    """
    tiles = _tiles(bounds, len(bounds) - 1)
    if positive_only and tokens.dtype == torch.float32 and len(tokens) >= HEAD_MIN_ROWS and _int8_pays():
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

    Per tile, the token rows h and the weight rows w are rounded to 8-bit integers (h ~ s q_h, one scale per
    tile; w ~ s_w q_w, one per row) and multiplied exactly in integers (3-5x faster than float32 on CPUs with
    8-bit dot-product instructions). With the rounding errors e_h = h - s q_h and e_w = w - s_w q_w,

        h . w = s s_w (q_h . q_w) + s q_h . e_w + e_h . w  <=  s s_w (q_h . q_w) + |s q_h| |e_w| + |e_h| |w|

    (Cauchy-Schwarz), so the tile's integer maximum bounds every text's maximum logit of each term. A term
    whose bound (plus ``2**-12`` of its magnitudes for float32 rounding) stays at or below zero cannot be
    positive; the rest (a few percent of the vocabulary) are computed in float32, in a product of
    ``HEAD_MIN_ROWS`` rows or more and a multiple of 64 terms: shapes for which this CPU's matrix product
    gives each dot product the same bits as the full product (tested; very small products take other code
    paths, so small tiles run the full product).
    """
    reach = torch.linalg.vector_norm(tokens, dim=1)
    if not (torch.isfinite(reach).all() and torch.isfinite(bias).all()):
        return None
    head = _int8_weight(weight)
    if head is None:
        return None
    q_weight, w_scale, w_error, w_norm = head
    vocab = weight.shape[0]
    pooled = torch.zeros((len(bounds) - 1, vocab), dtype=tokens.dtype)
    for a, z in tiles:
        rows = tokens[bounds[a] : bounds[z]]
        if len(rows) < HEAD_MIN_ROWS:
            pooled[a:z] = max_pooled_logits(rows, [b - bounds[a] for b in bounds[a : z + 1]], weight, bias)
            continue
        scale = rows.abs().amax() / 127
        q_rows, back = _int8(rows, scale)
        h_norm, h_error = torch.linalg.vector_norm(back, dim=1).amax(), torch.linalg.vector_norm(rows - back, dim=1).amax()
        top = torch.empty(vocab, dtype=torch.int32)  # exact integer dot products (no overflow below 133,000 hidden units)
        for v0 in range(0, vocab, HEAD_BLOCK):  # the tile's maximum: a bound for each of its texts
            top[v0 : v0 + HEAD_BLOCK] = torch._int_mm(q_rows, q_weight[v0 : v0 + HEAD_BLOCK].T).amax(dim=0)
        approx = scale * w_scale * top
        upper = approx + h_norm * w_error + h_error * w_norm + bias
        upper += 2.0**-12 * (reach[bounds[a] : bounds[z]].amax() * w_norm + approx.abs() + bias.abs())
        maybe = upper > 0
        terms = torch.nonzero(maybe, as_tuple=True)[0]
        width = max(64, -(-len(terms) // 64) * 64)  # padded with terms proven non-positive here
        terms = torch.cat([terms, torch.nonzero(~maybe, as_tuple=True)[0][: width - len(terms)]])
        exact = torch.addmm(bias[terms], rows, weight[terms].T)
        for r in range(a, z):
            pooled[r, terms] = exact[bounds[r] - bounds[a] : bounds[r + 1] - bounds[a]].amax(dim=0)
    return pooled


def _int8(x: torch.Tensor, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` rounded to ``scale * q``, q in -127..127 (a zero scale, for zeros, divides by 1): (q as int8, scale * q)."""
    q = (x / torch.where(scale > 0, scale, 1.0)).round_().clamp_(-127, 127)
    return q.to(torch.int8), q * scale


_INT8_WEIGHTS: dict = {}  # (address, shape) -> (copy of the weight, its int8 form); contents compared on every use


def _int8_weight(weight: torch.Tensor):
    """The weight's int8 rows, row scales, rounding errors and norms; ``None`` if the weight is not finite.

    Kept for the next call while the weight's contents stay the same (a model encoding batch after batch);
    a weight changed in place (a training step) is compared, found different and rounded again.
    """
    key = (weight.data_ptr(), tuple(weight.shape))
    kept = _INT8_WEIGHTS.get(key)
    if kept is not None and torch.equal(kept[0], weight):
        return kept[1]
    w = weight.detach()
    w_norm = torch.linalg.vector_norm(w, dim=1)
    if not torch.isfinite(w_norm).all():
        return None
    w_scale = w.abs().amax(dim=1) / 127
    q_weight, back = _int8(w, w_scale[:, None])
    head = (q_weight, w_scale, torch.linalg.vector_norm(w - back, dim=1), w_norm)
    if len(_INT8_WEIGHTS) >= 2:  # the models in use (the clone costs the weight's size again)
        del _INT8_WEIGHTS[next(iter(_INT8_WEIGHTS))]
    _INT8_WEIGHTS[key] = (w.clone(), head)
    return head


@functools.cache
def _int8_pays() -> bool:
    """Whether an int8 product of the head's shape (``torch._int_mm``) takes under 80 % of float32's time here.

    Measured once per process: the fastest of 5 interleaved rounds of 3 products each, so that a moment of
    other work on the machine does not decide it (here int8 takes 20-35 % of float32's time; the filter
    gains little above about 80 %). Either way the numbers are the same; where 8-bit products are slow
    or missing, the filter is skipped.
    """
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(HEAD_TILE_ROWS, 128, generator=g), torch.randn(HEAD_BLOCK, 128, generator=g)
    qa, qb = a.mul(20).clamp(-127, 127).to(torch.int8), b.mul(20).clamp(-127, 127).to(torch.int8)
    runs = {"float32": lambda: torch.mm(a, b.T), "int8": lambda: torch._int_mm(qa, qb.T)}
    took = {name: float("inf") for name in runs}
    try:
        for run in runs.values():  # warm-up
            run()
        for _ in range(5):
            for name, run in runs.items():
                start = time.perf_counter()
                for _ in range(3):
                    run()
                took[name] = min(took[name], time.perf_counter() - start)
    except (AttributeError, RuntimeError, NotImplementedError):  # no int8 matrix product in this torch build
        return False
    return took["int8"] < 0.8 * took["float32"]


class _HeadInput(Exception):
    """Carries the input of the MLM head's last layer out of the forward pass (it is never computed)."""


def _stop_with_input(module: torch.nn.Module, args: tuple) -> None:
    raise _HeadInput(args[0])
