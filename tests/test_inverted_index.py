"""The inverted index of notebook 07 on real Cranfield SPLADE vectors: term-at-a-time scoring equals the matrix
product, MaxScore and WAND return TAAT's top k while scoring fewer postings, postings scored = N x FLOPS, and the
top 10 equals Qdrant Edge's."""

import numpy as np
import pytest
import scipy.sparse as sp

import splade_helpers as sh
from splade_helpers import qdrant as q
from splade_helpers.inverted_index import Cost, InvertedIndex

TOL = 1e-5
DYNAMIC = ("maxscore", "wand")
SAMPLE = slice(0, None, 9)  # every 9th query (25), where a check runs per extra k or through Qdrant


@pytest.fixture(scope="module")
def vectors(splade, cranfield):
    """Cranfield as the course encodes it (default settings and batch size: the encoding cache hits)."""
    return splade.encode_documents(cranfield.doc_texts), splade.encode_queries(cranfield.query_texts)


@pytest.fixture(scope="module")
def index(vectors, cranfield):
    return InvertedIndex(vectors[0], cranfield.doc_ids)


@pytest.fixture(scope="module")
def taat10(index, vectors):
    return index.search_all(vectors[1], 10, "taat")


def assert_same_ranking(got, expected, tol=TOL, relative=False):
    """Equal top k up to ties: scores equal rank by rank, and a document differs only where scores tie."""

    def close(a, b):
        return abs(a - b) <= tol * (max(1.0, abs(b)) if relative else 1.0)

    assert len(got) == len(expected)
    for (_, s), (_, e) in zip(got, expected):
        assert close(s, e), f"{s} != {e}"
    got_score, expected_score = dict(got), dict(expected)
    for rank, (doc, score) in enumerate(got):
        if doc in expected_score:  # the same score in both, at a rank of equal score
            assert close(score, expected_score[doc]) and close(score, expected[rank][1])
        else:  # only at the cut, tied with the last document of the other list
            assert close(score, expected[-1][1]), f"{doc} ({score}) is missing from the expected top {len(expected)}"
    for doc in set(expected_score) - set(got_score):
        assert close(expected_score[doc], got[-1][1])


def test_taat_equals_the_sparse_matrix_product(index, vectors, cranfield):
    docs, queries = vectors
    product = (queries.astype(np.float64) @ docs.T.astype(np.float64)).toarray()  # float32 would be off by ~1e-5 at 40
    best = sh.top_k(product, 10)
    for i in range(queries.shape[0]):
        scores, matched, cost = index.scores(queries[i])
        np.testing.assert_allclose(scores, product[i], atol=TOL)
        assert (matched == (product[i] > 0)).all()
        hits, taat_cost = index.taat(queries[i], 10)
        assert taat_cost == cost and cost.postings_skipped == 0
        assert_same_ranking(hits, [(cranfield.doc_ids[d], float(product[i, d])) for d in best[i]])


def test_postings_scored_per_query_equal_n_times_flops(index, vectors, taat10):
    docs, queries = vectors
    scored = np.array([c.postings_scored for c in taat10[1]])
    flops = sh.expected_flops(queries, docs)
    # sum over queries of sum_{j in q} df_j = sum_j (queries with j) x (documents with j): integers on both sides
    assert scored.sum() == round(flops * docs.shape[0] * queries.shape[0])
    assert scored.mean() == pytest.approx(docs.shape[0] * flops, rel=1e-12)
    df = np.diff(sp.csc_matrix(docs).indptr)
    assert [c.postings_scored for c in taat10[1]] == [int(df[queries[i].indices].sum()) for i in range(queries.shape[0])]
    assert [c.lists_opened for c in taat10[1]] == [int((df[queries[i].indices] > 0).sum()) for i in range(queries.shape[0])]


@pytest.mark.parametrize("method", DYNAMIC)
def test_dynamic_pruning_returns_taat_top_10_for_every_query_scoring_fewer_postings(index, vectors, taat10, method):
    hits, costs = index.search_all(vectors[1], 10, method)
    assert hits == taat10[0]  # the same documents, order and bits: each method adds in ascending term id order
    for cost, full in zip(costs, taat10[1]):
        assert cost.lists_opened == full.lists_opened and cost.postings == full.postings_scored
        assert cost.postings_scored <= full.postings_scored
    scored, total = sum(c.postings_scored for c in costs), sum(c.postings for c in costs)
    assert scored < 0.7 * total  # measured: MaxScore scores 53 %, WAND 49 % of the postings at k = 10


@pytest.mark.parametrize("method", DYNAMIC)
@pytest.mark.parametrize("k", [1, 100])
def test_dynamic_pruning_returns_taat_top_k_for_other_k(index, vectors, method, k):
    queries = vectors[1][SAMPLE]
    expected, full = index.search_all(queries, k, "taat")
    hits, costs = index.search_all(queries, k, method)
    assert hits == expected
    assert sum(c.postings_scored for c in costs) < sum(c.postings_scored for c in full)


def test_dynamic_pruning_equals_taat_on_random_indexes_full_of_ties():
    # small indexes with few distinct weights: many exact ties and bounds that are reached exactly,
    # where a < for a <= (or a bound off by a little) in the pruning changes the top k
    rng = np.random.default_rng(0)
    for case in range(200):
        n_docs, n_terms = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        values = rng.choice([0.0, 0.0, 0.5, 1.0, 1.5, 2.0], size=(n_docs, n_terms))
        index = InvertedIndex(sp.csr_matrix(values), [f"d{i}" for i in range(n_docs)])
        terms = np.flatnonzero(rng.random(n_terms) < 0.6)
        query = (terms, rng.choice([0.5, 1.0, 2.0], size=terms.size))
        for k in (1, 2, 5, 50):
            expected = index.taat(query, k)
            for method in DYNAMIC:
                hits, cost = index.search(query, k, method)
                assert hits == expected[0], (case, k, method)
                assert cost.postings == expected[1].postings_scored and cost.postings_scored <= cost.postings


def test_a_document_found_only_in_cheap_lists_still_enters_when_it_can():
    # document 1 is only in lists B and C, whose bounds (0.6 + 0.6) exceed the 1st score (1.0) found in A:
    # pruning may set B aside, never both
    m = sp.csr_matrix(np.array([[1.0, 0, 0], [0, 0.6, 0.6]], dtype=np.float32))
    index = InvertedIndex(m, ["x", "y"])
    for method in ("taat", *DYNAMIC):
        assert [d for d, _ in index.search(([0, 1, 2], [1.0, 1.0, 1.0]), 1, method)[0]] == ["y"]


def test_ties_at_the_cut_go_to_the_lower_document_number():
    # documents 1 and 3 are equal, and so are 0 and 4: every method must keep the lower number
    m = sp.csr_matrix(np.array([[1.0, 0, 2], [0.5, 1, 0], [3.0, 0, 0], [0.5, 1, 0], [1.0, 0, 2]], dtype=np.float32))
    index = InvertedIndex(m, ["a", "b", "c", "d", "e"])
    query = (np.array([0, 1, 2]), np.array([1.0, 1.0, 0.25]))
    for method in ("taat", *DYNAMIC):
        assert index.search(query, 2, method)[0] == [("c", 3.0), ("a", 1.5)]
        assert index.search(query, 4, method)[0] == [("c", 3.0), ("a", 1.5), ("b", 1.5), ("d", 1.5)]


def test_top_10_equals_qdrant_edge(index, vectors, cranfield, splade, dense):
    queries = vectors[1]
    store = q.EdgeStore(splade=splade, dense=dense)  # a temporary folder, deleted on close
    try:
        store.index(cranfield.doc_ids, cranfield.doc_texts)
        for i in range(queries.shape[0])[SAMPLE]:
            row = queries[i]
            # Qdrant adds in float32: scores agree to 1e-6 relative (measured: 3e-7, i.e. 1.5e-5 at a score of 40)
            assert_same_ranking(store.search("splade", (row.indices, row.data), limit=10), index.taat(row, 10)[0],
                                tol=1e-6, relative=True)
    finally:
        store.close()


def test_an_empty_query_costs_nothing_and_returns_nothing(index):
    empty = [sp.csr_matrix((1, index.vocab_size), dtype=np.float32), (np.array([], dtype=int), np.array([])),
             (np.array([5, 7]), np.array([0.0, 0.0])), ([], [])]
    for query in empty:
        for method in ("taat", *DYNAMIC):
            assert index.search(query, 10, method) == ([], Cost(0, 0, 0))
    absent = int(np.flatnonzero(index.lengths == 0)[0])  # a vocabulary term no document has
    assert index.search(([absent], [1.0]), 10, "maxscore") == ([], Cost(0, 0, 0))


def test_k_larger_than_the_matches_returns_every_match(index):
    rare = int(np.flatnonzero(index.lengths == 3)[0])
    expected = index.taat(([rare], [2.0]), 50)
    assert len(expected[0]) == 3 and expected[1] == Cost(1, 3, 0)
    docs, weights = index.postings(rare)
    assert sorted(d for d, _ in expected[0]) == sorted(index.doc_ids[d] for d in docs)
    for method in DYNAMIC:
        assert index.search(([rare], [2.0]), 50, method)[0] == expected[0]


def test_static_pruning_keeps_each_lists_heaviest_postings(index, vectors):
    pruned = index.pruned(100)
    assert pruned.lengths.max() == 100 and (pruned.lengths == np.minimum(index.lengths, 100)).all()
    np.testing.assert_array_equal(pruned.max_weights, index.max_weights)
    term = int(np.argmax(index.lengths))
    docs, weights = index.postings(term)
    kept = set(pruned.postings(term)[0].tolist())
    assert min(weights[np.isin(docs, list(kept))]) >= max(weights[~np.isin(docs, list(kept))])
    query = vectors[1][0]
    assert pruned.taat(query)[1].postings_scored < index.taat(query)[1].postings_scored


def test_bad_input_is_refused_with_a_clear_message(index, vectors):
    row = vectors[1][0]
    with pytest.raises(ValueError, match="k=0 must be an int >= 1"):
        index.taat(row, 0)
    with pytest.raises(TypeError, match="k=2.5 must be an int"):
        index.maxscore(row, 2.5)
    with pytest.raises(ValueError, match=r"method='bm25' is not supported; use one of \['taat', 'maxscore', 'wand'\]"):
        index.search(row, 10, "bm25")
    with pytest.raises(ValueError, match=r"term id 30522; ids are whole numbers in \[0, 30522\)"):
        index.taat(([1, 30522], [1.0, 1.0]))
    with pytest.raises(ValueError, match="weight -1.0 for term 7; weights must be finite and >= 0"):
        index.wand(([7], [-1.0]))
    with pytest.raises(ValueError, match="weight nan"):
        index.taat(([7], [float("nan")]))
    with pytest.raises(ValueError, match="repeats term id 7"):
        index.taat(([7, 7], [1.0, 1.0]))
    with pytest.raises(ValueError, match="2 term ids but 1 weights"):
        index.taat(([7, 8], [1.0]))
    with pytest.raises(ValueError, match=r"shape \(2, 30522\).*Pass Q\[i\]"):
        index.taat(vectors[1][:2])
    with pytest.raises(TypeError, match="1-row sparse matrix or a pair"):
        index.taat([7, 8])
    with pytest.raises(TypeError, match="scipy sparse matrix"):
        InvertedIndex(np.ones((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="2 document rows but 1 document ids"):
        InvertedIndex(sp.csr_matrix(np.ones((2, 3))), ["a"])
    with pytest.raises(ValueError, match="duplicate document id 'a'"):
        InvertedIndex(sp.csr_matrix(np.ones((2, 3))), ["a", "a"])
    with pytest.raises(ValueError, match="negative, NaN or infinite weight"):
        InvertedIndex(sp.csr_matrix(-np.ones((2, 3))), ["a", "b"])
    with pytest.raises(ValueError, match="max_postings=0"):
        index.pruned(0)
