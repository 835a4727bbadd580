"""How SPLADE learns: its training objective written out, and training on a laptop CPU.

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

The functions below compute it on a batch (tested equal to sentence-transformers within 1e-5);
:func:`train` runs sentence-transformers' ``SparseEncoderTrainer`` with that loss, seeded, on the
CPU, and keeps the trained model in the cache folder under a key of everything that shapes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .cache import cache_dir
from .datasets import Dataset
from .models import resolve_model
from .validation import check_choice, check_int, check_number, check_texts

PAIR_KINDS = ("titles", "qrels")


# --- the objective, written out ---------------------------------------------------------------


def ranking_loss(queries: torch.Tensor, documents: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """In-batch contrastive loss: query i's own document is row i of ``documents``; every other row is a negative.

    ``documents`` may hold more rows than ``queries`` (hard negatives after the positives).
    """
    scores = scale * queries @ documents.T
    return F.cross_entropy(scores, torch.arange(queries.shape[0]))


def flops(representations: torch.Tensor) -> torch.Tensor:
    """The FLOPS regulariser: the sum over the vocabulary of each term's squared mean weight in the batch."""
    return (representations.mean(dim=0) ** 2).sum()


def regulariser_weight(step: int, total_steps: int, weight: float, warmup_ratio: float = 1 / 3) -> float:
    """The weight of a regulariser at ``step``: ``weight * (step / warmup)^2`` during the warm-up, then ``weight``."""
    warmup = max(int(total_steps * warmup_ratio), 1)
    return weight if step >= warmup else weight * (step / warmup) ** 2


def splade_objective(queries: torch.Tensor, documents: torch.Tensor, lambda_q: float, lambda_d: float,
                     scale: float = 1.0) -> dict[str, torch.Tensor]:
    """The three parts of SPLADE's loss on one batch of (query, document) representations."""
    return {
        "ranking": ranking_loss(queries, documents, scale),
        "flops_documents": lambda_d * flops(documents),
        "flops_queries": lambda_q * flops(queries),
    }


# --- training data that never touches test queries ---------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """Training examples: an anchor (a query, or a title standing in for one) and its positive document.

    For distillation, each example also has ``negatives`` (documents ranked below the positive by a
    teacher) and ``labels``: the teacher's scores of the positive and of each negative.
    """

    source: str
    anchors: list[str]
    positives: list[str]
    negatives: list[list[str]] | None = None
    labels: list[list[float]] | None = None
    positive_ids: list[str] | None = None  # the positives' document ids, when they come from a dataset

    def __post_init__(self) -> None:
        check_texts(self.anchors, "anchors")
        check_texts(self.positives, "positives")
        if len(self.anchors) != len(self.positives):
            raise ValueError(f"{len(self.anchors)} anchors but {len(self.positives)} positives; pass one of each per pair.")
        if not self.anchors:
            raise ValueError(f"{self.source}: no training pair; check the dataset (titles? judged queries?).")
        if (self.negatives is None) != (self.labels is None):
            raise ValueError("negatives and labels go together (distillation), or neither.")
        if self.negatives is not None:
            widths = {len(n) for n in self.negatives}
            if len(self.negatives) != len(self.anchors) or len(widths) != 1 or widths == {0}:
                raise ValueError("every example needs the same number (>= 1) of negatives.")
            if any(len(lab) != len(n) + 1 for lab, n in zip(self.labels, self.negatives)):
                raise ValueError("each example needs one teacher score for the positive and one per negative.")

    def __len__(self) -> int:
        return len(self.anchors)

    def digest(self) -> str:
        h = hashlib.sha256(self.source.encode())
        for i, (a, p) in enumerate(zip(self.anchors, self.positives)):
            h.update(a.encode("utf-8") + b"\x00" + p.encode("utf-8") + b"\x01")
            if self.negatives is not None:
                h.update(json.dumps([self.negatives[i], [round(x, 6) for x in self.labels[i]]]).encode())
        return h.hexdigest()[:16]

    def columns(self) -> dict[str, list]:
        """The examples as the trainer's columns (anchor, positive, negative_1..n, label)."""
        out: dict[str, list] = {"anchor": self.anchors, "positive": self.positives}
        if self.negatives is not None:
            for j in range(len(self.negatives[0])):
                out[f"negative_{j + 1}"] = [n[j] for n in self.negatives]
            out["label"] = self.labels
        return out


def title_pairs(dataset: Dataset) -> Pairs:
    """Self-supervised pairs from a collection's own documents: title -> the rest of the document.

    The title plays a short query; the body is its relevant document. Documents without a title or a
    body are skipped. No query or judgment is used, so any collection with titles can be adapted.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}.")
    anchors, positives, ids = [], [], []
    for doc_id, title, text in zip(dataset.doc_ids, dataset.doc_titles or [""] * len(dataset.doc_ids), dataset.doc_texts):
        title = " ".join(title.split())
        body = " ".join(text.split())
        for prefix in (title + ". ", title):  # BEIR folders store "title. text"; Cranfield's text starts with its title
            if title and body.startswith(prefix):
                body = body[len(prefix):].lstrip(" .")
                break
        if title and body:
            anchors.append(title)
            positives.append(body)
            ids.append(doc_id)
    if not anchors:
        raise ValueError(f"{dataset.name!r} has no document with both a title and a body; title pairs need titles "
                         f"(BEIR's 'title' field). Use pairs='qrels' with judged queries instead.")
    return Pairs(f"{dataset.name}:titles", anchors, positives, positive_ids=ids)


def qrels_pairs(dataset: Dataset, query_ids: Sequence[str], min_gain: int = 1) -> Pairs:
    """Supervised pairs: (query, a document judged relevant to it, gain >= ``min_gain``) for the given queries only.

    Pass the *tuning* half of the queries (``split_queries``) and report on the other half.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}.")
    min_gain = check_int(min_gain, "min_gain", minimum=1)
    unknown = [q for q in query_ids if q not in set(dataset.query_ids)]
    if unknown:
        raise ValueError(f"query_ids {unknown[:3]} are not queries of {dataset.name!r}.")
    anchors, positives, ids = [], [], []
    position = {d: i for i, d in enumerate(dataset.doc_ids)}
    for q in query_ids:
        for d, g in sorted(dataset.qrels.get(q, {}).items()):
            if g >= min_gain and dataset.doc_texts[position[d]].strip():
                anchors.append(dataset.query(q))
                positives.append(dataset.doc_texts[position[d]])
                ids.append(d)
    if not anchors:
        raise ValueError(f"no judged pair with gain >= {min_gain} among the {len(query_ids)} queries given; "
                         f"pass tuning queries that have relevant documents.")
    return Pairs(f"{dataset.name}:qrels:{hashlib.sha256(','.join(query_ids).encode()).hexdigest()[:8]}", anchors, positives,
                 positive_ids=ids)


def distillation_examples(dataset: Dataset, pairs: Pairs, teacher_scores: np.ndarray, negatives: int = 3,
                          candidates: int = 30, seed: int = 42) -> Pairs:
    """Listwise distillation examples (SPLADE++'s recipe): each anchor, its positive, and hard negatives, with teacher scores.

    Args:
        pairs: anchors and their positive documents (texts of ``dataset``).
        teacher_scores: a (anchors x documents) matrix from a stronger ranker (e.g. the recommended
            hybrid, or the dense model), in ``dataset.doc_ids`` order.
        negatives: hard negatives per anchor, drawn (seeded) from the teacher's top ``candidates``
            documents other than the positive: documents the teacher finds related but ranks lower.
    """
    negatives = check_int(negatives, "negatives", minimum=1, maximum=16)
    candidates = check_int(candidates, "candidates", minimum=negatives + 1)
    scores = np.asarray(teacher_scores, dtype=np.float64)
    if scores.shape != (len(pairs), len(dataset.doc_ids)):
        raise ValueError(f"teacher_scores has shape {scores.shape}, expected ({len(pairs)}, {len(dataset.doc_ids)}): "
                         f"one row per anchor, one column per document.")
    if pairs.positive_ids is None:
        raise ValueError("pairs must know their positives' document ids (from title_pairs or qrels_pairs).")
    position = {d: i for i, d in enumerate(dataset.doc_ids)}
    rng = np.random.default_rng(seed)
    negs, labels = [], []
    for i, doc_id in enumerate(pairs.positive_ids):
        own = position[doc_id]
        order = [j for j in np.argsort(-scores[i], kind="stable")[: candidates + 1] if j != own and dataset.doc_texts[j].strip()]
        chosen = sorted(rng.choice(len(order), size=negatives, replace=False).tolist())
        negs.append([dataset.doc_texts[order[c]] for c in chosen])
        labels.append([float(scores[i, own])] + [float(scores[i, order[c]]) for c in chosen])
    return Pairs(f"{pairs.source}:distilled:{negatives}", pairs.anchors, pairs.positives, negs, labels, pairs.positive_ids)


def measure_encoder(encoder, dataset: Dataset, query_ids: Sequence[str]) -> dict:
    """A SPLADE encoder on a collection: per-query nDCG@10 on ``query_ids``, non-zeros, FLOPS, index size.

    Works for a :class:`~splade_helpers.sparse.SpladeEncoder` and an inference-free encoder alike.
    """
    from .evaluation import evaluate_run
    from .expansion import expected_flops, index_bytes, sparsity_stats
    from .retrievers import SpladeRetriever

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
    """The share of a model's MLM logits below zero over the texts' real positions: what ReLU turns into zeros."""
    texts = check_texts(texts)
    batch = encoder.tokenizer(texts, padding=True, truncation=True, max_length=encoder.doc_max_length, return_tensors="pt")
    logits = encoder.model(**batch).logits
    real = batch["attention_mask"].bool()
    return float((logits[real] < 0).float().mean())


TEACHERS = ("hybrid", "dense", "bm25")


def teacher_scores(dataset: Dataset, anchors: Sequence[str], teacher: str = "hybrid") -> np.ndarray:
    """(anchors x documents) scores of a teacher over ``dataset``'s documents.

    ``hybrid`` is the course's recommended fusion (min-max, dense 0.65, BM25 and the bundled SPLADE
    0.175 each: 0.423 nDCG@10 on Cranfield against 0.355 for SPLADE alone), ``dense`` the MiniLM
    cosine, ``bm25`` BM25. Min-max normalised per anchor, so every teacher scores in [0, 1].
    """
    from .fusion import normalize, weighted_sum
    from .retrievers import RECOMMENDED_HYBRID, build_retrievers

    teacher = check_choice(teacher, "teacher", TEACHERS)
    anchors = check_texts(anchors, "anchors")
    names = list(RECOMMENDED_HYBRID["weights"]) if teacher == "hybrid" else [teacher]
    retrievers = build_retrievers(names)
    scores = {n: r.index(dataset.doc_ids, dataset.doc_texts).scores(anchors) for n, r in retrievers.items()}
    if teacher == "hybrid":
        return weighted_sum([scores[n] for n in names], [RECOMMENDED_HYBRID["weights"][n] for n in names], "minmax")
    return normalize(scores[teacher], "minmax")


# --- training -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a trained model (and its cache key).

    Defaults: sentence-transformers' SPLADE example (lambda_d 3e-5, lambda_q 5e-5), one epoch,
    batch 32, learning rate 5e-5, 128 tokens (Cranfield's median abstract is 175: most of each is kept).
    ``inference_free``: queries become one learned weight per vocabulary token (initialised from the
    documents' IDF); documents keep the MLM encoder.
    """

    lambda_d: float = 3e-5
    lambda_q: float = 5e-5
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 128
    seed: int = 42
    inference_free: bool = False
    teacher_temperature: float = 0.05  # distillation only: softens the teacher's scores (0..1) against the student's dot products
    max_steps: int = -1  # for tests: stop after this many optimiser steps

    def __post_init__(self) -> None:
        check_number(self.lambda_d, "lambda_d", minimum=0.0)
        check_number(self.lambda_q, "lambda_q", minimum=0.0)
        check_int(self.epochs, "epochs", minimum=1, maximum=100)
        check_int(self.batch_size, "batch_size", minimum=2, hint="In-batch negatives need at least 2 pairs per batch.")
        check_number(self.learning_rate, "learning_rate", above=0.0, maximum=1.0)
        check_int(self.max_length, "max_length", minimum=8, maximum=512)
        check_int(self.seed, "seed")
        check_int(self.max_steps, "max_steps", minimum=-1)
        check_number(self.teacher_temperature, "teacher_temperature", above=0.0)


@dataclass
class TrainedModel:
    """A trained SPLADE model folder, and how it was made."""

    path: Path
    config: TrainConfig
    pairs: str
    base_model: str
    seconds: float
    history: list[dict] = field(default_factory=list)  # one entry per logged step: loss parts, nonzeros

    def encoder(self, **kwargs):
        """An encoder of the trained model: a SpladeEncoder, or an InferenceFreeEncoder."""
        if self.config.inference_free:
            from .inference_free import InferenceFreeEncoder

            return InferenceFreeEncoder(self.path, **kwargs)
        from .sparse import SpladeEncoder

        return SpladeEncoder(str(self.path), **kwargs)


def model_key(base: str, pairs: Pairs, config: TrainConfig) -> str:
    """The cache key of a trained model: base model, training data and settings."""
    payload = json.dumps({"base": base, "pairs": pairs.digest(), "config": asdict(config), "v": 3}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def train(
    pairs: Pairs,
    config: TrainConfig = TrainConfig(),
    base_model: str | None = None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    cache: bool = True,
) -> TrainedModel:
    """Fine-tune a SPLADE model on ``pairs`` with SPLADE's loss, through ``SparseEncoderTrainer`` on the CPU.

    Args:
        base_model: hub id or folder (default: ``$SPLADE_MODEL`` or the bundled splade-tiny).
        out: where to put the trained folder; default the cache (``<cache>/models/<key>``), where a
            finished model with the same key is loaded instead of trained again.
    Returns:
        the trained model; ``SpladeEncoder(model.path)`` (or ``model.encoder()``) loads it.
    """
    if not isinstance(pairs, Pairs):
        raise TypeError(f"pairs must come from title_pairs or qrels_pairs, got {type(pairs).__name__}.")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}.")
    source = resolve_model(base_model, "splade")
    key = model_key(f"{source.name}:{source.fingerprint}", pairs, config)
    target = Path(out).expanduser() if out is not None else cache_dir() / "models" / key
    record = target / "splade_helpers_training.json"
    if cache and record.is_file():
        try:
            meta = json.loads(record.read_text(encoding="utf-8"))
            if meta.get("key") == key:
                return TrainedModel(target, config, pairs.source, source.name, meta["seconds"], meta.get("history", []))
        except (OSError, ValueError, KeyError):
            pass  # damaged: train again
    if target.exists() and any(target.iterdir()) and not record.is_file():
        raise ValueError(f"out={str(target)!r} exists and is not empty; choose a new or empty folder.")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=".train-", dir=parent)
    except OSError as exc:
        raise ValueError(f"out={str(target)!r} cannot be written ({exc.strerror}); choose a writable folder.") from None
    try:
        seconds, history = _fit(pairs, config, source.path, Path(probe), progress)
        (Path(probe) / "splade_helpers_training.json").write_text(json.dumps(
            {"key": key, "base_model": source.name, "pairs": pairs.source, "config": asdict(config),
             "seconds": seconds, "history": history}, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(probe, target)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return TrainedModel(target, config, pairs.source, source.name, seconds, history)


def _fit(pairs: Pairs, config: TrainConfig, base: Path, folder: Path, progress: bool | None) -> tuple[float, list[dict]]:
    import logging
    import warnings

    import datasets as hf_datasets
    import transformers
    from sentence_transformers.sparse_encoder import SparseEncoder, SparseEncoderTrainer, SparseEncoderTrainingArguments
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    from .sparse import progress_enabled

    transformers.utils.logging.set_verbosity_error()
    for name in ("sentence_transformers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    hf_datasets.disable_progress_bars()
    transformers.set_seed(config.seed)
    model = _inference_free_model(base, pairs.positives) if config.inference_free else SparseEncoder(str(base), device="cpu")
    model.max_seq_length = config.max_length
    data = hf_datasets.Dataset.from_dict(pairs.columns())
    if pairs.labels is not None:
        from sentence_transformers.sparse_encoder.losses import SparseDistillKLDivLoss

        ranking = SparseDistillKLDivLoss(model, temperature=2.0, teacher_temperature=config.teacher_temperature)
    else:
        ranking = SparseMultipleNegativesRankingLoss(model)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # SpladeLoss warns on the root logger that an inference-free model has no query regulariser
    try:
        loss = SpladeLoss(model, ranking, document_regularizer_weight=config.lambda_d,
                          query_regularizer_weight=None if config.inference_free else config.lambda_q)
    finally:
        root.setLevel(level)
    steps_per_epoch = max(len(pairs) // config.batch_size, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = SparseEncoderTrainingArguments(
            output_dir=str(folder / "checkpoints"), num_train_epochs=config.epochs, max_steps=config.max_steps,
            per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate, seed=config.seed,
            data_seed=config.seed, warmup_steps=0.1, save_strategy="no", report_to="none", use_cpu=True,
            logging_steps=max(steps_per_epoch // 10, 1), disable_tqdm=not progress_enabled(progress, len(pairs)),
            dataloader_drop_last=True, batch_sampler="no_duplicates" if pairs.labels is None else "batch_sampler",
            router_mapping=({"anchor": "query", **{c: "document" for c in data.column_names if c not in ("anchor", "label")}}
                            if config.inference_free else {}),
        )
    history: list[dict] = []
    class Trainer(SparseEncoderTrainer):
        def add_model_card_callback(self, default_args_dict) -> None:
            """No model card: its widget examples print progress bars and draw from Python's random generator."""

    trainer = Trainer(model=model, args=args, train_dataset=data, loss=loss, callbacks=[_History(history, model, pairs)])
    trainer.remove_callback(transformers.trainer_callback.PrinterCallback)  # the history keeps the logs
    start = time.perf_counter()
    with fast_splade_head(model):
        trainer.train()
    seconds = time.perf_counter() - start
    model.save(str(folder))
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    return seconds, history


# --- the max-first pooling of notebook 02, with a backward pass --------------------------------------


class _HeadInput(Exception):
    """Carries the input of the MLM head's last layer out of the forward pass."""


def _stop_with_input(module: torch.nn.Module, args: tuple) -> None:
    raise _HeadInput(args[0])


class PooledHead(torch.autograd.Function):
    """``max`` over each text's positions of ``tokens @ weight.T + bias``: a (texts x vocabulary) matrix.

    ``tokens`` holds the real (unpadded) positions of every text, one text after the other; ``lengths``
    says how many belong to each. Forward: the logits are computed a block of the vocabulary at a time
    and max-pooled at once, so the (tokens x vocabulary) matrix never exists (at batch 32 and 128
    tokens it would be 500 MB). Backward: the max sends each text's gradient to the one position that
    won it, exactly as autograd does for ``torch.max``; only the (text, term) pairs with a non-zero
    gradient are touched (log1p(relu) zeroes the others), so the backward pass costs a few thousand
    row updates instead of a matrix product over the whole vocabulary.
    """

    @staticmethod
    def forward(ctx, tokens: torch.Tensor, lengths: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        bounds = [0, *torch.cumsum(lengths, 0).tolist()]
        vocab = weight.shape[0]
        pooled = torch.empty((len(bounds) - 1, vocab), dtype=tokens.dtype)
        winner = torch.empty((len(bounds) - 1, vocab), dtype=torch.long)
        for v0 in range(0, vocab, 2048):
            block = torch.addmm(bias[v0 : v0 + 2048], tokens, weight[v0 : v0 + 2048].T)
            for r in range(len(bounds) - 1):
                value, where = block[bounds[r] : bounds[r + 1]].max(dim=0)
                pooled[r, v0 : v0 + 2048] = value
                winner[r, v0 : v0 + 2048] = where + bounds[r]
        ctx.save_for_backward(tokens, weight, winner)
        return pooled

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        tokens, weight, winner = ctx.saved_tensors
        text, term = torch.nonzero(grad, as_tuple=True)
        values, rows = grad[text, term], winner[text, term]
        grad_tokens = torch.zeros_like(tokens).index_add_(0, rows, values[:, None] * weight[term])
        grad_weight = torch.zeros_like(weight).index_add_(0, term, values[:, None] * tokens[rows])
        grad_bias = torch.zeros(weight.shape[0], dtype=grad.dtype).index_add_(0, term, values)
        return grad_tokens, None, grad_weight, grad_bias


def splade_forward(mlm: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    """SPLADE vectors ``max_i log1p(relu(logit_i))`` of a masked-language model, differentiable, via :class:`PooledHead`."""
    decoder = mlm.get_output_embeddings()
    handle = decoder.register_forward_pre_hook(_stop_with_input)
    try:
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        mlm(input_ids=input_ids, attention_mask=attention_mask, **extra)
        raise RuntimeError("the MLM head's output layer was never called")  # pragma: no cover
    except _HeadInput as got:
        hidden = got.args[0]
    finally:
        handle.remove()
    mask = attention_mask.bool()
    pooled = PooledHead.apply(hidden[mask], mask.sum(dim=1), decoder.weight, decoder.bias)
    return torch.log1p(torch.relu(pooled))


class fast_splade_head:
    """Within this block, a SparseEncoder's MLM + SpladePooling (max, relu) run through :func:`splade_forward`.

    Same vectors and same gradients (tested against the library's own path), a fraction of the
    memory and time; the model's weights are the same objects, so saving it afterwards saves the
    trained model in the library's own format.
    """

    def __init__(self, model) -> None:
        self.pairs = []
        for transformer, pooling in _mlm_pooling_pairs(model):
            self.pairs.append((transformer, pooling))

    def __enter__(self):
        for transformer, pooling in self.pairs:
            def forward(features, _t=transformer, **kwargs):
                features["sentence_embedding"] = splade_forward(
                    _t.auto_model, features["input_ids"], features["attention_mask"], features.get("token_type_ids"))
                return features

            def passthrough(features, **kwargs):
                return features

            transformer.forward, pooling.forward = forward, passthrough
        return self

    def __exit__(self, *exc) -> None:
        for transformer, pooling in self.pairs:
            del transformer.forward, pooling.forward


def _mlm_pooling_pairs(model) -> list:
    """(MLM transformer, SpladePooling) module pairs of a SparseEncoder, its Router's document side included."""
    from sentence_transformers.sparse_encoder.modules import Router, SpladePooling

    found, stacks = [], [list(model)]
    while stacks:
        modules = stacks.pop()
        for a, b in zip(modules, modules[1:]):
            if isinstance(b, SpladePooling) and b.pooling_strategy == "max" and b.activation_function == "relu" \
                    and hasattr(a, "auto_model") and a.auto_model.get_output_embeddings() is not None:
                found.append((a, b))
        for m in modules:
            if isinstance(m, Router):
                stacks += [list(route) for route in m.sub_modules.values()]
    return found


class _History(__import__("transformers").TrainerCallback):
    """Keeps the logged loss parts and, at each log, the mean non-zeros of a fixed probe of anchors and documents."""

    def __init__(self, history: list[dict], model, probe: Pairs) -> None:
        self.history, self.model = history, model
        self.anchors, self.documents = probe.anchors[:16], probe.positives[:16]

    def _nonzeros(self) -> dict[str, float]:
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                q = self.model.encode_query(self.anchors, convert_to_tensor=True).to_dense()
                d = self.model.encode_document(self.documents, convert_to_tensor=True).to_dense()
        finally:
            self.model.train(was_training)
        return {"query_nonzeros": float((q > 0).sum(dim=1).float().mean()), "document_nonzeros": float((d > 0).sum(dim=1).float().mean())}

    def on_train_begin(self, args, state, control, **kwargs):
        self.history.append({"step": 0, **self._nonzeros()})

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            entry = {"step": state.global_step, **{k: float(v) for k, v in logs.items() if isinstance(v, (int, float))}}
            self.history.append({**entry, **self._nonzeros()})


def _inference_free_model(base: Path, documents: Sequence[str]):
    """An inference-free SPLADE: one weight per vocabulary token for queries (from the documents' IDF), the MLM for documents."""
    from sentence_transformers.sparse_encoder import SparseEncoder
    from sentence_transformers.sparse_encoder.modules import MLMTransformer, Router, SparseStaticEmbedding, SpladePooling

    from .inference_free import idf_weights

    mlm = MLMTransformer(str(base), _from_auto_load=True)
    query = SparseStaticEmbedding(tokenizer=mlm.tokenizer, weight=idf_weights(mlm.tokenizer, documents), frozen=False)
    router = Router.for_query_document(query_modules=[query], document_modules=[mlm, SpladePooling("max")])
    return SparseEncoder(modules=[router], similarity_fn_name="dot", device="cpu")
