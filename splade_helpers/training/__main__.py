"""Fine-tune a SPLADE model on a collection, on the CPU.

    python -m splade_helpers.training --dataset cranfield|mini|BEIR_FOLDER --pairs titles|qrels --out FOLDER
        [--lambda-d 3e-5] [--lambda-q 5e-5] [--epochs 1] [--max-length 128] [--learning-rate 5e-5]
        [--batch-size 32] [--teacher hybrid|dense|bm25 --negatives 3 --distill-loss margin-mse|kl]
        [--inference-free [--query-learning-rate 1e-3]] [--seed 42] [--half tune|test]

``titles``: the collection's own titles as queries for their documents (no judgment used).
``qrels``: the judged queries of one half of ``split_queries(seed)`` (``--half``, default the tuning half).
``--teacher``: distil a stronger ranker's scores over hard negatives instead (margin-MSE as in SPLADE++'s
released configurations, or KL as SPLADE-v3 adds). The folder records the queries it was trained on;
the command prints how to evaluate it on the other half only (``python -m splade_helpers.evaluation``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import folders
from ..datasets import CRANFIELD, available_datasets, load_dataset
from ..integrity import unlisted
from ..models import check_masked_lm, resolve_model
from ..training_record import COURSE_SPLIT_SEED, clean_half, split_seeds, trained_on, trained_queries, unrecorded_bases
from ..validation import cli_message
from . import (DISTILL_LOSSES, PAIR_KINDS, TEACHERS, TrainConfig, distillation_examples, qrels_pairs, teacher_scores,
               title_pairs, train)
from .guards import check_steps
from .pairs import check_negatives

HALVES = ("tune", "test")  # which half of split_queries(seed) gives --pairs qrels its queries


def check_output_folder(path: str) -> Path:
    """The ``--out`` folder, checked before any training starts (the policy of :mod:`splade_helpers.folders`)."""
    return folders.check_output_folder(path, "--out", owned=unlisted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m splade_helpers.training", description=__doc__.split("\n")[0].replace("``", ""))
    parser.add_argument("--dataset", default="cranfield", help=f"one of {available_datasets()} or a BEIR folder")
    parser.add_argument("--pairs", choices=PAIR_KINDS, default="titles",
                        help="titles: each document's title as its query (no judgment used); qrels: the judged queries "
                             "of one half (--half)")
    parser.add_argument("--out", required=True, help="folder for the trained model")
    parser.add_argument("--base-model", default=None, help="hub id or folder (default: $SPLADE_MODEL or the bundled model)")
    defaults = TrainConfig()
    parser.add_argument("--lambda-d", type=float, default=defaults.lambda_d,
                        help=f"FLOPS weight on documents: higher gives sparser documents (default {defaults.lambda_d:g})")
    parser.add_argument("--lambda-q", type=float, default=None,
                        help=f"FLOPS weight on queries (default {defaults.lambda_q:g}; not with --inference-free)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help=f"passes over the pairs (default {defaults.epochs})")
    parser.add_argument("--max-length", type=int, default=defaults.max_length,
                        help=f"tokens read per text while training (default {defaults.max_length})")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                        help=f"peak learning rate after the warm-up (default {defaults.learning_rate:g})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help=f"pairs per optimiser step (default {defaults.batch_size})")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help=f"training seed, and the query split for --pairs qrels (default {defaults.seed})")
    parser.add_argument("--teacher", choices=TEACHERS, default=None, help="distil this ranker's scores (hard negatives)")
    parser.add_argument("--negatives", type=int, default=None, help="hard negatives per example, with --teacher (default 3)")
    parser.add_argument("--distill-loss", choices=DISTILL_LOSSES, default=None,
                        help="with --teacher: margin-mse (SPLADE++, the default) or kl (SPLADE-v3 adds it)")
    parser.add_argument("--half", choices=HALVES, default=None,
                        help="--pairs qrels: train on this half of split_queries(seed) (default tune), evaluate on the other")
    parser.add_argument("--inference-free", action="store_true", help="queries as a learned weight per token")
    parser.add_argument("--query-learning-rate", type=float, default=None,
                        help=f"with --inference-free: the query table's peak learning rate, on the same warm-up and decay "
                             f"(default {defaults.query_learning_rate:g})")
    args = parser.parse_args(argv)
    try:
        out = check_output_folder(args.out)
        for option, value in (("--negatives", args.negatives), ("--distill-loss", args.distill_loss)):
            if value is not None and not args.teacher:
                raise ValueError(f"{option} {value} needs --teacher (it is about distilling a teacher's ranking); add "
                                 f"--teacher {TEACHERS[0]}, or drop {option}.")
        if args.inference_free and args.lambda_q is not None:
            raise ValueError(f"--lambda-q {args.lambda_q:g} does nothing with --inference-free: its queries are a table of "
                             f"weights, not an encoder output to regularise. Drop --lambda-q.")
        if args.query_learning_rate is not None and not args.inference_free:
            raise ValueError(f"--query-learning-rate {args.query_learning_rate:g} sets the learning rate of an inference-free "
                             f"model's query table; this model has none. Add --inference-free, or drop --query-learning-rate.")
        if args.pairs == "titles" and args.half is not None:
            raise ValueError(f"--half {args.half} chooses the judged queries of --pairs qrels; titles use no query, so it "
                             f"does nothing. Add --pairs qrels, or drop --half.")
        negatives = 3 if args.negatives is None else check_negatives(args.negatives, "--negatives")
        config = TrainConfig(lambda_d=args.lambda_d, lambda_q=defaults.lambda_q if args.lambda_q is None else args.lambda_q,
                             epochs=args.epochs, max_length=args.max_length, learning_rate=args.learning_rate,
                             batch_size=args.batch_size, seed=args.seed, inference_free=args.inference_free,
                             distill_loss=args.distill_loss or defaults.distill_loss,
                             query_learning_rate=defaults.query_learning_rate if args.query_learning_rate is None
                             else args.query_learning_rate)
        base = resolve_model(args.base_model, "splade")
        check_masked_lm(base)  # before the teacher scores anything, and so is the base model's training record:
        trained_on(base.path)  # a damaged one is refused here
        dataset = load_dataset(args.dataset)
        if args.pairs == "titles":
            pairs = title_pairs(dataset)
        else:
            from ..tuning import split_queries

            if len(dataset.judged_query_ids) < 2:
                raise ValueError(f"{dataset.name!r} has {len(dataset.judged_query_ids)} judged queries; --pairs qrels "
                                 f"needs a tuning half. Use --pairs titles.")
            halves = dict(zip(HALVES, split_queries(dataset.judged_query_ids, seed=args.seed)))
            pairs = qrels_pairs(dataset, halves[args.half or "tune"], split_seed=args.seed)
        check_steps(pairs, config.batch_size, not args.teacher, config.epochs)  # before the teacher's work too
        if args.teacher:
            pairs = distillation_examples(dataset, pairs, teacher_scores(dataset, pairs.anchors, args.teacher),
                                          negatives=negatives, seed=args.seed)
        print(f"{dataset!r}: {len(pairs):,} training examples ({pairs.source}); training ...", flush=True)
        model = train(pairs, config, base_model=args.base_model, out=out)
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"error: {cli_message(exc, args)}", file=sys.stderr)
        return 2
    except MemoryError:
        why = ("--teacher scores every training query against every document in memory, one (queries x documents) "
               "matrix per retriever, four for the hybrid: with --pairs titles that is documents x documents. Use "
               "--pairs qrels, fewer documents, or more memory." if args.teacher else
               "Lower --batch-size or --max-length, or use a machine with more memory.")
        print(f"error: out of memory (nothing was written to {args.out}). {why}", file=sys.stderr)
        return 2
    if model.reused:
        print(f"{model.path} already holds a model trained with these settings and data (in {model.seconds:.1f} s); kept")
    else:
        print(f"trained in {model.seconds:.1f} s -> {model.path}")
    print(held_out_command(args, dataset, model.path))
    return 0


def held_out_command(args: argparse.Namespace, dataset, path: Path) -> str:
    """How to evaluate the trained folder on queries it never saw (read from the record the folder keeps)."""
    record = trained_on(path)
    command = f"python -m splade_helpers.evaluation --dataset {args.dataset} --splade-model {path}"
    blind = "".join(f"\n(its base model {b!r} records no training queries: what it saw of {dataset.name!r} is unknown)"
                    for b in unrecorded_bases(record))
    teacher_saw_tune = args.teacher == "hybrid" and dataset.name == CRANFIELD  # its weights: Cranfield's tuning half
    if teacher_saw_tune:
        blind += (f"\n(the hybrid teacher fuses with RECOMMENDED_HYBRID's weights, chosen on the tuning half of Cranfield's "
                  f"split_queries(seed={COURSE_SPLIT_SEED}): those queries are not held out from this model either)")
    if not trained_queries(record, dataset.name, dataset.judged_query_ids):
        if teacher_saw_tune:
            return (f"evaluate it on the queries that chose neither the model nor its teacher's weights:\n"
                    f"  {command} --queries test --split-seed {COURSE_SPLIT_SEED}{blind}")
        return (f"evaluate it (no recorded judged query of {dataset.name!r} trained it, so every one is held out):\n"
                f"  {command}\n(compare settings on --queries tune and report the chosen one once on --queries test){blind}")
    seeds = [args.seed, *split_seeds(record)]
    found = clean_half(record, dataset, seeds)
    if found is None:
        tried = ", ".join(str(s) for s in dict.fromkeys(seeds))
        return (f"every half of split_queries(seed={tried}) holds queries that trained it (this run's and its base "
                f"model's): evaluate it on another collection.{blind}")
    half, seed, n = found
    return (f"evaluate it on the {n} queries it never saw (the {half} half of split_queries(seed={seed})):\n"
            f"  {command} --queries {half} --split-seed {seed}{blind}")


if __name__ == "__main__":
    sys.exit(main())
