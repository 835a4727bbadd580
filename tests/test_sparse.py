import numpy as np
import pytest
import scipy.sparse as sp
import torch


def plain_encode(encoder, text, max_length=512):
    """The plain path the lessons read: the model's full logits, then sh.splade_pool."""
    from splade_helpers import splade_pool

    tok = encoder.tokenizer(text, return_tensors="pt", max_length=max_length, truncation=True)
    with torch.no_grad():
        logits = encoder.model(**tok).logits
    return splade_pool(logits, tok["attention_mask"])[0].numpy()


def test_splade_pool_is_the_reference_article_s_formula():
    g = torch.Generator().manual_seed(0)
    logits, mask = 3 * torch.randn(2, 6, 50, generator=g), torch.tensor([[1] * 6, [1, 1, 1, 0, 0, 0]])
    logits[1, 3:] = 9.0  # padding with large logits must not win
    article = torch.max(torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1), dim=1)[0]
    masked = torch.log1p(torch.relu(logits)).masked_fill(mask.unsqueeze(-1) == 0, 0).amax(dim=1)
    from splade_helpers import splade_pool

    assert torch.equal(splade_pool(logits, mask), article) and torch.equal(splade_pool(logits, mask), masked)


def test_batch_encoding_equals_sentence_transformers_sparse_encoder(splade, cranfield):
    from sentence_transformers import SparseEncoder

    texts = cranfield.doc_texts[:48] + cranfield.query_texts[:24] + ["lift " * 700]
    ours = splade.encode_documents(texts, cache=False, batch_size=8).toarray()
    st = SparseEncoder(str(splade.source.path), device="cpu")
    theirs = st.encode(texts, batch_size=16, convert_to_tensor=True).to_dense().numpy()
    assert ours.shape == theirs.shape == (len(texts), 30522)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def test_the_fast_encoder_equals_the_plain_path(splade):
    text = "experimental investigation of the aerodynamics of a wing in a slipstream"
    row = splade.encode_documents([text], cache=False).toarray()[0]
    np.testing.assert_allclose(row, plain_encode(splade, text), atol=1e-6)


def test_vector_has_the_reference_article_s_interface(splade):
    out = splade.vector("machine learning tutorial")
    assert set(out) == {"indices", "values", "terms", "num_tokens", "truncated"}
    assert out["indices"] == sorted(out["indices"]) and len(out["indices"]) == len(out["values"])
    dense = plain_encode(splade, "machine learning tutorial")
    np.testing.assert_allclose(out["values"], dense[out["indices"]], atol=1e-6)
    assert np.count_nonzero(dense) == len(out["indices"])
    weights = [w for _, w in out["terms"]]
    assert weights == sorted(weights, reverse=True) and len(out["terms"]) == min(20, len(out["indices"]))
    assert out["terms"][0][0] == "machine"  # the heaviest term of the real model
    assert out["num_tokens"] == 6 and out["truncated"] is False  # [CLS] machine learning tutor ##ial [SEP]


def test_rows_come_back_in_input_order(splade):
    texts = ["a very long text about boundary layers " * 5, "wing", "shock waves at mach two"]
    forward = splade.encode_documents(texts, cache=False).toarray()
    backward = splade.encode_documents(texts[::-1], cache=False).toarray()
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)
    np.testing.assert_allclose(forward[1], plain_encode(splade, "wing"), atol=1e-5)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_gives_an_empty_vector(splade, text):
    out = splade.vector(text)
    assert out["indices"] == [] and out["values"] == [] and out["terms"] == []
    m = splade.encode_documents(["wing", text, "lift"], cache=False)
    assert m.shape == (3, 30522) and m[1].nnz == 0 and m[0].nnz > 0 and m[2].nnz > 0


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["list"]])
def test_non_strings_are_type_errors(splade, bad):
    with pytest.raises(TypeError, match="must be a str"):
        splade.vector(bad)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        splade.encode_documents(["ok", bad], cache=False)


def test_a_single_string_is_not_a_batch(splade):
    with pytest.raises(TypeError, match="wrap it in a list"):
        splade.encode_documents("wing", cache=False)


def test_encode_needs_a_kind(splade):
    with pytest.raises(TypeError, match="kind"):
        splade.encode(["wing"], cache=False)
    with pytest.raises(ValueError, match="kind='doc'"):
        splade.encode(["wing"], kind="doc", cache=False)


def test_long_text_is_truncated_at_max_length(splade):
    text = "supersonic flow over a flat plate " * 200
    out = splade.vector(text, kind="document")
    assert out["truncated"] is True and out["num_tokens"] > 1000
    np.testing.assert_allclose(
        splade.encode_documents([text], cache=False).toarray()[0], plain_encode(splade, text, 512), atol=1e-5
    )


def test_queries_and_documents_have_their_own_max_length():
    from splade_helpers import SpladeEncoder

    enc = SpladeEncoder(query_max_length=8, doc_max_length=64, cache=False)
    text = "heat transfer in the laminar boundary layer of a flat plate at high speed " * 6
    q = enc.encode_queries([text]).toarray()[0]
    d = enc.encode_documents([text]).toarray()[0]
    np.testing.assert_allclose(q, plain_encode(enc, text, 8), atol=1e-5)
    np.testing.assert_allclose(d, plain_encode(enc, text, 64), atol=1e-5)
    assert enc.vector(text, kind="query")["truncated"] and enc.vector(text, kind="document")["truncated"]


@pytest.mark.parametrize("kwargs", [{"query_max_length": 0}, {"doc_max_length": 513}, {"batch_size": 0}])
def test_bad_settings_are_refused(kwargs):
    from splade_helpers import SpladeEncoder

    with pytest.raises(ValueError, match=list(kwargs)[0]):
        SpladeEncoder(**kwargs)


def test_top_terms_accepts_sparse_and_dense_vectors(splade):
    m = splade.encode_documents(["lift and drag of a wing"], cache=False)
    assert splade.top_terms(m, 5) == splade.top_terms(m.toarray()[0], 5)
    with pytest.raises(ValueError, match="one vector"):
        splade.top_terms(sp.vstack([m, m]))


def test_batch_encodings_are_cached_on_disk(splade, tmp_cache):
    from splade_helpers.cache import MIN_CACHED_BATCH

    texts = [f"pressure distribution on a cone at incidence {i}" for i in range(MIN_CACHED_BATCH)]
    first = splade.encode_documents(texts)
    files = list(tmp_cache.rglob("*.npz"))
    assert len(files) == 1
    second = splade.encode_documents(texts)
    assert (first != second).nnz == 0
    splade.encode_documents(texts, max_length=8)  # other settings, other entry
    assert len(list(tmp_cache.rglob("*.npz"))) == 2
    splade.encode_documents(texts[:2])  # a small batch (a typed query) is not worth a file
    assert len(list(tmp_cache.rglob("*.npz"))) == 2
    splade.encode_documents(texts[:2], cache=True)
    assert len(list(tmp_cache.rglob("*.npz"))) == 3


def test_window_mode_equals_max_over_the_windows_encoded_alone(splade):
    words = "the boundary layer thickens along the plate " * 40 + "finally the helicopter rotor"
    m = splade.encode_documents([words], window=64, cache=False).toarray()[0]
    ids = splade.tokenizer(words, add_special_tokens=False)["input_ids"]
    chunks = [ids[s : s + 62] for s in range(0, len(ids) - 62 + 1, 62)]
    if len(ids) % 62:
        chunks.append(ids[-62:])
    cls, sep = splade.tokenizer.cls_token_id, splade.tokenizer.sep_token_id
    with torch.no_grad():
        per_window = [
            torch.log1p(torch.relu(splade.model(input_ids=torch.tensor([[cls, *c, sep]])).logits)).amax(dim=1)[0].numpy()
            for c in chunks
        ]
    expected = np.max(per_window, axis=0)
    np.testing.assert_allclose(m, expected, atol=1e-4)
    truncated = splade.encode_documents([words], max_length=64, cache=False).toarray()[0]
    helicopter = splade.tokenizer.convert_tokens_to_ids("helicopter")
    assert m[helicopter] > 0 and truncated[helicopter] == 0  # the end of the text survives


def test_window_mode_on_short_text_equals_truncation(splade):
    texts = ["lift of a delta wing", "", "drag"]
    np.testing.assert_allclose(
        splade.encode_documents(texts, window=128, cache=False).toarray(),
        splade.encode_documents(texts, cache=False).toarray(),
        atol=1e-5,
    )


@pytest.mark.parametrize("kwargs", [{"window": 2}, {"window": 600}, {"stride": 10}, {"window": 16, "stride": 15}])
def test_bad_window_settings(splade, kwargs):
    with pytest.raises(ValueError, match="window|stride"):
        splade.encode_documents(["x"], cache=False, **kwargs)
