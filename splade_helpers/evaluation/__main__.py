"""Compare retrievers on a test collection.

    python -m splade_helpers.evaluation --dataset cranfield|mini|PATH_TO_BEIR_FOLDER \\
        [--retrievers bm25,splade,dense,hybrid] [--json FILE] [--no-cache] \\
        [--backend memory|qdrant|edge|local|server] [--splade-model NAME_OR_FOLDER] \\
        [--queries all|tune|test] [--split-seed N] [--include-trained-queries]

Prints one row per retriever (nDCG@10, R@100, MRR@10 over the judged queries, or one half of
``split_queries(seed)``, and the seconds spent encoding in this run: near 0 when the encodings come
from the on-disk cache). A SPLADE folder made by ``python -m splade_helpers.training`` records the
queries it trained on: metrics over any of them are refused, or reported labelled with
``--include-trained-queries``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..datasets import available_datasets, load_dataset
from ..folders import check_output_file, write_file
from ..fusion import ENGINE_HYBRID
from ..models import DEFAULT_SPLADE_MODEL
from ..retrievers import RETRIEVERS, retriever_names
from ..training_record import (COURSE_SPLIT_SEED, clean_half, local_folder, other_collections, split_seeds, trained_on,
                               trained_queries, unrecorded_bases)
from ..validation import check_int, cli_message
from .compare import BACKENDS, compare_retrievers, format_table, hybrid_label

QUERY_SETS = ("all", "tune", "test")
DEFAULT_SPLIT_SEED = COURSE_SPLIT_SEED  # a trained folder's own split seed wins


def evaluation_queries(dataset, which: str, split_seed: int) -> list[str]:
    """The judged queries to evaluate: all of them, or one half of ``split_queries(judged, seed=split_seed)``."""
    if which == "all":
        return dataset.judged_query_ids
    from ..tuning import split_queries

    return dict(zip(("tune", "test"), split_queries(dataset.judged_query_ids, seed=split_seed)))[which]


def held_out(args: argparse.Namespace, dataset, names: list[str]) -> tuple[list[str], int | None, list[str], list[str]]:
    """The queries to evaluate, the split seed used, those among them that trained the SPLADE model, and notes.

    The SPLADE model is the one the run uses: ``--splade-model``, else ``$SPLADE_MODEL``, else the bundled one.
    Notes say when the check cannot see: a folder that records nothing, or training queries of another collection.

    Raises ValueError when some of them trained the model and ``--include-trained-queries`` was not given.
    """
    if args.split_seed is not None:
        check_int(args.split_seed, "--split-seed", minimum=0, hint=f"Seeds are >= 0; the course's split is {DEFAULT_SPLIT_SEED}.")
        if args.queries == "all":
            raise ValueError(f"--split-seed {args.split_seed} chooses a half of the queries; with --queries all it does "
                             f"nothing. Add --queries tune or --queries test, or drop --split-seed.")
    from ..inference_free import sparse_model_source

    record, model, notes = None, None, []
    if args.splade_model and not {"splade", "hybrid"} & set(names):
        raise ValueError(f"--splade-model {args.splade_model} is used by the splade and hybrid retrievers, and "
                         f"--retrievers {args.retrievers} has neither. Add splade or hybrid, or drop --splade-model.")
    if {"splade", "hybrid"} & set(names):
        model = sparse_model_source(args.splade_model)  # what compare_retrievers will load
        record = trained_on(model.path)
        unknown = [model.name] if record is None and local_folder(model.name) else unrecorded_bases(record)
        for name in unknown:
            notes.append(f"note: the model folder {name!r}{' (the base this model was trained from)' if name != model.name else ''} "
                         f"records no training queries (another tool made it, or a version of python -m "
                         f"splade_helpers.training that did not record them): if it was fine-tuned on queries of "
                         f"{dataset.name!r}, the metrics over them are optimistic.")
        elsewhere = other_collections(record, dataset.name)
        if elsewhere:
            notes.append(f"note: {model.name!r} was trained on queries of {', '.join(map(repr, elsewhere))}, and this "
                         f"dataset is {dataset.name!r}: query ids of different collections cannot be compared, so if "
                         f"they are the same collection, evaluate on the half it never saw.")
    recorded = (record or {}).get("split_seed")
    seed = args.split_seed if args.split_seed is not None else recorded if recorded is not None else DEFAULT_SPLIT_SEED
    query_ids = evaluation_queries(dataset, args.queries, seed)
    leaked = trained_queries(record, dataset.name, query_ids)
    if leaked and not args.include_trained_queries:
        raise ValueError(
            f"{len(leaked)} of the {len(query_ids)} queries asked for (--queries {args.queries}) trained the SPLADE model "
            f"{model.name!r}: its metrics over them measure memory, not retrieval. "
            f"{_held_out_advice(record, dataset, [seed, *split_seeds(record), DEFAULT_SPLIT_SEED])} Or pass "
            f"--include-trained-queries to report them anyway, labelled.")
    return query_ids, None if args.queries == "all" else seed, leaked, notes


def _held_out_advice(record: dict, dataset, seeds: list[int | None]) -> str:
    """Which half of which split holds none of the model's training queries, as options to pass; or why none does."""
    found = clean_half(record, dataset, seeds)
    if found is None:
        tried = ", ".join(str(s) for s in dict.fromkeys(s for s in seeds if s is not None))
        return (f"No half of split_queries(seed={tried}) avoids them (the model trained on queries of several halves): "
                f"evaluate it on another collection.")
    half, seed, n = found
    return f"Evaluate it on the {n} queries it never saw: --queries {half} --split-seed {seed}."


MADE_BY = "splade_helpers.evaluation"
WRITTEN = {"made_by", "dataset", "k", "backend", "queries", "split_seed", "splade_model", "trained_queries_included",
           "trained_query_ids", "warning", "notes", "results"}  # the keys of the --json file, and no others


def ours(path: Path) -> bool:
    """Whether ``path`` is a results file this command wrote (so ``--json`` may replace it)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size < 2**28 else None
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or not set(record) <= WRITTEN:  # a key we never write: someone added it
        return False
    return record.get("made_by") == MADE_BY  # generic keys alone ("dataset", "results") prove nothing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m splade_helpers.evaluation", description=__doc__.split("\n")[0].replace("``", ""))
    parser.add_argument("--dataset", default="cranfield", help=f"one of {available_datasets()} or a BEIR folder")
    parser.add_argument("--retrievers", default=",".join(RETRIEVERS), help="comma-separated subset of " + ",".join(RETRIEVERS))
    parser.add_argument("--json", metavar="FILE", help="also write the rows (with per-query metrics) as JSON")
    parser.add_argument("--k", type=int, default=100, help="documents retrieved per query (default 100)")
    parser.add_argument("--no-cache", action="store_true", help="encode from scratch, ignoring the on-disk cache")
    parser.add_argument("--backend", default="memory", choices=BACKENDS,
                        help="memory (every document scored in this process); or an engine searched as deployed (each "
                             "vector's top k, the hybrid fused by the engine): qdrant (a server if QDRANT_URL is set, "
                             "else Qdrant Edge), edge, local (qdrant-client's local mode), server")
    parser.add_argument("--splade-model", default=None, help="SPLADE hub id or folder (e.g. one made by python -m splade_helpers.training; default: $SPLADE_MODEL, else the bundled model)")
    parser.add_argument("--queries", choices=QUERY_SETS, default="all",
                        help="all judged queries, or one half of split_queries(seed): tune or test")
    parser.add_argument("--split-seed", type=int, default=None,
                        help=f"the split's seed (default: the one a trained --splade-model records, else {DEFAULT_SPLIT_SEED})")
    parser.add_argument("--include-trained-queries", action="store_true",
                        help="report metrics over queries that trained --splade-model, labelled, instead of refusing")
    args = parser.parse_args(argv)
    try:
        if args.json is not None:  # before the run, not after it; an existing file only if this command wrote it
            json_path = check_output_file(args.json, "--json", ours)
        dataset = load_dataset(args.dataset)
        names = retriever_names(args.retrievers)
        query_ids, seed, leaked, notes = held_out(args, dataset, names)
        rows = compare_retrievers(dataset, args.retrievers, args.k, cache=not args.no_cache, backend=args.backend,
                                  splade_model=args.splade_model, query_ids=query_ids,
                                  include_trained_queries=args.include_trained_queries)
    except (ValueError, TypeError, RuntimeError, ConnectionError) as exc:
        print(f"error: {cli_message(exc, args)}", file=sys.stderr)
        return 2
    except MemoryError:
        advice = ("--backend memory scores every query against every document, one (queries x documents) matrix per "
                  "retriever: use --backend edge (each query's top k from the engine)" if args.backend == "memory" else
                  "the engine holds the collection and the encoders run in this process: use a machine with more memory")
        print(f"error: out of memory; {advice}, or evaluate fewer queries (--queries tune or test).", file=sys.stderr)
        return 2
    which = "all" if seed is None else f"the {args.queries} half of split_queries(seed={seed})"
    print(f"{dataset!r}; {rows[0]['queries']} judged queries ({which}), top {args.k} per query, backend {args.backend}")
    affected = " and ".join(n for n in ("splade", "hybrid") if n in names)
    warning = (f"WARNING: {len(leaked)} of these {len(query_ids)} queries trained the SPLADE model, so the {affected} "
               f"figures are optimistic: over those queries they measure memory, not retrieval." if leaked else None)
    for line in [*notes, *([warning] if warning else [])]:
        print(line)
    print(format_table(rows))
    if any(r["retriever"] == hybrid_label("engine") for r in rows):
        fusion = ENGINE_HYBRID
        print(f"{hybrid_label('engine')}: fused inside the engine, {fusion['fusion'].upper()} over each top "
              f"{fusion['prefetch_limit']} of {', '.join(fusion['vectors'])} (what a deployment runs); "
              f"{hybrid_label('memory')}: the recommended hybrid over every document's score, in memory, for comparison.")
    if args.json is not None:
        record = {"made_by": MADE_BY, "dataset": dataset.name, "k": args.k, "backend": args.backend, "queries": args.queries,
                  "split_seed": seed, "splade_model": (args.splade_model or os.environ.get("SPLADE_MODEL") or DEFAULT_SPLADE_MODEL) if affected else None,
                  "trained_queries_included": len(leaked), "trained_query_ids": leaked, "warning": warning, "notes": notes,
                  "results": rows}
        try:
            write_file(json_path, json.dumps(record, indent=1), "--json")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
