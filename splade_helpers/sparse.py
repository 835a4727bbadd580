"""SPLADE encoding: text -> sparse vector over the vocabulary.

SPLADE runs a masked-language model over the text, giving one logit per vocabulary entry at
every position, and keeps ``w_j = max_i log(1 + ReLU(logit_ij))`` (max over positions i of the
attention mask). :func:`splade_pool` writes that out on the model's logits (the plain path the
lessons read). ``log1p(relu(x))`` is monotone non-decreasing, so taking the max over positions
first and applying the activation to a (batch x vocab) matrix gives the same vector while
doing the element-wise work on L times fewer numbers; :meth:`SpladeEncoder.encode` does that, with
the MLM head's last layer (hidden -> 30,522 logits, the dominant cost) run by the kernel
:func:`~splade_helpers.kernels.mlm_head.max_pooled_logits`: the same numbers, real tokens only, max-pooled
block by block.

Behaviour on edge cases (tested):

* blank text -> an empty vector (no model call); it matches nothing. Blank means that the tokenizer keeps
  nothing of it (:func:`~splade_helpers.validation.blank_texts`): whitespace, and also zero-width spaces, byte
  order marks, word joiners, soft hyphens or control characters, which ``str.strip()`` does not remove;
* a non-string -> ``TypeError`` naming the position and the type;
* a text longer than ``max_length`` tokens -> truncated to ``max_length`` (the model's limit is
  512); :meth:`SpladeEncoder.vector` reports ``truncated=True``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from .cache import MIN_CACHED_BATCH, cached_arrays, digest
from .course import progress_enabled
from .kernels.mlm_head import head_input, max_pooled_logits
from .models import load_splade
from .validation import (
    blank_texts,
    check_bool,
    check_choice,
    check_int,
    check_optional_int,
    check_sparse_matrix,
    check_text,
    check_texts,
)

ENCODING_VERSION = "splade-max-v2"  # bump when the encoding changes, to invalidate caches
KINDS = ("query", "document")


def splade_pool(logits: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """SPLADE's pooling, written out: ``max`` over each text's real positions of ``log(1 + ReLU(logits))``.

    Introduced in notebook 06 (section 1, "The loss, on one batch").

    Args:
        logits: the masked-language model's output, (texts, positions, vocabulary).
        attention_mask: (texts, positions), 1 for real tokens, 0 for padding.
    Returns:
        (texts, vocabulary) weights. Notebook 02 builds it step by step; :meth:`SpladeEncoder.encode`
        computes the same vectors faster (tested equal).
    """
    weights = torch.log1p(torch.relu(logits))  # >= 0, so padding multiplied to 0 never wins the max
    return (weights * attention_mask.unsqueeze(-1)).amax(dim=1)


class SpladeEncoder:
    """Encode texts into SPLADE sparse vectors (the reference article's ``SPLADEEncoder``, made real).

    Introduced in notebook 00 (section "The reference article").
    Built step by step in notebook 02.

    Args:
        model: hub id or folder; ``None`` uses ``$SPLADE_MODEL`` or the bundled ``rasyosef/splade-tiny``.
        query_max_length: token limit for queries.
        doc_max_length: token limit for documents (512 is the BERT limit; longer text is truncated).
        batch_size: texts per forward pass in :meth:`encode`.
        cache: keep encodings of at least ``MIN_CACHED_BATCH`` texts on disk (see
            :mod:`splade_helpers.cache`); ``cache=True`` on a call caches any batch.

    :meth:`encode` (many texts -> a CSR matrix) is what retrievers and stores use; :meth:`vector` (one
    text -> its non-zero terms) is the reference article's ``encode(text)``.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        query_max_length: int = 512,
        doc_max_length: int = 512,
        batch_size: int = 16,
        cache: bool = True,
    ) -> None:
        batch_size = check_int(batch_size, "batch_size", minimum=1, hint="It is how many texts go through the model at once.")
        cache = check_bool(cache, "cache")
        self.tokenizer, self.model, self.source = load_splade(model)
        self.limit = limit = int(getattr(self.model.config, "max_position_embeddings", 512))
        self.query_max_length = check_int(query_max_length, "query_max_length", minimum=2, maximum=limit,
                                          hint="The model reads at most that many tokens.")
        self.doc_max_length = check_int(doc_max_length, "doc_max_length", minimum=2, maximum=limit,
                                        hint="The model reads at most that many tokens.")
        self.batch_size = batch_size
        self.cache = cache
        self.vocab_size = int(self.model.get_output_embeddings().weight.shape[0])
        self.vocab: list[str] = self.tokenizer.convert_ids_to_tokens(list(range(self.vocab_size)))

    def __repr__(self) -> str:
        return (
            f"SpladeEncoder(model={self.source.name!r}, vocab={self.vocab_size}, "
            f"query_max_length={self.query_max_length}, doc_max_length={self.doc_max_length})"
        )

    def _max_length(self, kind: str) -> int:
        kind = check_choice(kind, "kind", KINDS)
        return self.query_max_length if kind == "query" else self.doc_max_length

    def vector(self, text: str, *, kind: str = "query", top_k: int = 20) -> dict:
        """The SPLADE vector of one text, as the reference article's ``encode(text)`` returns it.

        Returns:
            ``{"indices", "values", "terms", "num_tokens", "truncated"}``: vocabulary ids in
            ascending order with their weights, the ``top_k`` (token, weight) pairs sorted by
            weight (ties by token id), the token count before truncation (with [CLS]/[SEP]) and
            whether the text was cut at the ``max_length`` of ``kind``.
        """
        text = check_text(text)
        top_k = check_int(top_k, "top_k", minimum=0, hint="It is how many (term, weight) pairs to list.")
        row = self.encode([text], kind=kind, cache=False, progress=False)
        indices = row.indices.tolist()
        values = row.data.tolist()
        num_tokens = 0 if blank_texts([text], self.tokenizer)[0] else len(self.tokenizer(text, truncation=False)["input_ids"])
        return {
            "indices": indices,
            "values": values,
            "terms": self.top_terms(row, top_k),
            "num_tokens": num_tokens,
            "truncated": num_tokens > self._max_length(kind),
        }

    def top_terms(self, vector: sp.spmatrix | np.ndarray, k: int = 20) -> list[tuple[str, float]]:
        """The ``k`` heaviest (token, weight) pairs of one vector, by weight then token id."""
        k = check_int(k, "k", minimum=0)
        if vector is None or isinstance(vector, (str, bytes)):
            raise TypeError(f"vector={vector!r:.40} must be a SPLADE vector (a sparse row or {self.vocab_size} numbers).")
        if sp.issparse(vector) and len(vector.shape) == 1:  # a 1-D sparse array: one row
            vector = sp.csr_matrix(vector.toarray().reshape(1, -1))
        if not sp.issparse(vector):  # a dense vector: one row
            try:
                vector = np.asarray(vector, dtype=np.float64).reshape(1, -1)
            except (TypeError, ValueError):
                raise TypeError(f"vector must be a SPLADE vector (a sparse row or {self.vocab_size} numbers), got "
                                f"{type(vector).__name__}.") from None
        row = check_sparse_matrix(vector, "vector", self.vocab_size)
        if row.shape[0] != 1:
            raise ValueError(f"top_terms takes one vector (1 row), got {row.shape[0]} rows.")
        row.eliminate_zeros()
        idx, val = row.indices, row.data
        order = np.lexsort((idx, -val))[:k]
        return [(self.vocab[int(idx[i])], float(val[i])) for i in order]

    def encode_queries(self, texts: Iterable[str], **kwargs) -> sp.csr_matrix:
        """:meth:`encode` with the query ``max_length``."""
        return self.encode(texts, kind="query", **kwargs)

    def encode_documents(self, texts: Iterable[str], **kwargs) -> sp.csr_matrix:
        """:meth:`encode` with the document ``max_length``."""
        return self.encode(texts, kind="document", **kwargs)

    def encode(
        self,
        texts: Iterable[str],
        *,
        kind: str,
        max_length: int | None = None,
        window: int | None = None,
        stride: int | None = None,
        batch_size: int | None = None,
        cache: bool | None = None,
        progress: bool | None = None,
    ) -> sp.csr_matrix:
        """Encode many texts into a CSR matrix (rows = texts in input order, columns = vocab ids).

        Texts are sorted by length and padded per batch, so short texts do not pay for long ones.

        Args:
            kind: ``"query"`` or ``"document"``: which ``max_length`` applies.
            max_length: override the token limit; longer texts are truncated (the default mode).
            window: instead of truncating, split each text into windows of ``window`` tokens
                (with [CLS] and [SEP]), encode every window and max-pool across windows, so
                nothing is cut off. ``stride`` (default ``window - 2``: no overlap) is the step
                between window starts, in word pieces.
        """
        texts = check_texts(texts)
        limit = self.limit
        default_length = self._max_length(kind)
        max_length = check_optional_int(max_length, "max_length", minimum=2, maximum=limit,
                                        hint="The model reads at most that many tokens.") or default_length
        batch_size = check_optional_int(batch_size, "batch_size", minimum=1) or self.batch_size
        window = check_optional_int(window, "window", minimum=3, maximum=limit, hint="Windows are counted in tokens.")
        if stride is not None:
            if window is None:
                raise ValueError(f"stride={stride!r} needs a window (window=...); without one the text is truncated.")
            stride = check_int(stride, "stride", minimum=1, maximum=window - 2, hint="It is the step between window starts.")
        if cache is not None:
            cache = check_bool(cache, "cache")
        settings = ("window", window, stride or (window - 2)) if window else ("truncate", max_length)
        # everything that changes the numbers is in the key: the batch size changes them in the 6th decimal
        settings = (*settings, "batch", batch_size)
        key = digest(ENCODING_VERSION, self.source.fingerprint, *settings, texts=texts)
        blank = blank_texts(texts, self.tokenizer)
        arrays = cached_arrays(
            "splade",
            key,
            lambda: _csr_to_arrays(self._encode(texts, max_length, window, stride, batch_size, progress, blank)),
            validate=lambda a: tuple(a["shape"]) == (len(texts), self.vocab_size),
            enabled=(self.cache and len(texts) >= MIN_CACHED_BATCH) if cache is None else cache,
        )
        matrix = _arrays_to_csr(arrays)
        sizes = np.diff(matrix.indptr)
        if any(blank) and sizes[np.asarray(blank)].any():  # an older cache entry: a blank text's vector is empty
            keep = np.repeat(np.logical_not(blank), sizes)
            indptr = np.concatenate([[0], np.cumsum(np.where(blank, 0, sizes))])
            matrix = sp.csr_matrix((matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape)
        return matrix

    def _token_ids(self, texts: list[str], max_length: int, window: int | None, stride: int | None) -> list[list[list[int]]]:
        """Per text, the id sequences to encode: one (truncated) sequence, or its windows."""
        if window is None:
            return [[ids] for ids in self.tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        step = stride or window - 2
        out = []
        for ids in self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]:
            starts = range(0, max(len(ids) - (window - 2), 0) + 1, step)
            chunks = [ids[s : s + window - 2] for s in starts]
            if starts[-1] + window - 2 < len(ids):  # the tail the last step did not reach
                chunks.append(ids[-(window - 2) :])
            out.append([[cls, *c, sep] for c in chunks])
        return out

    def _pooled_logits(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``max`` over each text's real tokens of its MLM logits: a (texts x vocab) matrix.

        The MLM head's last layer (hidden -> vocabulary) is run on real tokens only (no padding),
        one block of the vocabulary at a time, and each block is max-pooled per text right away, so
        the (tokens x vocabulary) logits never exist in full (:func:`max_pooled_logits`). The numbers
        are those of the full head: the same dot products.
        """
        decoder = self.model.get_output_embeddings()
        hidden = head_input(self.model, input_ids, mask, token_type_ids=torch.zeros_like(mask))  # (texts, positions, hidden)
        tokens = hidden[mask.bool()]  # (real tokens, hidden), texts one after the other
        bounds = np.concatenate([[0], np.cumsum(mask.sum(dim=1).numpy())])
        return max_pooled_logits(tokens, bounds, decoder.weight, decoder.bias, positive_only=True)

    @torch.inference_mode()
    def _encode(
        self, texts: list[str], max_length: int, window: int | None, stride: int | None, batch_size: int, progress: bool | None,
        blank: list[bool],
    ) -> sp.csr_matrix:
        todo = [i for i, b in enumerate(blank) if not b]
        sequences = self._token_ids([texts[i] for i in todo], max_length, window, stride) if todo else []
        owner = [i for i, seqs in zip(todo, sequences) for _ in seqs]
        flat = [ids for seqs in sequences for ids in seqs]
        order = np.argsort(-np.array([len(x) for x in flat], dtype=np.int64), kind="stable")
        parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}  # text -> sparse row per sequence
        show = progress_enabled(progress, len(flat))
        for start in tqdm(range(0, len(flat), batch_size), desc="SPLADE encoding", unit="batch", disable=not show):
            batch = order[start : start + batch_size]
            width = max(len(flat[j]) for j in batch)
            input_ids = torch.zeros((len(batch), width), dtype=torch.long)  # [PAD] = 0
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, j in enumerate(batch):
                input_ids[r, : len(flat[j])] = torch.tensor(flat[j])
                mask[r, : len(flat[j])] = 1
            weights = self._pooled_logits(input_ids, mask)
            weights = torch.log1p(torch.relu(weights)).numpy()  # max first, then activation
            for r, j in enumerate(batch):
                nz = np.flatnonzero(weights[r]).astype(np.int32)
                parts.setdefault(owner[j], []).append((nz, weights[r][nz]))
        rows = []
        for i in range(len(texts)):
            pieces = parts.get(i, [])
            if len(pieces) > 1:  # windows of one text: max-pool across them
                dense = np.zeros(self.vocab_size, dtype=np.float32)
                for nz, val in pieces:
                    np.maximum.at(dense, nz, val)
                nz = np.flatnonzero(dense).astype(np.int32)
                pieces = [(nz, dense[nz])]
            rows.append(pieces[0] if pieces else (np.empty(0, np.int32), np.empty(0, np.float32)))
        indptr = np.concatenate([[0], np.cumsum([len(nz) for nz, _ in rows])]).astype(np.int64)
        indices = np.concatenate([nz for nz, _ in rows]) if rows else np.empty(0, np.int32)
        data = np.concatenate([v for _, v in rows]).astype(np.float32) if rows else np.empty(0, np.float32)
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), self.vocab_size))


def _csr_to_arrays(m: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {"data": m.data, "indices": m.indices, "indptr": m.indptr, "shape": np.array(m.shape)}


def _arrays_to_csr(a: dict[str, np.ndarray]) -> sp.csr_matrix:
    return sp.csr_matrix((a["data"], a["indices"], a["indptr"]), shape=tuple(int(x) for x in a["shape"]))
