"""BM25 through bm25s, with PyStemmer's English Snowball stemmer and bm25s's English stop words.

Analysis (documented so a learner can predict it): lower-case, split on ``\\b\\w\\w+\\b`` (words
of two or more letters or digits), drop bm25s's English stop-word list, stem with Snowball
English ("turbulent" and "turbulence" both become "turbul"). Scoring is bm25s's ``lucene``
variant with ``k1=1.5``, ``b=0.75``:

    score(q, d) = sum over query terms t of  IDF(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    IDF(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

A query term repeated twice counts twice, as in Lucene. :class:`BM25Vectors` writes the same
formula as sparse vectors for a vector store: the document side carries the saturated,
length-normalised term frequency, and the store multiplies by IDF at query time.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

import bm25s
import numpy as np
import Stemmer

from .validation import check_choice, check_int, check_number, check_text, check_texts

_STEMMER = Stemmer.Stemmer("english")
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")


def analyze(texts: Iterable[str]) -> list[list[str]]:
    """Turn texts into BM25 terms (lower-case, stop words removed, stemmed).

    Introduced in notebook 01 (section 1, "How BM25 scores a document").
    """
    texts = check_texts(texts)
    if not texts:
        return []
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


def _check_params(k1: object, b: object) -> tuple[float, float]:
    return (check_number(k1, "k1", minimum=0.0, hint="Typical values are 0.9 to 2.0."),
            check_number(b, "b", minimum=0.0, maximum=1.0, hint="0 = no length normalisation, 1 = full."))


class BM25:
    """A BM25 index over a list of texts; scores every document for a query in one call.

    Introduced in notebook 05 (section 2, "Two engines, one collection layout").

    Args:
        k1: term-frequency saturation (>= 0).
        b: length normalisation, in [0, 1].
        method: a bm25s variant (``lucene``, ``robertson``, ``atire``, ``bm25l``, ``bm25+``).

    A corpus with no indexable term at all (every document empty, stop words or punctuation) is
    a valid index in which every document scores 0 for every query.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1, self.b = _check_params(k1, b)
        self.method = check_choice(method, "method", METHODS)
        self._index: bm25s.BM25 | None = None
        self.num_docs = 0

    def __repr__(self) -> str:
        return f"BM25(k1={self.k1}, b={self.b}, method={self.method!r}, docs={self.num_docs})"

    def index(self, texts: Iterable[str]) -> BM25:
        """Index the texts (row i of every score matrix is ``texts[i]``)."""
        tokens = analyze(texts)
        if not tokens:
            raise ValueError("cannot index an empty list of texts; pass at least one document.")
        self._index = None
        if any(tokens):  # bm25s cannot index a corpus without a single term
            self._index = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
            self._index.index(tokens, show_progress=False)
        self.num_docs = len(tokens)
        return self

    def _known(self, terms: list[str]) -> list[str]:
        if not self.num_docs:
            raise ValueError("BM25 index is empty: call .index(texts) first.")
        if self._index is None:
            return []
        vocab = self._index.vocab_dict
        return [t for t in terms if t in vocab and t != ""]

    def scores(self, queries: Iterable[str]) -> np.ndarray:
        """A ``(len(queries), num_docs)`` float32 matrix of BM25 scores (0 where nothing matches)."""
        analyzed = analyze(queries)
        out = np.zeros((len(analyzed), self.num_docs), dtype=np.float32)
        for i, terms in enumerate(analyzed):
            known = self._known(terms)
            if known:
                out[i] = self._index.get_scores(known)
        return out

    def explain(self, query: str, doc: int) -> list[tuple[str, float]]:
        """Per-term contributions to the score of document number ``doc`` for ``query``.

        Returns:
            (stemmed term, contribution) pairs, heaviest first, one per distinct query term that
            is in the index (0.0 when the document lacks it); they sum to the document's score.
        """
        query = check_text(query, "query")
        if not self.num_docs:
            raise ValueError("BM25 index is empty: call .index(texts) first.")
        doc = check_int(doc, "doc", minimum=0, maximum=self.num_docs - 1, hint="It is a row number of the index.")
        counts = Counter(self._known(analyze([query])[0]))
        parts = [(t, float(self._index.get_scores([t])[doc]) * n) for t, n in counts.items()]
        return sorted(parts, key=lambda p: (-p[1], p[0]))


def term_id(term: str) -> int:
    """A stable 32-bit id for a BM25 term (CRC-32), the same in every process and on every machine.

    Introduced in notebook 05 (section 2, "Two engines, one collection layout").
    """
    return zlib.crc32(check_text(term, "term").encode("utf-8"))


SparseRow = tuple[np.ndarray, np.ndarray]  # (int64 term ids ascending, float32 weights)
# An empty document's vector is one entry of weight 0 at this id (CRC-32 of the empty string, which
# the analyser never produces): Qdrant's engine leaves a point with an empty sparse vector out of
# IDF's document count N, while bm25s (and qdrant-client's local mode) count it.
EMPTY_DOCUMENT_ID = 0


class BM25Vectors:
    """BM25 as sparse vectors for a vector store (the ``lucene`` variant of :class:`BM25`).

    Not called by the notebooks; used by the Qdrant stores (their bm25 sparse vectors) and benchmarks/qdrant_scale.py.

    A document's vector holds, for each of its terms t (id :func:`term_id`), the saturated,
    length-normalised term frequency ``tf / (tf + k1 * (1 - b + b * len / avglen))``; a query's
    vector holds each term's count in the query. The store multiplies by the IDF
    ``ln(1 + (N - df + 0.5) / (df + 0.5))`` at query time (Qdrant's IDF modifier), from the
    documents it holds, so the dot product is exactly the BM25 score. Lengths count analysed terms;
    the average length is fixed when the documents are written (``fit_transform``), while N and df
    follow the collection.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = _check_params(k1, b)
        self.avg_len: float | None = None
        self.terms: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"BM25Vectors(k1={self.k1}, b={self.b}, avg_len={self.avg_len})"

    def fit_transform(self, texts: Iterable[str]) -> list[SparseRow]:
        """Learn the average document length from ``texts`` and return their vectors (one analysis pass)."""
        analyzed = analyze(texts)
        self.avg_len = float(np.mean([len(t) for t in analyzed])) if analyzed else 0.0
        for terms in analyzed:
            for t in terms:
                i = term_id(t)
                if i == EMPTY_DOCUMENT_ID:
                    raise ValueError(f"BM25 term {t!r} hashes to {EMPTY_DOCUMENT_ID}, the id reserved for empty documents; "
                                     f"rename it in the corpus.")
                if self.terms.setdefault(i, t) != t:
                    raise ValueError(f"BM25 terms {self.terms[i]!r} and {t!r} hash to the same id {i}; "
                                     f"rename one in the corpus or use another term_id function.")
        return [self._document(terms) for terms in analyzed]

    def transform(self, texts: Iterable[str]) -> list[SparseRow]:
        """Vectors of more documents, with the average length learned by :meth:`fit_transform`."""
        if self.avg_len is None:
            raise ValueError("BM25Vectors is not fitted: call .fit_transform(document_texts) first.")
        return [self._document(terms) for terms in analyze(texts)]

    def query(self, text: str) -> SparseRow:
        """A query's vector: each distinct term's count."""
        counts = Counter(analyze([check_text(text, "query")])[0])
        return _row(counts, [float(n) for n in counts.values()])

    def _document(self, terms: Sequence[str]) -> SparseRow:
        if not terms:  # a placeholder entry, so that the engine counts the document in IDF's N (as bm25s does)
            return np.array([EMPTY_DOCUMENT_ID], dtype=np.int64), np.zeros(1, dtype=np.float32)
        counts = Counter(terms)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avg_len) if self.avg_len else self.k1
        return _row(counts, [n / (n + norm) if n + norm > 0 else 0.0 for n in counts.values()])


def _row(counts: Counter, values: list[float]) -> SparseRow:
    ids = np.fromiter((term_id(t) for t in counts), dtype=np.int64, count=len(counts))
    vals = np.asarray(values, dtype=np.float32)
    order = np.argsort(ids, kind="stable")
    return ids[order], vals[order]
