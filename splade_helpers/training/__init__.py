"""How SPLADE learns: its objective written out, training data, training on a laptop CPU, measuring the result.

- :mod:`.objective`: the ranking loss and the FLOPS regulariser on one batch (equal to sentence-transformers');
- :mod:`.pairs`: title pairs, judged pairs of the tuning queries, distillation lists and their teachers;
- :mod:`.trainer`: :func:`train` through ``SparseEncoderTrainer``, cached on disk by everything that shapes a model
  (fast on a CPU thanks to :mod:`splade_helpers.kernels.training_head`);
- :mod:`.measure`: nDCG@10, non-zeros and FLOPS of an encoder; the share of negative logits;
- what a trained folder was trained on (the queries it must not be evaluated on) is read back by
  :mod:`splade_helpers.training_record`, below evaluation, which refuses to score a model on those queries.
"""

from ..training_record import trained_on, trained_queries
from .measure import measure_encoder, negative_logit_share
from .objective import flops, kl_distillation, margin_mse, ranking_loss, regulariser_weight, splade_objective
from .pairs import PAIR_KINDS, TEACHERS, Pairs, distillation_examples, qrels_pairs, teacher_scores, title_pairs
from .trainer import DISTILL_LOSSES, TrainConfig, TrainedModel, model_key, train

__all__ = [
    "DISTILL_LOSSES", "PAIR_KINDS", "TEACHERS", "Pairs", "TrainConfig", "TrainedModel", "distillation_examples", "flops",
    "kl_distillation", "margin_mse", "measure_encoder", "model_key", "negative_logit_share", "qrels_pairs", "ranking_loss",
    "regulariser_weight", "splade_objective", "teacher_scores", "title_pairs", "train", "trained_on", "trained_queries",
]
