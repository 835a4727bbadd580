"""Exercise 07: term-at-a-time scoring over an inverted index."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ._answer import Mistake, array, call, checker


@checker
def check_taat(fn: Callable) -> str:
    """Exercise 07: ``fn(query_terms, query_weights, index)`` -> one score per document (``index.n_documents``),
    term at a time, reading posting lists with ``index.postings(term)`` (documents, weights).

    Introduced in notebook 07 (section "Exercises").
    """
    import scipy.sparse as sp

    from ..inverted_index import InvertedIndex

    weights = np.array([[0.5, 1.0, 0, 0, 2.0], [0, 2.0, 1.5, 0, 0], [1.0, 0, 0, 0, 0.5], [0, 0, 0, 0, 0],
                        [0.25, 3.0, 0, 0, 1.0]], dtype=np.float32)
    index = InvertedIndex(sp.csr_matrix(weights), ["d0", "d1", "d2", "d3", "d4"])
    cases = {"a query whose terms share documents": ([0, 1, 4], [1.0, 0.5, 2.0]),
             "a query term that no document contains": ([1, 3], [2.0, 1.5]), "an empty query": ([], [])}
    empty = "a term no document contains has an empty posting list: index.postings returns two empty arrays"
    for name, (terms, q) in cases.items():
        expected = index.scores((np.array(terms, dtype=np.int64), np.array(q)))[0]
        got = call(fn, list(terms), list(q), index, returns="`scores`, one score per document",
                   hints={"KeyError": empty, "IndexError": empty})
        if isinstance(got, Mapping):
            raise Mistake("Return an array with one score per document, not a dict: start from "
                          "np.zeros(index.n_documents) and add to it.")
        got = array(got, "the scores (one per document)").ravel()
        if got.shape != expected.shape:
            raise Mistake(f"Not yet ({name}): expected one score per document ({expected.size}), got {got.size} values. "
                          f"Return every accumulator, not only the matching documents or the top k.")
        if np.allclose(got, expected, atol=1e-6):
            continue
        hints = {"add each contribution to the accumulator (scores[docs] += ...); assigning (=) keeps only the last "
                 "term's contribution for documents found in several lists": np.zeros_like(expected),
                 "multiply each posting's weight by the query term's weight": np.zeros_like(expected),
                 "a contribution is query weight x the posting's (document's) weight, not the query weight alone":
                 np.zeros_like(expected)}
        assign, no_query_weight, no_doc_weight = hints.values()
        for t, w in zip(terms, q):
            docs, dw = index.postings(t)
            assign[docs] = w * dw
            no_query_weight[docs] += dw
            no_doc_weight[docs] += w
        hint = next((h for h, wrong in hints.items() if np.allclose(got, wrong, atol=1e-6)), None)
        raise Mistake(f"Not yet ({name}): " + (f"{hint}." if hint else
                      f"expected {np.round(expected, 3).tolist()}, got {np.round(got, 3).tolist()}."))
    return f"Correct: equal to InvertedIndex.scores on all {len(cases)} queries, an empty list and an empty query included."
