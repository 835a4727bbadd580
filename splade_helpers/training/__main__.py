"""Fine-tune a SPLADE model on a collection, on the CPU.

    python -m splade_helpers.training --dataset cranfield|mini|BEIR_FOLDER --pairs titles|qrels --out FOLDER
        [--lambda-d 3e-5] [--lambda-q 5e-5] [--epochs 1] [--max-length 128] [--learning-rate 5e-5]
        [--batch-size 32] [--teacher hybrid|dense|bm25 --negatives 3 --distill-loss margin-mse|kl]
        [--inference-free] [--seed 42] [--half tune|test]

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
from ..datasets import available_datasets, load_dataset
from ..integrity import unlisted
from ..models import check_masked_lm, resolve_model
from . import (DISTILL_LOSSES, PAIR_KINDS, TEACHERS, TrainConfig, distillation_examples, qrels_pairs, teacher_scores,
               title_pairs, train)
from .guards import check_steps

HALVES = ("tune", "test")  # which half of split_queries(seed) gives --pairs qrels its queries


def check_output_folder(path: str) -> Path:
    """The ``--out`` folder, checked before any training starts (the policy of :mod:`splade_helpers.folders`)."""
    return folders.check_output_folder(path, "--out", owned=unlisted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m splade_helpers.training", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="cranfield", help=f"one of {available_datasets()} or a BEIR folder")
    parser.add_argument("--pairs", choices=PAIR_KINDS, default="titles")
    parser.add_argument("--out", required=True, help="folder for the trained model")
    parser.add_argument("--base-model", default=None, help="hub id or folder (default: $SPLADE_MODEL or the bundled model)")
    defaults = TrainConfig()
    parser.add_argument("--lambda-d", type=float, default=defaults.lambda_d)
    parser.add_argument("--lambda-q", type=float, default=defaults.lambda_q)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--max-length", type=int, default=defaults.max_length)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="training seed, and the query split for --pairs qrels")
    parser.add_argument("--teacher", choices=TEACHERS, default=None, help="distil this ranker's scores (hard negatives)")
    parser.add_argument("--negatives", type=int, default=None, help="hard negatives per example, with --teacher (default 3)")
    parser.add_argument("--distill-loss", choices=DISTILL_LOSSES, default=defaults.distill_loss,
                        help="with --teacher: margin-mse (SPLADE++) or kl (SPLADE-v3 adds it)")
    parser.add_argument("--half", choices=HALVES, default="tune",
                        help="--pairs qrels: train on this half of split_queries(seed), evaluate on the other")
    parser.add_argument("--inference-free", action="store_true", help="queries as a learned weight per token")
    args = parser.parse_args(argv)
    try:
        out = check_output_folder(args.out)
        if args.negatives is not None and not args.teacher:
            raise ValueError(f"--negatives {args.negatives} needs --teacher (hard negatives are drawn from a teacher's "
                             f"ranking); add --teacher {TEACHERS[0]}, or drop --negatives.")
        config = TrainConfig(lambda_d=args.lambda_d, lambda_q=args.lambda_q, epochs=args.epochs, max_length=args.max_length,
                             learning_rate=args.learning_rate, batch_size=args.batch_size, seed=args.seed,
                             inference_free=args.inference_free, distill_loss=args.distill_loss)
        check_masked_lm(resolve_model(args.base_model, "splade"))  # before the teacher scores anything
        dataset = load_dataset(args.dataset)
        if args.pairs == "titles":
            pairs = title_pairs(dataset)
        else:
            from ..tuning import split_queries

            if len(dataset.judged_query_ids) < 2:
                raise ValueError(f"{dataset.name!r} has {len(dataset.judged_query_ids)} judged queries; --pairs qrels "
                                 f"needs a tuning half. Use --pairs titles.")
            halves = dict(zip(HALVES, split_queries(dataset.judged_query_ids, seed=args.seed)))
            pairs = qrels_pairs(dataset, halves[args.half], split_seed=args.seed)
        check_steps(pairs, config.batch_size, in_batch_negatives=not args.teacher)  # before the teacher's work too
        if args.teacher:
            pairs = distillation_examples(dataset, pairs, teacher_scores(dataset, pairs.anchors, args.teacher),
                                          negatives=3 if args.negatives is None else args.negatives, seed=args.seed)
        print(f"{dataset!r}: {len(pairs):,} training examples ({pairs.source}); training ...", flush=True)
        model = train(pairs, config, base_model=args.base_model, out=out)
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"trained in {model.seconds:.1f} s -> {model.path}")
    print(held_out_command(args, model.path))
    return 0


def held_out_command(args: argparse.Namespace, path: Path) -> str:
    """How to evaluate the trained folder on queries it never saw (the other half for ``--pairs qrels``)."""
    command = f"python -m splade_helpers.evaluation --dataset {args.dataset} --splade-model {path}"
    if args.pairs == "titles":
        return (f"evaluate it (no query was used for training, so every judged query is held out):\n  {command}\n"
                f"(compare settings on --queries tune and report the chosen one once on --queries test)")
    other = HALVES[1 - HALVES.index(args.half)]
    return (f"evaluate it on the queries it never saw (the {other} half of split_queries(seed={args.seed})):\n"
            f"  {command} --queries {other} --split-seed {args.seed}")


if __name__ == "__main__":
    sys.exit(main())
