"""What a trained (or bundled) SPLADE encoder gives on a collection, and what its logits look like."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..datasets import Dataset
from ..validation import check_texts


def measure_encoder(encoder, dataset: Dataset, query_ids: Sequence[str]) -> dict:
    """A SPLADE encoder on a collection: per-query nDCG@10 on ``query_ids``, non-zeros, FLOPS, index size.

    Introduced in notebook 06 (section 4, "Sparsity on demand: the lambda sweep").

    Works for a :class:`~splade_helpers.sparse.SpladeEncoder` and an inference-free encoder alike.
    """
    from ..evaluation import evaluate_run
    from ..expansion import expected_flops, index_bytes, sparsity_stats
    from ..retrievers import SpladeRetriever

    query_ids = list(query_ids)
    retriever = SpladeRetriever(encoder).index(dataset.doc_ids, dataset.doc_texts)
    texts = [dataset.query(q) for q in query_ids]
    means, per_query = evaluate_run(retriever.run(query_ids, texts, 100), dataset.qrels, query_ids)
    queries = encoder.encode_queries(texts)
    return {"nDCG@10": means["nDCG@10"], "per_query": np.array([per_query[q]["nDCG@10"] for q in query_ids]),
            "doc_nonzeros": sparsity_stats(retriever.doc_matrix)["mean_nnz"], "query_nonzeros": sparsity_stats(queries)["mean_nnz"],
            "flops": expected_flops(queries, retriever.doc_matrix), "index_mb": index_bytes(retriever.doc_matrix) / 1e6}


@torch.no_grad()
def negative_logit_share(encoder, texts: Sequence[str]) -> float:
    """The share of a model's MLM logits below zero over the texts' real positions: what ReLU turns into zeros.

    Introduced in notebook 06 (section 2, "Why FLOPS makes vectors sparse").
    """
    texts = check_texts(texts)
    batch = encoder.tokenizer(texts, padding=True, truncation=True, max_length=encoder.doc_max_length, return_tensors="pt")
    logits = encoder.model(**batch).logits
    real = batch["attention_mask"].bool()
    return float((logits[real] < 0).float().mean())
