"""The exercise checkers: right answers pass, common wrong answers get their specific hint."""

import numpy as np
import torch

from splade_helpers import exercises


def test_check_shared_terms(capsys):
    from splade_helpers import analyze

    assert not exercises.check_shared_terms(lambda q, d: (_ for _ in ()).throw(NotImplementedError()))
    assert "Not implemented yet" in capsys.readouterr().out
    assert not exercises.check_shared_terms(lambda q, d: set(q.lower().split()) & set(d.lower().split()))
    assert "Missing terms: ['turbul', 'wing']" in capsys.readouterr().out
    assert exercises.check_shared_terms(lambda q, d: set(analyze([q])[0]) & set(analyze([d])[0]))
    assert "Correct" in capsys.readouterr().out


def test_check_splade_pooling(capsys):
    def right(logits, mask):
        return torch.log1p(torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")))).amax(dim=1)

    def no_mask(logits, mask):
        return torch.log1p(torch.relu(logits)).amax(dim=1)

    def mean(logits, mask):
        return (torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    assert exercises.check_splade_pooling(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(no_mask) and "not masked" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(mean) and "mean" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(lambda l, m: l) and "shape" in capsys.readouterr().out


def test_check_prune(capsys):
    def right(indices, values, k):
        keep = np.sort(np.lexsort((indices, -values))[:k])
        return indices[keep], values[keep]

    assert exercises.check_prune(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_prune(lambda i, v, k: (i[:k], v[:k])) and "Not yet" in capsys.readouterr().out
    assert not exercises.check_prune(lambda i, v, k: None) and "pair" in capsys.readouterr().out


def test_check_minmax(capsys):
    def right(s):
        lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
        return np.divide(s - lo, hi - lo, out=np.zeros_like(s), where=hi > lo)

    assert exercises.check_minmax(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_minmax(lambda s: (s - s.min()) / (s.max() - s.min())) and "whole matrix" in capsys.readouterr().out
    with np.errstate(all="ignore"):
        naive = lambda s: (s - s.min(1, keepdims=True)) / (s.max(1, keepdims=True) - s.min(1, keepdims=True))  # noqa: E731
        assert not exercises.check_minmax(naive) and "NaN" in capsys.readouterr().out


_IDS: dict = {}


def _python_hash(doc_id):
    return abs(hash(doc_id))


def _sha_as_64_bit_int(doc_id):
    import hashlib

    return int(hashlib.sha256(doc_id.encode()).hexdigest()[:16], 16)


def _cached_uuid4(doc_id):
    import uuid

    return _IDS.setdefault(doc_id, str(uuid.uuid4()))


def _uuid_as_128_bit_int(doc_id):
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, doc_id).int


def test_check_point_ids(capsys):
    import uuid

    from splade_helpers.qdrant import point_id

    assert exercises.check_point_ids(point_id) and "Correct" in capsys.readouterr().out
    assert exercises.check_point_ids(_sha_as_64_bit_int) and "Correct" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: d) and "neither an unsigned 64-bit int nor a UUID" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: str(uuid.uuid4())) and "calling it twice gave different ids" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: 7) and "different documents" in capsys.readouterr().out
    # the three wrong answers a learner is most likely to give
    assert not exercises.check_point_ids(_python_hash) and "a fresh Python process gives other ids" in capsys.readouterr().out
    assert not exercises.check_point_ids(_cached_uuid4) and "keeps ids in the variable '_IDS'" in capsys.readouterr().out
    assert not exercises.check_point_ids(_uuid_as_128_bit_int) and "outside 0 .. 2**64 - 1" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: True) and "is a bool" in capsys.readouterr().out


def test_check_taat(capsys):
    def right(terms, weights, index):
        scores = np.zeros(index.n_documents)
        for t, w in zip(terms, weights):
            docs, dw = index.postings(t)
            scores[docs] += w * dw
        return scores

    def no_return(terms, weights, index):
        scores = np.zeros(index.n_documents)
        for t, w in zip(terms, weights):
            docs, dw = index.postings(t)
            scores[docs] += w * dw

    def assign(terms, weights, index):
        scores = np.zeros(index.n_documents)
        for t, w in zip(terms, weights):
            docs, dw = index.postings(t)
            scores[docs] = w * dw
        return scores

    def no_query_weight(terms, weights, index):
        return right(terms, np.ones(len(weights)), index)

    def matches_only(terms, weights, index):
        s = right(terms, weights, index)
        return s[s > 0]

    def as_dict(terms, weights, index):
        return dict(enumerate(right(terms, weights, index)))

    def not_yet(terms, weights, index):
        raise NotImplementedError

    assert exercises.check_taat(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_taat(no_return) and "returned None" in capsys.readouterr().out
    assert not exercises.check_taat(assign) and "assigning (=)" in capsys.readouterr().out
    assert not exercises.check_taat(no_query_weight) and "query term's weight" in capsys.readouterr().out
    assert not exercises.check_taat(matches_only) and "one score per document" in capsys.readouterr().out
    assert not exercises.check_taat(as_dict) and "not a dict" in capsys.readouterr().out
    assert not exercises.check_taat(not_yet) and "Not implemented yet" in capsys.readouterr().out


def test_check_flops(capsys):
    def right(w):
        return (w.mean(dim=0) ** 2).sum()

    def no_return(w):
        (w.mean(dim=0) ** 2).sum()

    def sum_not_mean(w):  # the 1/B forgotten
        return (w.sum(dim=0) ** 2).sum()

    def divided_after_squaring(w):
        return (w.sum(dim=0) ** 2).sum() / w.shape[0]

    def mean_of_squares(w):
        return (w ** 2).mean(dim=0).sum()

    def per_vector(w):
        return w.mean(dim=0) ** 2

    assert exercises.check_flops(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_flops(no_return) and "Your function returned None" in capsys.readouterr().out
    assert not exercises.check_flops(sum_not_mean)
    assert "the 1/B is missing" in (out := capsys.readouterr().out) and "B² = 64 times too large" in out
    assert not exercises.check_flops(divided_after_squaring) and "divide by B before squaring" in capsys.readouterr().out
    assert not exercises.check_flops(mean_of_squares) and "not the mean of the squares" in capsys.readouterr().out
    assert not exercises.check_flops(per_vector) and "Return one number" in capsys.readouterr().out
    assert not exercises.check_flops(lambda w: (_ for _ in ()).throw(NotImplementedError()))
    assert "Not implemented yet" in capsys.readouterr().out
