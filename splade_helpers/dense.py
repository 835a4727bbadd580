"""Dense embeddings through sentence-transformers (default: all-MiniLM-L6-v2, 384-d)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .cache import MIN_CACHED_BATCH, cached_arrays, digest
from .course import progress_enabled
from .models import load_dense
from .validation import blank_texts, check_bool, check_int, check_texts


class DenseEncoder:
    """Encode texts into L2-normalised dense vectors, so a dot product is the cosine similarity (notebook 04).

    Introduced in notebook 00 (section "The reference article").

    Args:
        model: hub id or folder; ``None`` uses ``$DENSE_MODEL`` or the bundled all-MiniLM-L6-v2.
        batch_size: texts per forward pass.
        cache: keep encodings of batches of at least ``MIN_CACHED_BATCH`` texts on disk.

    Blank texts (nothing the tokenizer keeps: whitespace, zero-width or control characters, see
    :func:`~splade_helpers.validation.blank_texts`) get the zero vector (cosine 0 with everything), not an
    embedding of nothing.
    """

    def __init__(self, model: str | None = None, *, batch_size: int = 32, cache: bool = True) -> None:
        self.batch_size = check_int(batch_size, "batch_size", minimum=1, hint="It is how many texts go through the model at once.")
        self.cache = check_bool(cache, "cache")
        self.model, self.source = load_dense(model)
        self.dim = int(self.model.get_embedding_dimension())

    def __repr__(self) -> str:
        return f"DenseEncoder(model={self.source.name!r}, dim={self.dim})"

    def encode(self, texts: Iterable[str], *, cache: bool | None = None, progress: bool | None = None) -> np.ndarray:
        """Encode texts into a ``(len(texts), dim)`` float32 array of unit (or zero) rows."""
        texts = check_texts(texts)
        if cache is not None:
            cache = check_bool(cache, "cache")
        blank = blank_texts(texts, self.model.tokenizer)

        def compute() -> dict[str, np.ndarray]:
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            todo = [i for i, b in enumerate(blank) if not b]
            if todo:
                emb = self.model.encode(
                    [texts[i] for i in todo],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=progress_enabled(progress, len(todo), 256),
                )
                if emb.shape[1] != self.dim:
                    raise ValueError(f"{self.source.name!r} returned {emb.shape[1]}-d vectors, expected {self.dim}.")
                out[todo] = emb
            return {"embeddings": out}

        key = digest("dense-v1", self.source.fingerprint, self.model.max_seq_length, "batch", self.batch_size, texts=texts)
        arrays = cached_arrays(
            "dense", key, compute,
            validate=lambda a: a["embeddings"].shape == (len(texts), self.dim),
            enabled=(self.cache and len(texts) >= MIN_CACHED_BATCH) if cache is None else cache,
        )
        if any(blank):  # whatever an older cache entry holds, a blank text's vector is zero
            arrays = {"embeddings": arrays["embeddings"].copy()}
            arrays["embeddings"][np.asarray(blank)] = 0.0
        return arrays["embeddings"]
