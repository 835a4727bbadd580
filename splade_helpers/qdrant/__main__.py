"""``python -m splade_helpers.qdrant``: load a dataset into a Qdrant collection.

    python -m splade_helpers.qdrant --dataset cranfield [--path qdrant-data] [--collection NAME] [--engine edge|local|server]

Re-running it updates the same points (UUID5 ids), so an interrupted load is finished by running
it again. Prints one ``upserted N`` line per acknowledged batch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from ..datasets import available_datasets, load_dataset
from ..validation import check_number, cli_message
from .factory import ENGINES, default_engine, open_store


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m splade_helpers.qdrant", description=__doc__.split("\n")[0].replace("``", ""))
    parser.add_argument("--dataset", default="cranfield", help=f"one of {available_datasets()} or a BEIR folder")
    parser.add_argument("--path", default="qdrant-data", help="folder for the edge and local engines (default qdrant-data)")
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help=f"default: server if QDRANT_URL is set, else edge (now: {default_engine()})")
    parser.add_argument("--collection", default="course", help="the collection's name (default course)")
    parser.add_argument("--batch-size", type=int, default=128, help="points per acknowledged upsert (default 128)")
    parser.add_argument("--if-exists", default="reuse", choices=["error", "reuse", "recreate"],
                        help="when the collection exists: reuse (default) completes an interrupted load or updates "
                             "the texts, if its layout matches and it holds no other document; recreate replaces it once "
                             "the new one is complete; error refuses")
    parser.add_argument("--throttle", type=float, default=0.0, help="seconds to wait between batches (demos, fault tests)")
    args = parser.parse_args(argv)

    def report(sent: int) -> None:
        print(f"upserted {sent}", flush=True)
        time.sleep(args.throttle)

    try:
        check_number(args.throttle, "--throttle", minimum=0.0, maximum=3600.0, hint="It is seconds between batches.")
        ds = load_dataset(args.dataset)
        with open_store(args.path, args.collection, engine=args.engine) as store:
            sent = store.index(ds.doc_ids, ds.doc_texts, ds.doc_titles, if_exists=args.if_exists,
                               batch_size=args.batch_size, progress=False, on_batch=report)
            print(f"collection {args.collection!r} ({store.engine}): {store.count()} points", flush=True)
    except (ValueError, TypeError, RuntimeError, ConnectionError) as exc:
        print(f"error: {cli_message(exc, args)}", file=sys.stderr)
        return 2
    return 0 if sent == len(ds.doc_ids) else 1


if __name__ == "__main__":
    raise SystemExit(main())
