"""What a trained model was trained on, read back from its folder: the queries it must not be evaluated on.

:func:`splade_helpers.training.train` writes ``trained_on`` (collection, query ids, split seed) into the folder's
``splade_helpers_training.json``; a model trained from another trained model keeps that model's record
under ``base``, so the queries of every stage count. ``python -m splade_helpers.evaluation`` reads it back
and refuses (or, when asked, labels) metrics over queries that trained the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from .integrity import RECORD_FILE as RECORD  # in a trained folder: its key, settings, history and what it was trained on
from .validation import check_int, check_text

# the course's split of the judged queries (notebook 04), on whose tuning half RECOMMENDED_HYBRID's weights were chosen;
# both commands' default when a trained folder records no split seed of its own
COURSE_SPLIT_SEED = 42


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
    fix = "Which queries trained the model is unknown: train it again, or restore its folder."
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{str(path)!r} cannot be read ({exc}): the model folder is damaged. {fix}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{str(path)!r} holds {type(meta).__name__}, not the training record: the folder is damaged. {fix}")
    if "trained_on" not in meta:  # written before models recorded it
        return None
    try:
        return check_record(meta["trained_on"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the training record {str(path)!r} is damaged: {exc}. {fix}") from None


def check_record(record: object, name: str = "trained_on") -> dict:
    """``record`` if it has the shape ``train`` writes (a ``base`` stage too); a ``TypeError``/``ValueError`` naming the field."""
    if not isinstance(record, dict):
        raise TypeError(f"{name}={record!r:.60} must be a dict (collection, query_ids, split_seed)")
    collection = check_text(record.get("collection"), f"{name}['collection']")
    if not collection.strip():
        raise ValueError(f"{name}['collection'] is empty; it names the collection whose queries trained the model")
    ids = record.get("query_ids")
    if not isinstance(ids, list):
        raise TypeError(f"{name}['query_ids']={ids!r:.60} must be a list of query ids")
    for i, q in enumerate(ids):
        check_text(q, f"{name}['query_ids'][{i}]")
    if record.get("split_seed") is not None:
        check_int(record["split_seed"], f"{name}['split_seed']", minimum=0)
    if "base" in record:
        check_record(record["base"], f"{name}['base']")
    if "base_unrecorded" in record:
        check_text(record["base_unrecorded"], f"{name}['base_unrecorded']")
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


def split_seeds(record: dict | None) -> list[int]:
    """The split seeds of every stage of the record, newest first (where a clean half is likely)."""
    return list(dict.fromkeys(st["split_seed"] for st in _stages(record) if st.get("split_seed") is not None))


def unrecorded_bases(record: dict | None) -> list[str]:
    """Base models of any stage that record nothing: what they were trained on cannot be checked."""
    return [st["base_unrecorded"] for st in _stages(record) if st.get("base_unrecorded")]


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
    from .tuning import split_queries

    for seed in dict.fromkeys(s for s in seeds if s is not None):
        tune, test = split_queries(dataset.judged_query_ids, seed=seed)
        for half, ids in (("test", test), ("tune", tune)):
            if not trained_queries(record, dataset.name, ids):
                return half, seed, len(ids)
    return None


def local_folder(name: str) -> bool:
    """Whether a model name is a local folder (not a bundled model, not a hub id): one a user trained or copied.

    Not called by the notebooks; used by train and the evaluate command (such a folder without a record gets a note).
    """
    from .models import bundled_model_path

    return bundled_model_path(name) is None and Path(name).expanduser().is_dir()
