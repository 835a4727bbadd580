"""Helpers for the SPLADE & learned sparse embeddings course.

Everything a notebook calls is reachable from here (``import splade_helpers as sh``); the
submodules hold one concept each (``sh.qdrant`` for storage, ``sh.plots`` for figures,
``sh.exercises`` for the self-checks).
"""

from . import plots
from .bm25 import BM25, BM25Vectors, analyze, term_id
from .cache import cache_dir
from .course import setup_course
from .datasets import Dataset, available_datasets, cranfield_gain, load_beir, load_cranfield, load_dataset
from .dense import DenseEncoder
from .evaluate import compare_retrievers, format_table
from .evaluation import MEASURES, evaluate_run
from .expansion import TermOrigin, expected_flops, index_bytes, match_contributions, prune_top_k, sparsity_stats, term_origins
from .fusion import (
    RRF_K,
    article_hybrid_matrix,
    article_hybrid_score,
    convex,
    fuse_lists,
    normalize,
    qdrant_rrf_k,
    ranks,
    rrf,
    top_k,
    weighted_sum,
)
from .inverted_index import InvertedIndex
from .lab import AlphaLab, alpha_weights, explore
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
from .timing import Timing, timeit
from .tuning import (
    Candidate,
    FusionTerms,
    candidates,
    evaluate_candidates,
    gain_matrix,
    ndcg_at_k,
    paired_comparison,
    split_queries,
)

__all__ = [
    "plots", "BM25", "BM25Vectors", "analyze", "term_id", "cache_dir", "setup_course", "Dataset", "available_datasets",
    "cranfield_gain", "load_beir", "load_cranfield", "load_dataset", "DenseEncoder", "compare_retrievers", "format_table",
    "MEASURES", "evaluate_run", "TermOrigin", "expected_flops", "index_bytes", "match_contributions", "prune_top_k",
    "sparsity_stats", "term_origins", "RRF_K", "article_hybrid_matrix", "article_hybrid_score", "convex", "fuse_lists",
    "normalize", "qdrant_rrf_k", "ranks", "rrf", "top_k", "weighted_sum", "AlphaLab", "alpha_weights", "explore",
    "DEFAULT_DENSE_MODEL", "DEFAULT_SPLADE_MODEL", "ModelNotFoundError", "ModelSource", "load_dense", "load_splade",
    "resolve_model", "RECOMMENDED_HYBRID", "BM25Retriever", "DenseRetriever", "HybridRetriever", "Retriever",
    "SpladeRetriever", "build_retrievers", "SpladeEncoder", "Timing", "timeit", "Candidate", "FusionTerms", "candidates",
    "evaluate_candidates", "gain_matrix", "ndcg_at_k", "paired_comparison", "split_queries", "InvertedIndex",
]
