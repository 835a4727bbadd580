"""Training a SPLADE model through sentence-transformers' ``SparseEncoderTrainer`` on the CPU, cached on disk.

:func:`train` runs the trainer with SPLADE's loss (:mod:`.objective` writes it out), seeded, with the
max-first head of :mod:`splade_helpers.kernels.training_head`, and keeps the trained model in the cache folder under a key of
everything that shapes it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import TrainerCallback

from ..cache import cache_dir, digest
from ..folders import check_free_space, check_output_folder, replace_folder
from ..inference_free import DOCUMENT_FOLDER
from ..integrity import unlisted, write_manifest
from ..kernels.training_head import fast_splade_head
from ..models import check_masked_lm, resolve_model
from ..training_record import local_folder, trained_on
from ..validation import check_choice, check_int, check_number
from .guards import RECORD_FILE, NonFiniteLoss, check_finite_weights, check_steps, finished_model, finite_loss_trainer
from .pairs import Pairs

DISTILL_LOSSES = ("margin-mse", "kl")
STUDENT_TEMPERATURE = 2.0  # distillation: the student's scores are divided by it (KL); margin-MSE's targets use it too


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a trained model (and its cache key).

    Introduced in notebook 06 (section 3, "Training on a laptop CPU").

    Defaults: sentence-transformers' SPLADE example (lambda_d 3e-5, lambda_q 5e-5), one epoch,
    batch 32, learning rate 5e-5, 128 tokens (Cranfield's median abstract is 175: most of each is kept).
    ``inference_free``: queries become one learned weight per vocabulary token (initialised from the
    documents' IDF); documents keep the MLM encoder. ``distill_loss`` (distillation only): ``margin-mse``
    (SPLADE++'s released configurations) or ``kl`` (SPLADE-v3 adds it); both aim at the same margins, the
    teacher's scores divided by ``teacher_temperature`` against the student's divided by ``STUDENT_TEMPERATURE``.
    ``query_learning_rate`` (inference-free only): the table's weights start from IDF values of a few units and
    learn at their own peak rate, as in sentence-transformers' inference-free examples (at the encoder's 5e-5 they
    barely moved; even at 1e-3, one epoch of Cranfield's titles moves them by at most about 0.01).
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
    distill_loss: str = "margin-mse"  # distillation only: "margin-mse" or "kl"
    max_steps: int = -1  # for tests: stop after this many optimiser steps
    query_learning_rate: float = 1e-3  # inference-free only: the query table's own rate (sentence-transformers' example)

    def __post_init__(self) -> None:
        check_number(self.lambda_d, "lambda_d", minimum=0.0)
        check_number(self.lambda_q, "lambda_q", minimum=0.0)
        check_int(self.epochs, "epochs", minimum=1, maximum=100)
        check_int(self.batch_size, "batch_size", minimum=2, hint="In-batch negatives need at least 2 pairs per batch.")
        check_number(self.learning_rate, "learning_rate", above=0.0, maximum=1.0)
        check_int(self.max_length, "max_length", minimum=8, maximum=512)
        check_int(self.seed, "seed", minimum=0, maximum=2**32 - 1, hint="Seeds of numpy and torch are 32-bit.")
        check_int(self.max_steps, "max_steps", minimum=-1)
        check_number(self.teacher_temperature, "teacher_temperature", above=0.0)
        check_choice(self.distill_loss, "distill_loss", DISTILL_LOSSES)
        check_number(self.query_learning_rate, "query_learning_rate", above=0.0, maximum=1.0)


@dataclass
class TrainedModel:
    """A trained SPLADE model folder, and how it was made.

    Not called by the notebooks; used by train, which returns it.
    """

    path: Path
    config: TrainConfig
    pairs: str
    base_model: str
    seconds: float
    history: list[dict] = field(default_factory=list)  # one entry per logged step: loss parts, nonzeros
    reused: bool = False  # loaded from a finished folder with the same key instead of trained in this call

    def encoder(self, **kwargs):
        """An encoder of the trained model: a SpladeEncoder, or an InferenceFreeEncoder."""
        if self.config.inference_free:
            from ..inference_free import InferenceFreeEncoder

            return InferenceFreeEncoder(self.path, **kwargs)
        from ..sparse import SpladeEncoder

        return SpladeEncoder(str(self.path), **kwargs)


def model_key(base: str, pairs: Pairs, config: TrainConfig) -> str:
    """The cache key of a trained model: base model, training data and settings.

    Not called by the notebooks; used by train (the cache key of a trained model).
    """
    fields = asdict(config)
    if not config.inference_free:
        del fields["query_learning_rate"]  # it shapes only an inference-free model's query table
    return digest("model-v5", base, pairs.digest(), fields, size=20)


def train(
    pairs: Pairs,
    config: TrainConfig = TrainConfig(),
    base_model: str | None = None,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    cache: bool = True,
) -> TrainedModel:
    """Fine-tune a SPLADE model on ``pairs`` with SPLADE's loss, through ``SparseEncoderTrainer`` on the CPU.

    Introduced in notebook 06 (section 3, "Training on a laptop CPU").

    Args:
        base_model: hub id or folder (default: ``$SPLADE_MODEL`` or the bundled splade-tiny).
        out: where to put the trained folder; default the cache (``<cache>/models/<key>``). A finished, intact
            model with the same key there is loaded instead of trained again. An existing ``out`` is replaced only
            when every file in it is the package's own (listed in its manifest and unchanged since: a damaged or
            edited file is left alone and the call refused), never through a link, never the
            working directory (:mod:`splade_helpers.folders`); the new model is swapped in when complete.
    Returns:
        the trained model; ``SpladeEncoder(model.path)`` (or ``model.encoder()``) loads it.
    Raises:
        ValueError: before any work, for an output folder that may not be replaced, a base model that is not a
            masked-language model, pairs that make no optimiser step; after it, for a loss that became NaN or
            infinite (the step is named; nothing is saved).
    """
    if not isinstance(pairs, Pairs):
        raise TypeError(f"pairs must come from title_pairs or qrels_pairs, got {type(pairs).__name__}.")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}.")
    source = resolve_model(base_model, "splade")
    check_masked_lm(source)
    key = model_key(f"{source.name}:{source.fingerprint}", pairs, config)
    owned = None if out is None else unlisted  # the cache is ours; a folder the user names is checked file by file
    # checked before any work: where (a link, the working directory, a file are refused) and, in a folder the user
    # named, whose files (nothing that is not ours as we wrote it), whether the model there is reused or replaced
    target = cache_dir() / "models" / key if out is None else check_output_folder(out, "out", owned)
    if cache and (target / RECORD_FILE).is_file():
        meta = finished_model(target, key, DOCUMENT_FOLDER if config.inference_free else None)
        if meta is not None:
            return TrainedModel(target, config, pairs.source, source.name, meta["seconds"], meta.get("history", []), True)
    if out is None:
        target = check_output_folder(target, "out", owned)
    check_steps(pairs, config.batch_size, pairs.labels is None, config.epochs, config.max_steps)
    record = pairs.trained_on()
    base_record = trained_on(source.path)  # trained from a trained model: its queries trained this one too
    if base_record is not None:
        record["base"] = base_record
    elif local_folder(source.name):  # a folder that records nothing: say so, rather than look complete
        record["base_unrecorded"] = source.name
    size = sum(f.stat().st_size for f in source.path.rglob("*") if f.is_file())
    check_free_space(target.parent, int(size * 1.2) + 2**24, f"the trained model (about the size of {source.name!r})")
    with replace_folder(target, "out", owned) as folder:
        try:
            seconds, history = _fit(pairs, config, source.path, folder, progress)
        except NonFiniteLoss as exc:
            raise ValueError(f"training stopped at step {exc.step}: the loss is {exc.value} (lambda_d={config.lambda_d:g}, "
                             f"lambda_q={config.lambda_q:g}, learning_rate={config.learning_rate:g}). The regulariser or "
                             f"the step is too large for float32 arithmetic: lower them. Nothing was saved.") from None
        except OSError as exc:
            raise ValueError(f"the trained model could not be saved beside {str(target)!r} ({exc.strerror}); free space "
                             f"or choose another folder. Nothing was replaced.") from None
        (folder / RECORD_FILE).write_text(json.dumps(
            {"key": key, "base_model": source.name, "pairs": pairs.source, "config": asdict(config),
             "trained_on": record, "seconds": seconds, "history": history}, indent=1), encoding="utf-8")
        write_manifest(folder, {"key": key})  # last: a folder without it was never finished
    return TrainedModel(target, config, pairs.source, source.name, seconds, history)


def _fit(pairs: Pairs, config: TrainConfig, base: Path, folder: Path, progress: bool | None) -> tuple[float, list[dict]]:
    import logging
    import warnings

    import datasets as hf_datasets
    import transformers
    from sentence_transformers.sparse_encoder import SparseEncoder, SparseEncoderTrainer, SparseEncoderTrainingArguments
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    from ..course import progress_enabled

    transformers.utils.logging.set_verbosity_error()
    for name in ("sentence_transformers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    hf_datasets.disable_progress_bars()
    transformers.set_seed(config.seed)
    model = _inference_free_model(base, pairs.positives) if config.inference_free else SparseEncoder(str(base), device="cpu")
    model.max_seq_length = config.max_length
    data = hf_datasets.Dataset.from_dict(_columns(pairs, config))
    ranking = _distillation_loss(model, config) if pairs.labels is not None else SparseMultipleNegativesRankingLoss(model)
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
            # the Router's query route holds only the table (its parameter: model.0.sub_modules.query.0.weight)
            learning_rate_mapping={r"sub_modules\.query\.": config.query_learning_rate} if config.inference_free else {},
        )
    history: list[dict] = []
    trainer = finite_loss_trainer(SparseEncoderTrainer)(model=model, args=args, train_dataset=data, loss=loss, callbacks=[_History(history, model, pairs)])
    trainer.remove_callback(transformers.trainer_callback.PrinterCallback)  # the history keeps the logs
    start = time.perf_counter()
    with fast_splade_head(model):
        trainer.train()
    seconds = time.perf_counter() - start
    if trainer.state.global_step == 0:
        raise ValueError(f"training took no optimiser step ({len(pairs)} pairs, batch size {config.batch_size}: the batch "
                         f"sampler found no batch without a repeated text); nothing was saved. Use more varied pairs "
                         f"or a smaller batch size.")
    check_finite_weights(model)
    model.save(str(folder))
    shutil.rmtree(folder / "checkpoints", ignore_errors=True)
    return seconds, history

def _columns(pairs: Pairs, config: TrainConfig) -> dict[str, list]:
    """The trainer's columns; for margin-MSE the teacher's scores scaled to the student's (``STUDENT_TEMPERATURE /
    teacher_temperature``): the margins KL aims at, since a softmax of scores divided by a temperature depends on them only."""
    columns = pairs.columns()
    if pairs.labels is not None and config.distill_loss == "margin-mse":
        scale = STUDENT_TEMPERATURE / config.teacher_temperature
        columns["label"] = [[x * scale for x in row] for row in pairs.labels]
    return columns


def _distillation_loss(model, config: TrainConfig):
    """sentence-transformers' margin-MSE or KL loss (:mod:`.objective` writes both out)."""
    from sentence_transformers.sparse_encoder.losses import SparseDistillKLDivLoss, SparseMarginMSELoss

    if config.distill_loss == "margin-mse":
        return SparseMarginMSELoss(model)
    return SparseDistillKLDivLoss(model, temperature=STUDENT_TEMPERATURE, teacher_temperature=config.teacher_temperature)


class _History(TrainerCallback):
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

    from ..inference_free import idf_weights

    mlm = MLMTransformer(str(base), _from_auto_load=True)
    query = SparseStaticEmbedding(tokenizer=mlm.tokenizer, weight=idf_weights(mlm.tokenizer, documents), frozen=False)
    router = Router.for_query_document(query_modules=[query], document_modules=[mlm, SpladePooling("max")])
    return SparseEncoder(modules=[router], similarity_fn_name="dot", device="cpu")
