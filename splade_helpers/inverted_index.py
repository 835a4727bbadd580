"""An inverted index by hand: posting lists, term-at-a-time scoring and exact dynamic pruning.

The documents' SPLADE matrix (rows = documents, columns = vocabulary ids) turned on its side: one
**posting list** per term, the documents that contain it (document numbers ascending) with their
weights. A query's score for a document is the sum, over the query's terms, of query weight times
document weight, so only the query's lists need to be read.

* :meth:`InvertedIndex.taat` (term at a time) reads every posting of every query list into one
  accumulator per document: the same scores as the matrix product, at a cost of one
  multiplication per posting.
* :meth:`InvertedIndex.maxscore` (Turtle & Flood 1995) and :meth:`InvertedIndex.wand` (Broder et
  al. 2003) go document at a time and use each list's largest weight as an upper bound to skip
  documents that cannot enter the top k: the same top k, fewer multiplications.
* :meth:`InvertedIndex.pruned` keeps only each list's heaviest postings (static pruning): cheaper
  queries, different results.

Every search returns the top k ``(doc_id, score)`` best first (equal scores: lower document
number first, as :func:`splade_helpers.fusion.top_k`) and a :class:`Cost`. Each algorithm adds a
document's contributions in ascending term id order, so all three give bit-identical scores.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import scipy.sparse as sp

from .expansion import prune_top_k
from .validation import check_choice, check_int, check_sparse_vector, check_unique_ids

METHODS = ("taat", "maxscore", "wand")
SLACK = 1e-12  # bounds are compared with this relative slack, so rounding never prunes an exact tie
Hits = list[tuple[str, float]]


@dataclass(frozen=True)
class Cost:
    """What one query cost: posting lists opened, postings scored (= multiplications) and skipped."""

    lists_opened: int
    postings_scored: int
    postings_skipped: int = 0

    @property
    def postings(self) -> int:
        """All postings of the lists the query opened."""
        return self.postings_scored + self.postings_skipped


class InvertedIndex:
    """Posting lists of a document matrix, searched term at a time or with exact dynamic pruning.

    Introduced in notebook 07 (section 1, "Why an index").

    Args:
        documents: sparse (documents x vocabulary) matrix of weights >= 0, e.g.
            ``SpladeEncoder().encode_documents(texts)``.
        doc_ids: one id per row; document number i is row i.
    """

    def __init__(self, documents: sp.spmatrix, doc_ids: Sequence[str]) -> None:
        if not sp.issparse(documents):
            raise TypeError(f"documents must be a scipy sparse matrix (documents x vocabulary), got "
                            f"{type(documents).__name__}; encode with SpladeEncoder.encode_documents.")
        self.doc_ids = check_unique_ids(doc_ids, "document ids")
        if documents.shape[0] != len(self.doc_ids):
            raise ValueError(f"{documents.shape[0]} document rows but {len(self.doc_ids)} document ids; pass one id per row.")
        csc = sp.csc_matrix(documents, dtype=np.float64, copy=True)  # float64 holds every float32 weight exactly
        csc.sum_duplicates()
        if csc.nnz and (not np.isfinite(csc.data).all() or csc.data.min() < 0):
            raise ValueError("documents hold a negative, NaN or infinite weight; SPLADE weights are finite and >= 0.")
        csc.eliminate_zeros()
        csc.sort_indices()
        self.matrix = csc  # (documents x vocabulary), kept for pruning; the arrays below are the index
        self.indptr, self.docs, self.weights = csc.indptr, csc.indices, csc.data
        self.lengths = np.diff(self.indptr)  # posting-list length of every term (its document frequency)
        self.max_weights = np.zeros(csc.shape[1])  # each list's largest weight: the bound dynamic pruning uses
        starts = self.indptr[:-1][self.lengths > 0]
        if starts.size:
            self.max_weights[self.lengths > 0] = np.maximum.reduceat(self.weights, starts)
        self.n_documents, self.vocab_size = csc.shape

    def __repr__(self) -> str:
        return (f"InvertedIndex({self.n_documents:,} documents, {int((self.lengths > 0).sum()):,} posting lists, "
                f"{self.weights.size:,} postings)")

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """The posting list of one term: (document numbers ascending, weights); empty if no document has it."""
        term = check_int(term, "term", minimum=0, maximum=self.vocab_size - 1, hint="It is a vocabulary id.")
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.docs[lo:hi], self.weights[lo:hi]

    def query_terms(self, query: object) -> tuple[np.ndarray, np.ndarray]:
        """A query as (term ids ascending, weights): from a 1-row sparse matrix, ``(indices, values)`` or a SparseVec."""
        if sp.issparse(query):
            row = sp.csr_matrix(query)
            if row.shape[0] != 1 or row.shape[1] != self.vocab_size:
                raise ValueError(f"query matrix has shape {row.shape}; expected one row of {self.vocab_size} columns "
                                 f"(one query, the index's vocabulary). Pass Q[i] for the i-th query of a matrix Q.")
            row.sum_duplicates()
            return check_sparse_vector(row.indices, row.data, self.vocab_size, "query")
        if hasattr(query, "indices") and hasattr(query, "values"):
            return check_sparse_vector(query.indices, query.values, self.vocab_size, "query")
        if isinstance(query, tuple) and len(query) == 2:
            return check_sparse_vector(*query, self.vocab_size, "query")
        raise TypeError(f"query must be a 1-row sparse matrix or a pair (indices, values), got {type(query).__name__}.")

    def scores(self, query: object) -> tuple[np.ndarray, np.ndarray, Cost]:
        """Term at a time: every document's score (one accumulator each), which documents matched, and the cost."""
        terms, weights = self.query_terms(query)
        acc, matched = np.zeros(self.n_documents), np.zeros(self.n_documents, dtype=bool)
        opened = scored = 0
        for term, w in zip(terms, weights):  # ascending term id: each accumulator adds in that order
            lo, hi = self.indptr[term], self.indptr[term + 1]
            if hi > lo:
                docs = self.docs[lo:hi]
                acc[docs] += w * self.weights[lo:hi]  # one multiplication per posting
                matched[docs] = True
                opened, scored = opened + 1, scored + int(hi - lo)
        return acc, matched, Cost(opened, scored)

    def taat(self, query: object, k: int = 10) -> tuple[Hits, Cost]:
        """The top ``k`` ``(doc_id, score)`` of term-at-a-time scoring, and its cost (every posting scored)."""
        k = check_int(k, "k", minimum=1, hint="It is how many documents to return.")
        acc, matched, cost = self.scores(query)
        docs = np.flatnonzero(matched)
        best = docs[np.lexsort((docs, -acc[docs]))][:k]
        return [(self.doc_ids[d], float(acc[d])) for d in best], cost

    def _lists(self, query: object, by_bound: bool = False) -> tuple[list, list, list, list, list]:
        """The query's non-empty lists as parallel lists: terms, query weights, documents, weights, upper bounds.

        A list's upper bound is the most it can add to a score: query weight x the list's largest weight.
        ``by_bound``: ordered by upper bound, smallest first (ties: lower term id); otherwise by term id.
        """
        terms, q = self.query_terms(query)
        keep = self.lengths[terms] > 0
        terms, q = terms[keep], q[keep]
        bounds = q * self.max_weights[terms]
        order = np.lexsort((terms, bounds)) if by_bound else np.arange(terms.size)
        spans = [(self.indptr[t], self.indptr[t + 1]) for t in terms[order]]
        return (terms[order].tolist(), q[order].tolist(), [self.docs[lo:hi].tolist() for lo, hi in spans],
                [self.weights[lo:hi].tolist() for lo, hi in spans], bounds[order].tolist())

    def _result(self, top: list[tuple[float, int]], docs: list[list[int]], scored: int) -> tuple[Hits, Cost]:
        hits = [(self.doc_ids[-neg], s) for s, neg in sorted(top, key=lambda t: (-t[0], -t[1]))]
        return hits, Cost(len(docs), scored, sum(map(len, docs)) - scored)

    def maxscore(self, query: object, k: int = 10) -> tuple[Hits, Cost]:
        """MaxScore: the same top ``k`` as :meth:`taat`, scoring fewer postings.

        Lists sorted by upper bound; the cheapest lists whose bounds sum to at most the current k-th
        score are **non-essential**: a document found only there cannot enter the top k. Documents
        are visited in order over the essential lists; the non-essential ones are probed (binary
        search) only while the document can still enter.
        """
        k = check_int(k, "k", minimum=1, hint="It is how many documents to return.")
        terms, q, D, W, ub = self._lists(query, by_bound=True)
        bound = list(accumulate(ub))  # bound[i]: the most lists 0..i together can add
        first, pos, scored = 0, [0] * len(D), 0  # lists [0, first) are non-essential
        cursors = [(docs[0], i) for i, docs in enumerate(D)]  # (next document, list), smallest first
        heapq.heapify(cursors)
        top: list[tuple[float, int]] = []  # min-heap of (score, -doc): the worst of the top k first
        floor = -1.0  # the k-th score (less the slack) once k documents are held
        while cursors and first < len(D):
            doc, parts, score = cursors[0][0], [], 0.0
            while cursors and cursors[0][0] == doc:  # the essential lists positioned on doc
                i = cursors[0][1]
                if i < first:  # became non-essential: from now on only probed
                    heapq.heappop(cursors)
                    continue
                parts.append((terms[i], q[i] * W[i][pos[i]]))
                score += parts[-1][1]
                pos[i] += 1
                if pos[i] < len(D[i]):
                    heapq.heapreplace(cursors, (D[i][pos[i]], i))
                else:
                    heapq.heappop(cursors)
            if not parts:
                continue  # only non-essential lists hold doc: it cannot enter the top k
            pruned = False
            for i in range(first - 1, -1, -1):  # non-essential lists, largest bound first
                if score + bound[i] <= floor:
                    pruned = True  # even the best case cannot beat the k-th score
                    break
                pos[i] = bisect_left(D[i], doc, pos[i])
                if pos[i] < len(D[i]) and D[i][pos[i]] == doc:
                    parts.append((terms[i], q[i] * W[i][pos[i]]))
                    score += parts[-1][1]
            scored += len(parts)
            if not pruned:
                floor = self._keep(top, k, doc, parts, floor)
                while first < len(D) and bound[first] <= floor:
                    first += 1
        return self._result(top, D, scored)

    @staticmethod
    def _keep(top: list[tuple[float, int]], k: int, doc: int, parts: list[tuple[int, float]], floor: float) -> float:
        """Offer a fully scored document to the top k; return the floor a document must now beat."""
        score = 0.0
        for _, c in sorted(parts):  # ascending term id, as taat adds them: the same bits
            score += c
        if len(top) < k:
            heapq.heappush(top, (score, -doc))
        elif score > top[0][0]:  # a tie loses: the document already held has the lower number
            heapq.heapreplace(top, (score, -doc))
        return top[0][0] * (1 - SLACK) if len(top) == k else floor

    def wand(self, query: object, k: int = 10) -> tuple[Hits, Cost]:
        """WAND: the same top ``k`` as :meth:`taat`, scoring fewer postings.

        The lists' cursors are kept sorted by their current document. The **pivot** is the first
        document at which the upper bounds of the lists up to it can beat the k-th score: no
        document before it can. If every list before it is already on the pivot, it is scored in
        full; otherwise those lists jump to the pivot (binary search), skipping what lies between.
        """
        k = check_int(k, "k", minimum=1, hint="It is how many documents to return.")
        terms, q, D, W, ub = self._lists(query)
        pos, top, floor, scored = [0] * len(D), [], -1.0, 0
        alive = sorted((docs[0], i) for i, docs in enumerate(D))  # (current document, list), smallest first
        while alive:
            reach = 0.0
            for pivot, i in alive:
                reach += ub[i]
                if reach > floor:
                    break
            else:
                break  # all bounds together cannot beat the k-th score: done
            target = pivot + 1 if alive[0][0] == pivot else pivot
            moved = alive[: bisect_left(alive, (target, -1))]  # the lists before target move to it
            del alive[: len(moved)]
            if target > pivot:  # every list that can hold the pivot is on it: score it in full
                parts = [(terms[i], q[i] * W[i][pos[i]]) for _, i in moved]
                scored += len(parts)
                floor = self._keep(top, k, pivot, parts, floor)
            for _, i in moved:
                pos[i] = pos[i] + 1 if target > pivot else bisect_left(D[i], target, pos[i])
                if pos[i] < len(D[i]):
                    insort(alive, (D[i][pos[i]], i))
        return self._result(top, D, scored)

    def search(self, query: object, k: int = 10, method: str = "taat") -> tuple[Hits, Cost]:
        """The top ``k`` of one query by ``method`` (``taat``, ``maxscore`` or ``wand``), and its cost."""
        method = check_choice(method, "method", METHODS)
        return getattr(self, method)(query, k)

    def search_all(self, queries: sp.spmatrix, k: int = 10, method: str = "taat") -> tuple[list[Hits], list[Cost]]:
        """:meth:`search` for every row of a (queries x vocabulary) matrix."""
        if not sp.issparse(queries):
            raise TypeError(f"queries must be a sparse (queries x vocabulary) matrix, got {type(queries).__name__}.")
        queries = sp.csr_matrix(queries)
        out = [self.search(queries[i], k, method) for i in range(queries.shape[0])]
        return [h for h, _ in out], [c for _, c in out]

    def pruned(self, max_postings: int) -> InvertedIndex:
        """A copy keeping each posting list's ``max_postings`` heaviest postings (ties: lower document number)."""
        max_postings = check_int(max_postings, "max_postings", minimum=1, hint="It is how many postings each list keeps.")
        return InvertedIndex(prune_top_k(self.matrix.T, max_postings).T, self.doc_ids)
