"""Helpers for the SPLADE & learned sparse embeddings course."""

from .bm25 import BM25, analyze
from .cache import cache_dir
from .datasets import Dataset, available_datasets, cranfield_gain, load_beir, load_cranfield, load_dataset
from .dense import DenseEncoder
from .evaluation import MEASURES, evaluate_run
from .expansion import TermOrigin, expected_flops, index_bytes, match_contributions, prune_top_k, sparsity_stats, term_origins
from .fusion import convex, normalize, ranks, rrf, weighted_sum
from .models import (
    DEFAULT_DENSE_MODEL,
    DEFAULT_SPLADE_MODEL,
    ModelNotFoundError,
    ModelSource,
    load_dense,
    load_splade,
    resolve_model,
)
from .retrievers import (
    RECOMMENDED_HYBRID,
    BM25Retriever,
    DenseRetriever,
    HybridRetriever,
    Retriever,
    SpladeRetriever,
    build_retrievers,
)
from .sparse import SpladeEncoder

__all__ = [
    "BM25", "analyze", "cache_dir", "Dataset", "available_datasets", "cranfield_gain", "load_beir",
    "load_cranfield", "load_dataset", "DenseEncoder", "MEASURES", "evaluate_run", "convex", "normalize",
    "ranks", "rrf", "weighted_sum", "DEFAULT_DENSE_MODEL", "DEFAULT_SPLADE_MODEL", "ModelNotFoundError",
    "ModelSource", "load_dense", "load_splade", "resolve_model", "RECOMMENDED_HYBRID", "BM25Retriever",
    "DenseRetriever", "HybridRetriever", "Retriever", "SpladeRetriever", "build_retrievers", "SpladeEncoder", "TermOrigin", "expected_flops", "index_bytes",
    "match_contributions", "prune_top_k", "sparsity_stats", "term_origins",
]
