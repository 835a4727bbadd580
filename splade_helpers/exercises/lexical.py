"""Exercise 01: the BM25 terms a query and a document share (why exact match misses paraphrases)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..bm25 import analyze
from ._answer import Mistake, call, checker, describe

CASES = [
    ("turbulent flow over wings", "Turbulence in the flow over a wing"),
    ("the effect of heat", "heat transfer effects"),
    ("laptop power runs out fast", "Battery drains quickly"),
]


def _terms(value: Any) -> set[str]:
    """A learner's result as a set of strings, else :class:`Mistake`."""
    if isinstance(value, (str, bytes)):
        raise Mistake(f"Return a set of terms, not one string ({value!r}): e.g. set(query_terms) & set(doc_terms).")
    if not isinstance(value, Iterable):
        raise Mistake(f"Return a set of terms (strings); got {describe(value)}.")
    try:
        terms = set(value)
    except TypeError:
        raise Mistake("Return a set of terms (strings); its items must be strings, not lists.") from None
    odd = [t for t in terms if not isinstance(t, str)]
    if odd:
        raise Mistake(f"Return a set of terms (strings); {odd[0]!r} is {describe(odd[0])}.")
    return terms


@checker
def check_shared_terms(fn: Callable[[str, str], set]) -> str:
    """Exercise 01: ``fn(query, doc)`` must return the set of BM25 terms both texts contain.

    Introduced in notebook 01 (section "Exercises").
    """
    for query, doc in CASES:
        expected = set(analyze([query])[0]) & set(analyze([doc])[0])
        got = _terms(call(fn, query, doc, returns="the set of BM25 terms both texts contain (an empty set if none)"))
        if got == expected:
            continue
        analyzed = set(analyze([query])[0]) | set(analyze([doc])[0])
        if got - analyzed:
            hint = (f"{sorted(got - analyzed)[:3]} are not BM25 terms: run splade_helpers.analyze on both texts "
                    f"(lower-case, stop words removed, stemmed) and intersect.")
        elif got - expected:
            hint = f"Too many terms: {sorted(got - expected)} are not in both texts."
        else:
            hint = f"Missing terms: {sorted(expected - got)}."
        raise Mistake(f"Not yet, for query {query!r} and document {doc!r}: expected {sorted(expected)}, "
                      f"got {sorted(got)}. {hint}")
    return f"Correct: all {len(CASES)} cases match, including one pair that shares no term at all."
