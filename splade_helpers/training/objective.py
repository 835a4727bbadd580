"""SPLADE's training objective, written out.

SPLADE's loss (Formal et al. 2021; sentence-transformers' ``SpladeLoss``) adds two regularisers to a
ranking loss::

    L = ranking(q, d) + lambda_d * FLOPS(documents) + lambda_q * FLOPS(queries)

* ranking: an in-batch contrastive loss. Query i should score its own document higher than every
  other document of the batch: softmax cross-entropy over the dot products ``q_i . d_j``.
* FLOPS (Paria et al. 2020): ``sum_j (mean_i w_ij)^2`` over the vocabulary. A query-document dot
  product costs one multiplication per term present in both; the expected cost over pairs is
  ``sum_j p_j(q) p_j(d)``, and FLOPS is a smooth stand-in for it. It punishes terms that are on in
  many vectors at once much more than terms that are on rarely, which is what makes the learned
  vectors sparse: the ReLU of notebook 02 only cuts at zero, this term pushes the logits below it.
* The lambdas grow from 0 to their value over the first third of training (quadratically), so the
  model first learns to rank, then to be sparse.

With a teacher (distillation), the ranking loss compares the student's scores of a query's list (its
positive and its hard negatives) with the teacher's scores of the same list instead:

* margin-MSE (Hofstätter et al. 2020; SPLADE++'s released configurations): the student's margin
  ``s(q, d+) - s(q, d-)`` should equal the teacher's, for every negative; the mean squared error.
* KL divergence (SPLADE-v3 adds it): the softmax of the student's scores over the list should equal
  the softmax of the teacher's; ``KL(teacher || student)`` averaged over the batch.

The functions below compute them on a batch, tested equal to sentence-transformers within 1e-5.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ranking_loss(queries: torch.Tensor, documents: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """In-batch contrastive loss: query i's own document is row i of ``documents``; every other row is a negative.

    Not called by the notebooks; used by splade_objective.

    ``documents`` may hold more rows than ``queries`` (hard negatives after the positives).
    """
    scores = scale * queries @ documents.T
    return F.cross_entropy(scores, torch.arange(queries.shape[0]))


def flops(representations: torch.Tensor) -> torch.Tensor:
    """The FLOPS regulariser: the sum over the vocabulary of each term's squared mean weight in the batch.

    Introduced in notebook 06 (section 2, "Why FLOPS makes vectors sparse").
    """
    return (representations.mean(dim=0) ** 2).sum()


def regulariser_weight(step: int, total_steps: int, weight: float, warmup_ratio: float = 1 / 3) -> float:
    """The weight of a regulariser at ``step``: ``weight * (step / warmup)^2`` during the warm-up, then ``weight``.

    Not called by the notebooks; used by tests/test_training.py (checked against sentence-transformers' warm-up).
    """
    warmup = max(int(total_steps * warmup_ratio), 1)
    return weight if step >= warmup else weight * (step / warmup) ** 2


def splade_objective(queries: torch.Tensor, documents: torch.Tensor, lambda_q: float, lambda_d: float,
                     scale: float = 1.0) -> dict[str, torch.Tensor]:
    """The three parts of SPLADE's loss on one batch of (query, document) representations.

    Introduced in notebook 06 (section 1, "The loss, on one batch").
    """
    return {
        "ranking": ranking_loss(queries, documents, scale),
        "flops_documents": lambda_d * flops(documents),
        "flops_queries": lambda_q * flops(queries),
    }


def margin_mse(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Margin-MSE: ``mean_i,j ((s_i+ - s_ij) - (t_i+ - t_ij))^2`` over each query i's negatives j.

    ``student`` and ``teacher`` are (queries x (1 + negatives)) scores, the positive in column 0.

    Introduced in notebook 06 (section 5, "Distillation: a teacher, hard negatives, and two losses").
    """
    return F.mse_loss(student[:, :1] - student[:, 1:], teacher[:, :1] - teacher[:, 1:])


def kl_distillation(student: torch.Tensor, teacher: torch.Tensor, student_temperature: float = 1.0,
                    teacher_temperature: float = 1.0) -> torch.Tensor:
    """KL divergence from the teacher's softmax over each list to the student's, scaled by ``student_temperature^2``.

    Introduced in notebook 06 (section 5, "Distillation: a teacher, hard negatives, and two losses").
    """
    log_p = torch.log_softmax(student / student_temperature, dim=1)
    target = torch.softmax(teacher / teacher_temperature, dim=1)
    return F.kl_div(log_p, target, reduction="batchmean") * student_temperature ** 2
