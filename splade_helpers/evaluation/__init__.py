"""Measuring retrieval: metrics through ir_measures (:mod:`.metrics`) and retriever comparisons (:mod:`.compare`).

``python -m splade_helpers.evaluation`` runs the comparison from the command line (``__main__``).
"""

from .compare import BACKENDS, compare_retrievers, format_table
from .metrics import MEASURES, evaluate_run

__all__ = ["BACKENDS", "MEASURES", "compare_retrievers", "evaluate_run", "format_table"]
