"""What a SPLADE vector says: term origins, per-term match contributions, sparsity and pruning.

All functions are pure (vectors in, plain Python/numpy out) so that notebooks, plots and widgets
show exactly what the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .sparse import SpladeEncoder
from .validation import blank_texts, check_choice, check_int, check_sparse_matrix, check_text


@dataclass(frozen=True)
class TermOrigin:
    """One non-zero term of a SPLADE vector and the input token whose position won the max.

    Not called by the notebooks; used by term_origins, which returns it, and plots.top_terms_figure.
    """

    term: str
    weight: float
    in_text: bool  # the term is one of the text's own word pieces
    source_token: str  # the input word piece at the winning position
    source_position: int  # its position (0 = [CLS])


@torch.inference_mode()
def term_origins(encoder: SpladeEncoder, text: str, kind: str = "query") -> list[TermOrigin]:
    """Every non-zero term of ``text``'s vector, heaviest first, with the position that produced it.

    Introduced in notebook 01 (section 4, "Where expansion wins").
    Notebook 03 (section 1) explains it.

    SPLADE's weight for term j is ``max_i log1p(relu(logit_ij))``; the ``i`` achieving the max is
    the input token "responsible" for the term. A blank text (nothing the tokenizer keeps) gives ``[]``.
    An inference-free encoder's query is its own distinct word pieces with their learned weights (no expansion):
    each term comes from itself.
    """
    text = check_text(text)
    kind = check_choice(kind, "kind", ("query", "document"))
    if hasattr(encoder, "documents"):  # an InferenceFreeEncoder
        if kind == "document":
            return term_origins(encoder.documents, text, kind)
        return _table_origins(encoder, text)
    if blank_texts([text], encoder.tokenizer)[0]:
        return []
    max_length = encoder.query_max_length if kind == "query" else encoder.doc_max_length
    enc = encoder.tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
    logits = encoder.model(**enc).logits[0]  # (positions, vocab)
    best_value, best_position = logits.max(dim=0)
    weights = torch.log1p(torch.relu(best_value)).numpy()
    tokens = encoder.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    own = set(tokens[1:-1])
    nz = np.flatnonzero(weights)
    order = nz[np.lexsort((nz, -weights[nz]))]
    return [
        TermOrigin(
            term=encoder.vocab[j],
            weight=float(weights[j]),
            in_text=encoder.vocab[j] in own,
            source_token=tokens[int(best_position[j])],
            source_position=int(best_position[j]),
        )
        for j in order
    ]


def _table_origins(encoder, text: str) -> list[TermOrigin]:
    """An inference-free query: its distinct word pieces with the table's weights, heaviest first."""
    row = encoder.encode_queries([text])
    pieces = encoder.tokenizer.convert_ids_to_tokens(
        encoder.tokenizer(text, add_special_tokens=False, truncation=True, max_length=encoder.query_max_length)["input_ids"])
    first = {}
    for i, p in enumerate(pieces):
        first.setdefault(p, i + 1)  # positions as in a model's input, 0 being [CLS]
    order = np.lexsort((row.indices, -row.data))
    return [TermOrigin(encoder.vocab[int(row.indices[j])], float(row.data[j]), True, encoder.vocab[int(row.indices[j])],
                       first.get(encoder.vocab[int(row.indices[j])], 0)) for j in order]


def _row(vector: sp.spmatrix | np.ndarray, vocab_size: int, name: str) -> np.ndarray:
    """One vector of term weights, as wide as the vocabulary, finite and >= 0 (NaN would drop out of the sum)."""
    m = check_sparse_matrix(vector if sp.issparse(vector) else np.atleast_2d(vector), name, columns=vocab_size)
    if m.shape[0] != 1:
        raise ValueError(f"{name}: expected one vector (1 row), got shape {m.shape}.")
    row = m.toarray().ravel()
    return row if sp.issparse(vector) else row.astype(np.float64)


def match_contributions(
    query: sp.spmatrix | np.ndarray, doc: sp.spmatrix | np.ndarray, vocab: list[str]
) -> list[tuple[str, float, float, float]]:
    """Why a document matched: the terms both vectors share, as ``(term, q_w, d_w, q_w * d_w)``.

    Introduced in notebook 01 (section 2, "The vocabulary-mismatch problem").

    Sorted by contribution (then term); the contributions sum to the SPLADE score ``q . d``.
    """
    q, d = _row(query, len(vocab), "query"), _row(doc, len(vocab), "doc")
    shared = np.flatnonzero((q > 0) & (d > 0))
    parts = [(vocab[j], float(q[j]), float(d[j]), float(q[j] * d[j])) for j in shared]
    return sorted(parts, key=lambda p: (-p[3], p[0]))


def prune_top_k(matrix: sp.spmatrix, k: int) -> sp.csr_matrix:
    """Keep only the ``k`` heaviest terms of every row (ties: lower vocabulary id kept).

    Introduced in notebook 03 (section 5, "Pruning: how many terms does a document need?").
    """
    k = check_int(k, "k", minimum=1, hint="It is how many terms each vector keeps.")
    m = check_sparse_matrix(matrix, "matrix")  # a copy; NaN, infinite or negative weights refused, not dropped
    m.sum_duplicates()
    for i in range(m.shape[0]):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        if hi - lo > k:
            vals = m.data[lo:hi]
            keep = np.lexsort((m.indices[lo:hi], -vals))[:k]
            drop = np.ones(hi - lo, dtype=bool)
            drop[keep] = False
            vals[drop] = 0.0
    m.eliminate_zeros()
    return m


def sparsity_stats(matrix: sp.spmatrix) -> dict[str, float]:
    """Non-zeros per row (mean, median, max) and the share of the vocabulary they use.

    Introduced in notebook 02 (section 9, "Sparsity and the cost of a dot product").
    """
    nnz = np.diff(sp.csr_matrix(matrix).indptr)
    return {
        "rows": int(matrix.shape[0]),
        "mean_nnz": float(nnz.mean()) if len(nnz) else 0.0,
        "median_nnz": float(np.median(nnz)) if len(nnz) else 0.0,
        "max_nnz": int(nnz.max()) if len(nnz) else 0,
        "vocab_share": float(nnz.mean() / matrix.shape[1]) if len(nnz) else 0.0,
    }


def expected_flops(queries: sp.spmatrix, docs: sp.spmatrix) -> float:
    """Expected multiplications of one query-document dot product: ``sum_j p_j(q) * p_j(d)``.

    Introduced in notebook 02 (section 9, "Sparsity and the cost of a dot product").

    ``p_j`` is the share of queries (documents) whose vector has term j: the FLOPS measure of Paria et al.
    (2020). SPLADE's regulariser minimises a smooth stand-in for it, the squared mean weight per term over a
    batch (:func:`splade_helpers.training.flops`).
    """
    queries, docs = sp.csr_matrix(queries), sp.csr_matrix(docs)
    if queries.shape[1] != docs.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} columns and documents {docs.shape[1]}; both must use one vocabulary.")
    if not queries.shape[0] or not docs.shape[0]:
        raise ValueError("expected_flops needs at least one query and one document.")
    pq = np.asarray((queries > 0).mean(axis=0)).ravel()
    pd = np.asarray((docs > 0).mean(axis=0)).ravel()
    return float(pq @ pd)


def index_bytes(matrix: sp.spmatrix) -> int:
    """Bytes of a CSR index: a 4-byte term id and a 4-byte weight per non-zero, 8 bytes per row.

    Introduced in notebook 03 (section 5, "Pruning: how many terms does a document need?").
    """
    m = sp.csr_matrix(matrix)
    return int(m.nnz * 8 + (m.shape[0] + 1) * 8)
