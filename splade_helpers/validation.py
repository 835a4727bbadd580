"""Input checks shared by every encoder and retriever, with errors that say how to fix them."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence


def check_text(text: object, what: str = "text") -> str:
    """Return ``text`` if it is a ``str``; otherwise raise a ``TypeError`` naming what was given.

    Empty or whitespace-only strings are allowed: encoders turn them into an empty vector and
    retrievers give every document the score 0 for them (documented, never an error).
    """
    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a str, got {type(text).__name__} ({text!r:.60}). "
            f"Convert it first (str(x)) or drop missing values (None) before encoding."
        )
    return text


def check_alpha(alpha: object) -> float:
    """Return the dense weight ``alpha`` as a float; anything but a real number in [0, 1] is a ``ValueError``."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} must be a number in [0, 1] (1 = dense only, 0 = sparse only).")
    return float(alpha)


def check_texts(texts: Iterable[object], what: str = "texts") -> list[str]:
    """Return ``texts`` as a list of ``str``; a bare string or any non-string item is a ``TypeError``."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"{what} must be a list of strings, got a single {type(texts).__name__}; "
            f"wrap it in a list: [{texts!r:.40}]."
        )
    if texts is None or not isinstance(texts, Iterable):
        raise TypeError(f"{what} must be a list of strings, got {type(texts).__name__}.")
    out = list(texts)
    for i, t in enumerate(out):
        check_text(t, f"{what}[{i}]")
    return out


def check_unique_ids(ids: Sequence[str], what: str = "document ids") -> list[str]:
    """Refuse duplicate or non-string ids, naming the first duplicate and both positions."""
    seen: dict[str, int] = {}
    for i, x in enumerate(ids):
        if not isinstance(x, str):
            raise TypeError(f"{what}[{i}] must be a str, got {type(x).__name__} ({x!r}).")
        if x in seen:
            raise ValueError(
                f"duplicate {what[:-1] if what.endswith('s') else what} {x!r} at positions "
                f"{seen[x]} and {i}; ids must be unique (rename or drop one of them)."
            )
        seen[x] = i
    return list(ids)
