"""Inference-free SPLADE: documents through the MLM encoder, queries through a table of weights.

A query's vector is one learned weight per vocabulary token that occurs in it, no model call: the
query costs a tokenisation and a look-up, and the document side does all the expanding (Geng et
al. 2024, OpenSearch's "doc-only" models; sentence-transformers' ``Router`` with a
``SparseStaticEmbedding`` query route). The table starts from the documents' IDF and is trained
with the document encoder (:func:`splade_helpers.training.train` with ``inference_free=True``). Notebook 06.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from .integrity import DamagedFolderError, check_model_files, verify_manifest
from .models import ModelSource
from .sparse import KINDS, SpladeEncoder
from .validation import check_bool, check_choice, check_text, check_texts

QUERY_FOLDER = "query_0_SparseStaticEmbedding"
DOCUMENT_FOLDER = "document_0_MLMTransformer"


def idf_weights(tokenizer, texts: Iterable[str]) -> torch.Tensor:
    """``ln(1 + (N - df + 0.5) / (df + 0.5))`` per vocabulary token over ``texts`` (0 for tokens never seen).

    Introduced in notebook 06 (section 8, "Inference-free queries").
    """
    texts = check_texts(texts)
    df = np.zeros(len(tokenizer), dtype=np.float64)
    for ids in tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]:
        df[np.unique(ids)] += 1
    n = len(texts)
    idf = np.where(df > 0, np.log1p((n - df + 0.5) / (df + 0.5)), 0.0)
    return torch.tensor(idf, dtype=torch.float32)


class InferenceFreeEncoder:
    """An inference-free SPLADE model folder (as saved by sentence-transformers' ``Router``).

    ``encode_documents`` runs the MLM document encoder (:class:`~splade_helpers.sparse.SpladeEncoder`);
    ``encode_queries`` looks up each distinct token's weight, so it is the same whatever the model size.
    """

    def __init__(self, path: str | os.PathLike, **document_kwargs) -> None:
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        folder = Path(path).expanduser()
        query, document = folder / QUERY_FOLDER, folder / DOCUMENT_FOLDER
        if not (query / "model.safetensors").is_file() or not (document / "config.json").is_file():
            raise ValueError(f"{str(folder)!r} is not an inference-free SPLADE folder: it needs {QUERY_FOLDER}/ "
                             f"and {DOCUMENT_FOLDER}/ (train one with train(..., TrainConfig(inference_free=True))).")
        if verify_manifest(folder) is None:  # not written by us (or before manifests): its files must still be whole
            check_model_files(document, str(document))
        self.documents = SpladeEncoder(str(document), **document_kwargs)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(query))
            self.weight = load_file(str(query / "model.safetensors"))["weight"].float().numpy()
        except Exception as exc:  # noqa: BLE001 - safetensors, tokenizers, OSError: say which folder is damaged
            raise DamagedFolderError(f"the query table in {str(query)!r} cannot be loaded ({type(exc).__name__}: "
                                     f"{str(exc)[:160]}); the folder is damaged: train or copy the model again.") from None
        if self.weight.shape[0] != self.documents.vocab_size:
            raise ValueError(f"the query table has {self.weight.shape[0]} weights but the document encoder "
                             f"{self.documents.vocab_size} terms; the folder is damaged.")
        # the whole folder (query table and document encoder) is the model a collection records
        self.source = ModelSource(str(path), folder.resolve())
        self.vocab, self.vocab_size = self.documents.vocab, self.documents.vocab_size
        self.query_max_length = self.documents.query_max_length

    @property
    def cache(self) -> bool:
        """Whether document encodings use the on-disk cache (queries are a table look-up, never cached)."""
        return self.documents.cache

    @cache.setter
    def cache(self, value: bool) -> None:
        self.documents.cache = check_bool(value, "cache")

    def __repr__(self) -> str:
        return f"InferenceFreeEncoder(documents={self.documents!r}, query table of {self.vocab_size:,} weights)"

    def encode_documents(self, texts: Iterable[str], **kwargs) -> sp.csr_matrix:
        """Documents through the MLM encoder (see :meth:`SpladeEncoder.encode_documents`)."""
        return self.documents.encode_documents(texts, **kwargs)

    def encode(self, texts: Iterable[str], *, kind: str, **kwargs) -> sp.csr_matrix:
        """Many texts: queries through the table, documents through the MLM encoder."""
        kind = check_choice(kind, "kind", KINDS)
        return self.encode_queries(texts) if kind == "query" else self.encode_documents(texts, **kwargs)

    def encode_queries(self, texts: Iterable[str], **kwargs) -> sp.csr_matrix:
        """Each query's distinct tokens with their table weights (no special tokens, no model call)."""
        texts = check_texts(texts, "queries")
        rows, cols, vals = [], [], []
        limit = self.documents.query_max_length
        for r, ids in enumerate(self.tokenizer(texts, add_special_tokens=False, truncation=True, max_length=limit)["input_ids"]):
            ids = np.unique(np.asarray(ids, dtype=np.int64))
            w = self.weight[ids]
            keep = w != 0
            rows += [r] * int(keep.sum())
            cols += ids[keep].tolist()
            vals += w[keep].tolist()
        return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(texts), self.vocab_size))

    def top_terms(self, vector, k: int = 20) -> list[tuple[str, float]]:
        return self.documents.top_terms(vector, k)

    def vector(self, text: str, *, kind: str = "query", top_k: int = 20) -> dict:
        """One text (see :meth:`SpladeEncoder.vector`): a query through the table, a document through the MLM encoder."""
        text = check_text(text)
        if check_choice(kind, "kind", KINDS) == "document":
            return self.documents.vector(text, kind="document", top_k=top_k)
        row = self.encode_queries([text])
        return {"indices": row.indices.tolist(), "values": row.data.tolist(), "terms": self.top_terms(row, top_k),
                "num_tokens": len(self.tokenizer(text, add_special_tokens=False)["input_ids"]), "truncated": False}


def _inference_free_folder(model: str | os.PathLike | None) -> str | os.PathLike | None:
    """``model`` (``None``: ``$SPLADE_MODEL``) when it names an inference-free folder, else ``None``."""
    name = model if model is not None else os.environ.get("SPLADE_MODEL") or None
    return name if name is not None and (Path(name).expanduser() / QUERY_FOLDER).is_dir() else None


def sparse_model_source(model: str | os.PathLike | None = None) -> ModelSource:
    """Where the SPLADE model :func:`load_sparse_encoder` would load lives (``None``: ``$SPLADE_MODEL`` or the
    bundled one), an inference-free folder included (:func:`~splade_helpers.models.resolve_model` wants a
    ``config.json`` at the top, which such a folder keeps in its document encoder)."""
    from .models import resolve_model

    folder = _inference_free_folder(model)
    return ModelSource(str(folder), Path(folder).expanduser().resolve()) if folder else resolve_model(model, "splade")


def load_sparse_encoder(model: str | os.PathLike | None = None, **kwargs):
    """A SPLADE encoder for any model: an inference-free folder gets :class:`InferenceFreeEncoder`, anything else
    :class:`~splade_helpers.sparse.SpladeEncoder` (hub id, folder, or ``None`` for the default)."""
    folder = _inference_free_folder(model)
    return InferenceFreeEncoder(folder, **kwargs) if folder else SpladeEncoder(model, **kwargs)
