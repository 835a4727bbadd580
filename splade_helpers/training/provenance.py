"""What a trained model was trained on, read back from its folder: the queries it must not be evaluated on.

:func:`~.trainer.train` writes ``trained_on`` (collection, query ids, split seed) into the folder's
``splade_helpers_training.json``; a model trained from another trained model keeps that model's record
under ``base``, so the queries of every stage count. ``python -m splade_helpers.evaluation`` reads it back
and refuses (or, when asked, labels) metrics over queries that trained the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..validation import check_int, check_text
from .guards import RECORD_FILE as RECORD  # in a trained folder: its key, settings, history and what it was trained on


def trained_on(model: str | os.PathLike | None) -> dict | None:
    """The ``trained_on`` record of a folder made by ``train`` (collection, query ids, split seed); None otherwise.

    Not called by the notebooks; used by python -m splade_helpers.evaluation (it refuses or labels trained queries).

    None for a hub id, a folder without the record, or one written before models recorded it.

    Raises:
        ValueError: the record exists but is not what ``train`` writes (an edit, a damaged copy), naming the field.
    """
    if model is None:
        return None
    path = Path(model).expanduser() / RECORD
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} cannot be read ({exc}): the model folder is damaged, so which queries trained "
                         f"it is unknown. Train the model again, or restore its folder.") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{str(path)!r} holds {type(meta).__name__}, not the training record: the model folder is "
                         f"damaged. Train the model again, or restore its folder.")
    record = meta.get("trained_on")
    return None if record is None else check_record(record, str(path))


def check_record(record: object, where: str) -> dict:
    """``record`` if it has the shape ``train`` writes (nested ``base`` records too); a ``ValueError`` naming the field."""
    try:
        if not isinstance(record, dict):
            raise TypeError(f"trained_on={record!r:.60} must be a dict (collection, query_ids, split_seed)")
        check_text(record.get("collection"), "trained_on['collection']")
        ids = record.get("query_ids")
        if not isinstance(ids, list):
            raise TypeError(f"trained_on['query_ids']={ids!r:.60} must be a list of query ids")
        for i, q in enumerate(ids):
            check_text(q, f"trained_on['query_ids'][{i}]")
        if record.get("split_seed") is not None:
            check_int(record["split_seed"], "trained_on['split_seed']", minimum=0)
        if record.get("base") is not None:
            check_record(record["base"], where)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the training record {where!r} is damaged: {exc}. Which queries trained the model is unknown; "
                         f"train it again, or restore its folder.") from None
    return record


def _stages(record: dict | None) -> list[dict]:
    """The record and the records of the models it was trained from, newest first."""
    stages = []
    while record:
        stages.append(record)
        record = record.get("base")
    return stages


def trained_queries(record: dict | None, collection: str, query_ids: Sequence[str]) -> list[str]:
    """The queries among ``query_ids`` that trained a model with this ``trained_on`` record (any stage), in their order.

    Not called by the notebooks; used by python -m splade_helpers.evaluation (it refuses or labels trained queries).

    Empty when the record is missing or names another collection (query ids are only comparable within one:
    :func:`other_collections` says when that leaves the check blind).
    """
    used = {q for stage in _stages(record) if stage.get("collection") == collection for q in stage.get("query_ids") or []}
    return [q for q in query_ids if q in used]


def other_collections(record: dict | None, collection: str) -> list[str]:
    """Collections other than ``collection`` whose queries trained the model: their ids cannot be checked against it.

    Not called by the notebooks; used by python -m splade_helpers.evaluation (a note when the check is blind).
    """
    return sorted({s["collection"] for s in _stages(record) if s.get("query_ids") and s.get("collection") != collection})


def clean_half(record: dict | None, dataset, seeds: Sequence[int | None]) -> tuple[str, int, int] | None:
    """The first half of ``split_queries(judged queries, seed)`` that trained nothing: ``(half, seed, queries)``.

    Not called by the notebooks; used by the train and evaluate commands (how to evaluate on held-out queries).

    Tries each seed in turn (``None`` skipped), the test half before the tuning half; None when every half tried
    holds a query that trained the model (trained on several halves, or several stages).
    """
    from ..tuning import split_queries

    for seed in dict.fromkeys(s for s in seeds if s is not None):
        tune, test = split_queries(dataset.judged_query_ids, seed=seed)
        for half, ids in (("test", test), ("tune", tune)):
            if not trained_queries(record, dataset.name, ids):
                return half, seed, len(ids)
    return None
