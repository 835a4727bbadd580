import numpy as np
import pytest
import scipy.sparse as sp
import torch


def seed_encode(encoder, text, max_length=512):
    """The seed's formula, written out: log1p(relu(logits)) * mask, max over positions."""
    tok = encoder.tokenizer(text, return_tensors="pt", max_length=max_length, truncation=True)
    with torch.no_grad():
        logits = encoder.model(**tok).logits
    return torch.max(torch.log1p(torch.relu(logits)) * tok["attention_mask"].unsqueeze(-1), dim=1)[0].squeeze(0).numpy()


def test_batch_encoding_equals_sentence_transformers_sparse_encoder(splade, cranfield):
    from sentence_transformers import SparseEncoder

    texts = cranfield.doc_texts[:48] + cranfield.query_texts[:24] + ["lift " * 700]
    ours = splade.encode_batch(texts, cache=False, batch_size=8).toarray()
    st = SparseEncoder(str(splade.source.path), device="cpu")
    theirs = st.encode(texts, batch_size=16, convert_to_tensor=True).to_dense().numpy()
    assert ours.shape == theirs.shape == (len(texts), 30522)
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)


def test_blockwise_max_pooling_is_exactly_the_full_product_s_max():
    from splade_helpers.mlm_head import HEAD_TILE_ROWS, max_pooled_logits

    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(5000, 128, generator=g), torch.randn(5000, generator=g)
    lengths = [3, HEAD_TILE_ROWS + 7, 1, 200, 400, 90]  # a text longer than a tile; tiles that end mid-way
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    tokens = torch.randn(int(bounds[-1]), 128, generator=g)
    full = torch.addmm(bias, tokens, weight.T)  # the (tokens x vocabulary) logits, in one product
    expected = torch.stack([full[bounds[r] : bounds[r + 1]].amax(dim=0) for r in range(len(lengths))])
    assert torch.equal(max_pooled_logits(tokens, bounds, weight, bias), expected)


@pytest.mark.parametrize("lengths", [[3, 600, 1, 200, 9], [9], [40] * 30 + [9]])  # long, short and query-like tiles
def test_positive_maxima_skip_nothing_and_are_the_full_product_s_bits(monkeypatch, lengths):
    from splade_helpers import mlm_head

    monkeypatch.setattr(mlm_head, "_int8_pays", lambda: True)  # the filtered path, whatever this CPU's speed
    g = torch.Generator().manual_seed(1)
    weight, bias = 0.1 * torch.randn(5000, 128, generator=g), torch.full((5000,), -4.0)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    tokens = torch.randn(int(bounds[-1]), 128, generator=g)
    bias[:50] = -torch.addmm(torch.zeros(50), tokens, weight[:50].T).amax(dim=0)  # maxima at 0: the bound's edge
    full = mlm_head.max_pooled_logits(tokens, bounds, weight, bias)
    fast = mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)
    positive = full > 0
    assert 0 < positive.sum() < 0.05 * positive.numel()  # few positives, as in SPLADE: most terms are skipped
    assert torch.equal(fast[positive], full[positive])
    assert torch.all(fast[~positive] <= 0)
    tokens[2, 5] = float("nan")  # nothing can be bounded: the full product, NaN and all
    assert torch.equal(mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True).isnan(),
                       mlm_head.max_pooled_logits(tokens, bounds, weight, bias).isnan())


@pytest.mark.parametrize("seed", [2, 3])
def test_positive_maxima_of_a_short_text_alone_have_the_full_product_s_bits(monkeypatch, seed):
    from splade_helpers import mlm_head

    monkeypatch.setattr(mlm_head, "_int8_pays", lambda: True)
    g = torch.Generator().manual_seed(seed)  # these seeds make a product of a few rows and terms differ in its last bits
    weight, bias = 0.1 * torch.randn(5000, 128, generator=g), torch.full((5000,), -4.0)
    tokens, bounds = torch.randn(5, 128, generator=g), [0, 5]  # a 5-token query, encoded alone
    full = mlm_head.max_pooled_logits(tokens, bounds, weight, bias)
    fast = mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)
    assert torch.equal(fast[full > 0], full[full > 0]) and (full > 0).sum() > 0


def test_int8_filter_never_reuses_a_weight_changed_in_place(monkeypatch):
    from splade_helpers import mlm_head

    monkeypatch.setattr(mlm_head, "_int8_pays", lambda: True)
    g = torch.Generator().manual_seed(4)
    weight, bias = 0.1 * torch.randn(3000, 128, generator=g), torch.full((3000,), -4.0)
    tokens, bounds = torch.randn(300, 128, generator=g), [0, 100, 300]
    for step in range(3):  # as in training: the same tensor, changed between calls
        full = mlm_head.max_pooled_logits(tokens, bounds, weight, bias)
        fast = mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)
        assert torch.equal(fast[full > 0], full[full > 0]) and (full > 0).sum() > 0 and torch.all(fast[full <= 0] <= 0)
        weight[step * 500 : step * 500 + 500] *= 3.0  # in place: same address, new contents
    mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True)  # the weight's int8 form kept
    for broken in (bias, weight):  # NaN in the bias (the weight unchanged), inf in the weight: the full product
        broken.view(-1)[7] = float("nan") if broken is bias else float("inf")
        torch.testing.assert_close(mlm_head.max_pooled_logits(tokens, bounds, weight, bias, positive_only=True),
                                   mlm_head.max_pooled_logits(tokens, bounds, weight, bias), rtol=0, atol=0, equal_nan=True)


def test_without_an_int8_product_the_filter_is_skipped(monkeypatch):
    from splade_helpers import mlm_head

    assert mlm_head._int8_pays() in (True, False)  # measured, whatever this CPU
    monkeypatch.delattr(torch, "_int_mm")  # a torch build without it
    assert mlm_head._int8_pays.__wrapped__() is False


def test_max_before_activation_equals_the_seed_formula(splade):
    text = "experimental investigation of the aerodynamics of a wing in a slipstream"
    row = splade.encode_batch([text], cache=False).toarray()[0]
    np.testing.assert_allclose(row, seed_encode(splade, text), atol=1e-6)


def test_encode_has_the_seed_interface(splade):
    out = splade.encode("machine learning tutorial")
    assert set(out) == {"indices", "values", "terms", "num_tokens", "truncated"}
    assert out["indices"] == sorted(out["indices"]) and len(out["indices"]) == len(out["values"])
    dense = seed_encode(splade, "machine learning tutorial")
    np.testing.assert_allclose(out["values"], dense[out["indices"]], atol=1e-6)
    assert np.count_nonzero(dense) == len(out["indices"])
    weights = [w for _, w in out["terms"]]
    assert weights == sorted(weights, reverse=True) and len(out["terms"]) == min(20, len(out["indices"]))
    assert out["terms"][0][0] == "machine"  # the heaviest term of the real model
    assert out["num_tokens"] == 6 and out["truncated"] is False  # [CLS] machine learning tutor ##ial [SEP]


def test_rows_come_back_in_input_order(splade):
    texts = ["a very long text about boundary layers " * 5, "wing", "shock waves at mach two"]
    forward = splade.encode_batch(texts, cache=False).toarray()
    backward = splade.encode_batch(texts[::-1], cache=False).toarray()
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)
    np.testing.assert_allclose(forward[1], seed_encode(splade, "wing"), atol=1e-5)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_gives_an_empty_vector(splade, text):
    out = splade.encode(text)
    assert out["indices"] == [] and out["values"] == [] and out["terms"] == []
    m = splade.encode_batch(["wing", text, "lift"], cache=False)
    assert m.shape == (3, 30522) and m[1].nnz == 0 and m[0].nnz > 0 and m[2].nnz > 0


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["list"]])
def test_non_strings_are_type_errors(splade, bad):
    with pytest.raises(TypeError, match="must be a str"):
        splade.encode(bad)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        splade.encode_batch(["ok", bad], cache=False)


def test_a_single_string_is_not_a_batch(splade):
    with pytest.raises(TypeError, match="wrap it in a list"):
        splade.encode_batch("wing", cache=False)


def test_long_text_is_truncated_at_max_length(splade):
    text = "supersonic flow over a flat plate " * 200
    out = splade.encode(text, kind="document")
    assert out["truncated"] is True and out["num_tokens"] > 1000
    np.testing.assert_allclose(
        splade.encode_batch([text], cache=False).toarray()[0], seed_encode(splade, text, 512), atol=1e-5
    )


def test_queries_and_documents_have_their_own_max_length():
    from splade_helpers import SpladeEncoder

    enc = SpladeEncoder(query_max_length=8, doc_max_length=64, cache=False)
    text = "heat transfer in the laminar boundary layer of a flat plate at high speed " * 6
    q = enc.encode_queries([text]).toarray()[0]
    d = enc.encode_documents([text]).toarray()[0]
    np.testing.assert_allclose(q, seed_encode(enc, text, 8), atol=1e-5)
    np.testing.assert_allclose(d, seed_encode(enc, text, 64), atol=1e-5)
    assert enc.encode(text, kind="query")["truncated"] and enc.encode(text, kind="document")["truncated"]


@pytest.mark.parametrize("kwargs", [{"query_max_length": 0}, {"doc_max_length": 513}, {"batch_size": 0},
                                    {"head_dtype": "float16"}])
def test_bad_settings_are_refused(kwargs):
    from splade_helpers import SpladeEncoder

    with pytest.raises(ValueError, match=list(kwargs)[0]):
        SpladeEncoder(**kwargs)


def test_top_terms_accepts_sparse_and_dense_vectors(splade):
    m = splade.encode_batch(["lift and drag of a wing"], cache=False)
    assert splade.top_terms(m, 5) == splade.top_terms(m.toarray()[0], 5)
    with pytest.raises(ValueError, match="one vector"):
        splade.top_terms(sp.vstack([m, m]))


def test_batch_encodings_are_cached_on_disk(splade, tmp_cache):
    from splade_helpers.sparse import MIN_CACHED_BATCH

    texts = [f"pressure distribution on a cone at incidence {i}" for i in range(MIN_CACHED_BATCH)]
    first = splade.encode_batch(texts)
    files = list(tmp_cache.rglob("*.npz"))
    assert len(files) == 1
    second = splade.encode_batch(texts)
    assert (first != second).nnz == 0
    splade.encode_batch(texts, max_length=8)  # other settings, other entry
    assert len(list(tmp_cache.rglob("*.npz"))) == 2
    splade.encode_batch(texts[:2])  # a small batch (a typed query) is not worth a file
    assert len(list(tmp_cache.rglob("*.npz"))) == 2
    splade.encode_batch(texts[:2], cache=True)
    assert len(list(tmp_cache.rglob("*.npz"))) == 3


def test_bfloat16_head_is_close_to_float32_and_cached_apart(splade, mini, tmp_cache):
    from splade_helpers import SpladeEncoder

    fast = SpladeEncoder(head_dtype="bfloat16")
    assert "bfloat16" in repr(fast) and "head_dtype" not in repr(splade)
    texts = mini.doc_texts[:20]
    exact, approx = splade.encode_batch(texts).toarray(), fast.encode_batch(texts).toarray()
    assert len(list(tmp_cache.rglob("*.npz"))) == 2  # one entry per precision: never served the other's
    diff = np.abs(exact - approx)
    assert 0 < diff.max() < 0.1, diff.max()  # really bf16, and close (weights are 0-3)
    for e, a in zip(exact, approx):
        top_e, top_a = set(np.argsort(-e)[:10]), set(np.argsort(-a)[:10])
        assert len(top_e & top_a) >= 8
    assert splade._head is None  # the float32 path uses the model's own weights


def test_window_mode_equals_max_over_the_windows_encoded_alone(splade):
    words = "the boundary layer thickens along the plate " * 40 + "finally the helicopter rotor"
    m = splade.encode_batch([words], window=64, cache=False).toarray()[0]
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
    truncated = splade.encode_batch([words], max_length=64, cache=False).toarray()[0]
    helicopter = splade.tokenizer.convert_tokens_to_ids("helicopter")
    assert m[helicopter] > 0 and truncated[helicopter] == 0  # the end of the text survives


def test_window_mode_on_short_text_equals_truncation(splade):
    texts = ["lift of a delta wing", "", "drag"]
    np.testing.assert_allclose(
        splade.encode_batch(texts, window=128, cache=False).toarray(),
        splade.encode_batch(texts, cache=False).toarray(),
        atol=1e-5,
    )


@pytest.mark.parametrize("kwargs", [{"window": 2}, {"window": 600}, {"stride": 10}, {"window": 16, "stride": 15}])
def test_bad_window_settings(splade, kwargs):
    with pytest.raises(ValueError, match="window|stride"):
        splade.encode_batch(["x"], cache=False, **kwargs)
