"""Self-checks for the notebooks' exercises: each says what is right or wrong in an answer.

One module per lesson's concept; ``_answer`` holds what they share (calling the learner's function,
turning any mistake into a message).
"""

from .encoder import check_splade_pooling
from .expansion import check_prune
from .fusion import check_minmax
from .lexical import check_shared_terms
from .ranking import check_ndcg
from .search import check_taat
from .storage import check_point_ids
from .training import check_flops

__all__ = [
    "check_flops",
    "check_minmax",
    "check_ndcg",
    "check_point_ids",
    "check_prune",
    "check_shared_terms",
    "check_splade_pooling",
    "check_taat",
]
