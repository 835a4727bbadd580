"""Exercise 05: Qdrant point ids that survive a kernel restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np

from ._answer import Mistake, call, checker
from ._process import NotSelfContained, run_in_fresh_process

DOCS = ["1", "2", "doc-7", "Ünïcode id", "184"]


def _check_valid(doc_id: str, value: object) -> None:
    """:class:`Mistake` unless ``value`` is an id Qdrant accepts: an unsigned 64-bit int or a UUID."""
    if isinstance(value, (bool, np.bool_)):
        raise Mistake(f"Not yet: {value!r} for {doc_id!r} is a bool; Qdrant ids are unsigned integers or UUIDs.")
    if isinstance(value, (int, np.integer)):
        if not 0 <= int(value) < 2**64:
            raise Mistake(f"Not yet: {value} for {doc_id!r} is outside 0 .. 2**64 - 1; Qdrant integer ids are "
                          f"unsigned 64-bit.")
        return
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise Mistake(f"Not yet: {value!r} (for {doc_id!r}) is neither an unsigned 64-bit int nor a UUID; Qdrant "
                      f"refuses other ids.") from None


@checker
def check_point_ids(fn: Callable[[str], object]) -> str:
    """Exercise 05: ``fn(doc_id)`` -> a Qdrant point id that is valid, distinct per document and the same in every process.

    Introduced in notebook 05 (section "Exercises").

    Qdrant accepts unsigned 64-bit integers or UUIDs. The id must not depend on the process
    (Python's ``hash`` of a string changes with every interpreter start: a kernel restart would
    then duplicate every point) nor on chance (``uuid4``).
    """
    returns = "a point id: an unsigned 64-bit int or a UUID (or its string)"
    got = [call(fn, d, returns=returns) for d in DOCS]
    for d, v in zip(DOCS, got):
        _check_valid(d, v)
    if [str(v) for v in got] != [str(call(fn, d, returns=returns)) for d in DOCS]:
        raise Mistake("Not yet: calling it twice gave different ids; a re-run must update the same points, not add new ones.")
    if len({str(v) for v in got}) != len(DOCS):
        raise Mistake("Not yet: different documents got the same point id; one would overwrite the other.")
    try:
        fresh = run_in_fresh_process(fn, DOCS)
    except NotSelfContained as reason:
        raise Mistake(f"Not yet: {reason}.") from None
    if fresh != [str(v) for v in got]:
        raise Mistake("Not yet: a fresh Python process gives other ids (Python's hash() of a string, or a random "
                      "uuid4, changes between processes); after a kernel restart every point would be duplicated. "
                      "Derive the id from the document id alone, e.g. uuid.uuid5(namespace, doc_id).")
    return "Correct: valid Qdrant ids, distinct per document, and the same in a fresh process."
