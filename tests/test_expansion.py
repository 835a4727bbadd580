import numpy as np
import pytest
import scipy.sparse as sp
import torch

from splade_helpers.expansion import (
    expected_flops,
    index_bytes,
    match_contributions,
    prune_top_k,
    sparsity_stats,
    term_origins,
)


def test_term_origins_agree_with_the_encoder(splade):
    text = "machine learning tutorial"
    origins = term_origins(splade, text)
    vec = splade.vector(text)
    assert len(origins) == len(vec["indices"])
    assert [(o.term, round(o.weight, 5)) for o in origins[:20]] == [(t, round(w, 5)) for t, w in vec["terms"]]
    by_term = {o.term: o for o in origins}
    assert by_term["machine"].in_text and by_term["machine"].source_token == "machine"
    assert not by_term["school"].in_text  # an expansion


def test_the_source_position_is_where_the_max_happens(splade):
    text = "shock waves in supersonic flow"
    enc = splade.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        logits = splade.model(**enc).logits[0]
    for o in term_origins(splade, text)[:10]:
        j = splade.vocab.index(o.term)
        assert int(logits[:, j].argmax()) == o.source_position


def test_empty_text_has_no_origins(splade):
    assert term_origins(splade, "  ") == []


def test_match_contributions_sum_to_the_dot_product(splade):
    q = splade.encode_documents(["heat transfer"], cache=False)
    d = splade.encode_documents(["the transfer of heat through a boundary layer"], cache=False)
    parts = match_contributions(q, d, splade.vocab)
    assert sum(p[3] for p in parts) == pytest.approx(float((q @ d.T).toarray()[0, 0]), rel=1e-5)
    assert [p[3] for p in parts] == sorted((p[3] for p in parts), reverse=True)
    assert {"heat", "transfer"} <= {p[0] for p in parts}
    with pytest.raises(ValueError, match="query has 5 columns; this model.s vectors have 30522"):
        match_contributions(np.ones(5), np.ones(5), splade.vocab)


def test_prune_top_k_keeps_the_heaviest_terms():
    m = sp.csr_matrix(np.array([[0.5, 2.0, 0.0, 2.0, 1.0], [0.0, 0.0, 0.3, 0.0, 0.0]], dtype=np.float32))
    p = prune_top_k(m, 2)
    np.testing.assert_allclose(p.toarray(), [[0, 2.0, 0, 2.0, 0], [0, 0, 0.3, 0, 0]], rtol=1e-6)
    assert prune_top_k(m, 1).toarray()[0].tolist() == [0, 2.0, 0, 0, 0]  # tie: lower id kept
    assert (m != prune_top_k(m, 10)).nnz == 0 and m.nnz == 5  # input untouched
    with pytest.raises(ValueError, match="k=0"):
        prune_top_k(m, 0)


def test_sparsity_flops_and_size():
    docs = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0]], dtype=np.float32))
    queries = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float32))
    assert sparsity_stats(docs)["mean_nnz"] == 2 and sparsity_stats(docs)["vocab_share"] == 0.5
    # p(q) = [.5, 0, 0, .5], p(d) = [1, .5, .5, 0] -> 0.5
    assert expected_flops(queries, docs) == pytest.approx(0.5)
    assert index_bytes(docs) == 4 * 8 + 3 * 8
