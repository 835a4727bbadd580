"""BM25 through bm25s, with PyStemmer's English Snowball stemmer and bm25s's English stop words.

Analysis (documented so a learner can predict it): lower-case, split on ``\\b\\w\\w+\\b`` (words
of two or more letters or digits), drop bm25s's English stop-word list, stem with Snowball
English ("turbulent" and "turbulence" both become "turbul"). Scoring is bm25s's ``lucene``
variant with ``k1=1.5``, ``b=0.75``. A query term repeated twice counts twice, as in Lucene.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import bm25s
import numpy as np
import Stemmer

from .validation import check_text, check_texts

_STEMMER = Stemmer.Stemmer("english")


def analyze(texts: Iterable[str]) -> list[list[str]]:
    """Turn texts into BM25 terms (lower-case, stop words removed, stemmed)."""
    texts = check_texts(texts)
    if not texts:
        return []
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


class BM25:
    """A BM25 index over a list of texts; scores every document for a query in one call.

    Args:
        k1: term-frequency saturation.
        b: length normalisation.
        method: a bm25s variant (``lucene``, ``robertson``, ``atire``, ``bm25l``, ``bm25+``).
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1, self.b, self.method = k1, b, method
        self._index: bm25s.BM25 | None = None
        self.num_docs = 0

    def __repr__(self) -> str:
        return f"BM25(k1={self.k1}, b={self.b}, method={self.method!r}, docs={self.num_docs})"

    def index(self, texts: Iterable[str]) -> BM25:
        """Index the texts (row i of every score matrix is ``texts[i]``)."""
        tokens = analyze(texts)
        if not tokens:
            raise ValueError("cannot index an empty list of texts; pass at least one document.")
        self._index = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._index.index(tokens, show_progress=False)
        self.num_docs = len(tokens)
        return self

    def _known(self, terms: list[str]) -> list[str]:
        if self._index is None:
            raise ValueError("BM25 index is empty: call .index(texts) first.")
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
        if not 0 <= doc < self.num_docs:
            raise ValueError(f"doc={doc!r} is not a document number; use 0..{self.num_docs - 1}.")
        counts = Counter(self._known(analyze([query])[0]))
        parts = [(t, float(self._index.get_scores([t])[doc]) * n) for t, n in counts.items()]
        return sorted(parts, key=lambda p: (-p[1], p[0]))
