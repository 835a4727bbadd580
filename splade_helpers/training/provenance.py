"""What a trained model was trained on, read back from its folder: the queries it must not be evaluated on.

:func:`~.trainer.train` writes ``trained_on`` (collection, query ids, split seed) into the folder's
``splade_helpers_training.json``; ``python -m splade_helpers.evaluation`` reads it back and refuses (or,
when asked, labels) metrics over queries that trained the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from .guards import RECORD_FILE as RECORD  # in a trained folder: its key, settings, history and what it was trained on


def trained_on(model: str | os.PathLike | None) -> dict | None:
    """The ``trained_on`` record of a folder made by ``train`` (collection, query ids, split seed); None otherwise.

    Not called by the notebooks; used by python -m splade_helpers.evaluation (it refuses or labels trained queries).

    None for a hub id, a folder without the record, or one written before models recorded it.
    """
    if model is None:
        return None
    record = Path(model).expanduser() / RECORD
    if not record.is_file():
        return None
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("trained_on")
    except (OSError, ValueError, AttributeError):
        return None


def trained_queries(record: dict | None, collection: str, query_ids: Sequence[str]) -> list[str]:
    """The queries among ``query_ids`` that a model with this ``trained_on`` record trained on, in their order.

    Not called by the notebooks; used by python -m splade_helpers.evaluation (it refuses or labels trained queries).

    Empty when the record is missing or names another collection (query ids are only comparable within one).
    """
    if not record or record.get("collection") != collection:
        return []
    used = set(record.get("query_ids") or [])
    return [q for q in query_ids if q in used]
