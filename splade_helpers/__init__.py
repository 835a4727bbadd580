"""Helpers for the SPLADE & learned sparse embeddings course.

Everything a notebook calls is reachable from here (``import splade_helpers as sh``); the
submodules hold one concept each (``sh.qdrant`` for storage, ``sh.training`` for training,
``sh.plots`` for figures, ``sh.exercises`` for the self-checks, ``sh.kernels`` for the fast paths).
Commands: ``python -m splade_helpers.evaluation``, ``python -m splade_helpers.training``,
``python -m splade_helpers.qdrant``.
"""

from . import plots
from .article import article_hybrid_matrix, article_hybrid_score
from .bm25 import BM25, BM25Vectors, analyze, term_id
from .cache import cache_dir
from .course import setup_course
from .datasets import Dataset, available_datasets, cranfield_gain, load_beir, load_cranfield, load_dataset
from .dense import DenseEncoder
from .evaluation import MEASURES, compare_retrievers, evaluate_run, format_table
from .expansion import TermOrigin, expected_flops, index_bytes, match_contributions, prune_top_k, sparsity_stats, term_origins
from .fusion import (
    ALPHA_GRID,
    FUSIONS,
    RECOMMENDED_HYBRID,
    RRF_K,
    alpha_weights,
    convex,
    fuse,
    fuse_lists,
    normalize,
    qdrant_rrf_k,
    ranks,
    rrf,
    top_k,
    weighted_sum,
)
from .inverted_index import InvertedIndex
from .lab import AlphaLab, explore
from .label_budget import (
    PUBLISHED_HALF_WIDTHS,
    ChoiceDraws,
    IntervalDraws,
    choices_on_n_queries,
    intervals_on_n_queries,
)
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
    BM25Retriever,
    DenseRetriever,
    HybridRetriever,
    Retriever,
    SpladeRetriever,
    build_retrievers,
)
from .sparse import SpladeEncoder, splade_pool
from .timing import Timing, timeit
from .tuning import (
    Candidate,
    FusionTerms,
    candidates,
    evaluate_candidates,
    format_interval,
    gain_matrix,
    interval_verdict,
    ndcg_at_k,
    paired_comparison,
    per_query_ndcg,
    split_queries,
)

__all__ = [
    "plots", "BM25", "BM25Vectors", "analyze", "term_id", "cache_dir", "setup_course", "Dataset", "available_datasets",
    "cranfield_gain", "load_beir", "load_cranfield", "load_dataset", "DenseEncoder", "MEASURES", "compare_retrievers",
    "evaluate_run", "format_table", "TermOrigin", "expected_flops", "index_bytes", "match_contributions", "prune_top_k",
    "sparsity_stats", "term_origins", "ALPHA_GRID", "FUSIONS", "RECOMMENDED_HYBRID", "RRF_K", "alpha_weights",
    "article_hybrid_matrix", "article_hybrid_score", "convex", "fuse", "fuse_lists", "normalize", "qdrant_rrf_k", "ranks",
    "rrf", "top_k", "weighted_sum", "AlphaLab", "explore", "DEFAULT_DENSE_MODEL", "DEFAULT_SPLADE_MODEL",
    "ModelNotFoundError", "ModelSource", "load_dense", "load_splade", "resolve_model", "BM25Retriever", "DenseRetriever",
    "HybridRetriever", "Retriever", "SpladeRetriever", "build_retrievers", "SpladeEncoder", "splade_pool", "Timing",
    "timeit", "Candidate", "FusionTerms", "candidates", "evaluate_candidates", "gain_matrix", "ndcg_at_k",
    "paired_comparison", "split_queries", "format_interval", "interval_verdict",
    "PUBLISHED_HALF_WIDTHS", "ChoiceDraws", "IntervalDraws", "choices_on_n_queries", "intervals_on_n_queries",
    "per_query_ndcg",
    "InvertedIndex",
]
