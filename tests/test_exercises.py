"""The exercise checkers: right answers pass, common wrong answers get their specific hint, and a learner's
broken code (no `return`, an exception, a result of the wrong type or shape) gets a message, never a traceback."""

import math
import uuid

import numpy as np
import pytest
import torch

from splade_helpers import exercises

NS = uuid.NAMESPACE_URL


def verdict(check, fn, capsys) -> tuple[bool, str]:
    """What a learner sees: the checker's return value and its printed message (one line, no traceback)."""
    passed = check(fn)
    out = capsys.readouterr().out
    assert "Traceback" not in out and out.strip(), out
    return passed, out


def _dcg(gains, exponential=False):
    return sum(((2**g - 1) if exponential else g) / math.log2(i + 1) for i, g in enumerate(gains, 1))


def _ndcg(ranked, judged):
    return _dcg(ranked[:10]) / _dcg(sorted(judged, reverse=True)[:10])


def test_check_ndcg(capsys):
    def retrieved_ideal(ranked, judged):
        ideal = sorted([g for g in ranked[:10] if g > 0], reverse=True)
        return _dcg(ranked[:10]) / _dcg(ideal) if ideal else 0.0

    def rank_from_one(ranked, judged):
        return sum(g / math.log2(i) for i, g in enumerate(ranked[:10], 1))

    right = [_ndcg, lambda r, j: np.float32(_ndcg(r, j)), lambda r, j: torch.tensor([_ndcg(r, j)])]
    for fn in right:  # a float32 or a one-element tensor is a number too
        assert verdict(exercises.check_ndcg, fn, capsys) == (True, "Correct: your nDCG@10 equals ir_measures' on all 4 cases.\n")
    wrong = {
        (lambda r, j: _dcg(r) / _dcg(sorted(j, reverse=True))): "cut both rankings at 10",
        retrieved_ideal: "the ideal ranking sorts all judged gains, not only the retrieved ones",
        (lambda r, j: _dcg(r[:10], True) / _dcg(sorted(j, reverse=True)[:10], True)): "gains are linear here",
        (lambda r, j: _dcg(r[:10]) / len(j)): "not by the number of relevant documents",
        rank_from_one: "ZeroDivisionError: float division by zero (the discount is 1 / log2(rank + 1)",
        (lambda r, j: 0.5): "expected 0.8448, got 0.5000",
        (lambda r, j: [0.5, 0.2]): "Return nDCG@10, one number; got a list",
        (lambda r, j: "0.84"): "Return nDCG@10 as a number, not a str",
    }
    for fn, message in wrong.items():
        passed, out = verdict(exercises.check_ndcg, fn, capsys)
        assert not passed and message in out


def test_check_shared_terms(capsys):
    from splade_helpers import analyze

    assert not exercises.check_shared_terms(lambda q, d: (_ for _ in ()).throw(NotImplementedError()))
    assert "Not implemented yet" in capsys.readouterr().out
    assert not exercises.check_shared_terms(lambda q, d: set(q.lower().split()) & set(d.lower().split()))
    assert "Missing terms: ['turbul', 'wing']" in capsys.readouterr().out
    assert exercises.check_shared_terms(lambda q, d: set(analyze([q])[0]) & set(analyze([d])[0]))
    assert "Correct" in capsys.readouterr().out
    assert exercises.check_shared_terms(lambda q, d: sorted(set(analyze([q])[0]) & set(analyze([d])[0])))  # a list too
    assert "Correct" in capsys.readouterr().out
    wrong = {
        (lambda q, d: {"turbulence", "flow"}): "['turbulence'] are not BM25 terms",
        (lambda q, d: set(analyze([q])[0]) | set(analyze([d])[0])): "Too many terms: ['transfer'] are not in both texts.",
        (lambda q, d: " ".join(set(analyze([q])[0]) & set(analyze([d])[0]))): "not one string",
        (lambda q, d: 3): "Return a set of terms (strings); got an int",
        (lambda q, d: [["flow"]]): "its items must be strings, not lists",
        (lambda q, d: {1, 2}): "1 is an int",
    }
    for fn, message in wrong.items():
        passed, out = verdict(exercises.check_shared_terms, fn, capsys)
        assert not passed and message in out, out


def test_check_splade_pooling(capsys):
    def right(logits, mask):
        return torch.log1p(torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")))).amax(dim=1)

    def no_mask(logits, mask):
        return torch.log1p(torch.relu(logits)).amax(dim=1)

    def mean(logits, mask):
        return (torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    def masked_sum(logits, mask):
        return (torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1)).sum(1)

    def no_log1p(logits, mask):
        return torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf"))).amax(dim=1)

    def no_relu(logits, mask):
        return torch.log1p(logits.clamp(min=-0.999)).masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).amax(dim=1)

    def max_pair(logits, mask):
        return torch.log1p(torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")))).max(dim=1)

    assert exercises.check_splade_pooling(right) and "Correct" in capsys.readouterr().out
    assert exercises.check_splade_pooling(lambda l, m: right(l, m).numpy().tolist()) and "Correct" in capsys.readouterr().out
    assert exercises.check_splade_pooling(lambda l, m: right(l.requires_grad_(), m)) and "Correct" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(no_mask) and "not masked" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(mean) and "mean" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(lambda l, m: l) and "shape" in capsys.readouterr().out
    wrong = {
        masked_sum: "Not yet: you summed over positions; SPLADE takes the max (sum pooling was SPLADE v1's; max pooling came with v2).",
        (lambda l, m: torch.log1p(torch.relu(l)).sum(1)): "you summed over positions; SPLADE takes the max (sum pooling "
                                                          "was SPLADE v1's; max pooling came with v2), and padding",
        no_log1p: "log1p is missing",
        no_relu: "ReLU is missing",
        max_pair: "a pair (values, indices): take its .values, or use .amax(dim=1)",
        (lambda l, m: right(l, m) * 2): "values differ from SPLADE's by up to",
        (lambda l, m: right(l, m).amax(dim=0)): "got (7,): pool over dim=1",
        (lambda l, m: "weights"): "not a str",
        (lambda l, m: [right(l, m)[0], right(l, m)[1, :3]]): "got a list",
    }
    for fn, message in wrong.items():
        passed, out = verdict(exercises.check_splade_pooling, fn, capsys)
        assert not passed and message in out, out


def test_check_prune(capsys):
    def right(indices, values, k):
        keep = np.sort(np.lexsort((indices, -values))[:k])
        return indices[keep], values[keep]

    def descending(indices, values, k):
        keep = np.lexsort((indices, -values))[:k]
        return indices[keep], values[keep]

    def values_sorted_apart(indices, values, k):
        kept, vals = right(indices, values, k)
        return kept, np.sort(vals)

    assert exercises.check_prune(right) and "Correct" in capsys.readouterr().out
    assert exercises.check_prune(lambda i, v, k: [x.tolist() for x in right(i, v, k)]) and "Correct" in capsys.readouterr().out
    assert not exercises.check_prune(lambda i, v, k: (i[:k], v[:k])) and "Not yet" in capsys.readouterr().out
    assert not exercises.check_prune(lambda i, v, k: None) and "pair" in capsys.readouterr().out
    wrong = {
        (lambda i, v, k: (i[:k], v[:k])): "Not yet for k=3: kept ids [3, 8, 12], expected [8, 40, 41]",
        descending: "Almost: return the kept indices in ascending order",
        values_sorted_apart: "the values must stay paired with their indices",
        (lambda i, v, k: right(i, v, k)[0]): "Return a pair (indices, values); got an ndarray of shape (3,)",
        (lambda i, v, k: (*right(i, v, k), k)): "Return a pair (indices, values); got a tuple",
        (lambda i, v, k: (right(i, v, k)[0], v)): "Return as many values as indices: got 3 indices and 6 values",
        (lambda i, v, k: (np.vstack(right(i, v, k)), v)): "Return the kept indices as a 1-d array; got 2 dimensions",
        (lambda i, v, k: {"indices": i, "values": v}): "Return a pair (indices, values); got a dict",
        (lambda i, v, k: (["a", "b", "c"], v[:3])): "Return the kept indices as an array of numbers",
    }
    for fn, message in wrong.items():
        passed, out = verdict(exercises.check_prune, fn, capsys)
        assert not passed and message in out, out


def test_check_minmax(capsys):
    def right(s):
        lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
        return np.divide(s - lo, hi - lo, out=np.zeros_like(s), where=hi > lo)

    assert exercises.check_minmax(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_minmax(lambda s: (s - s.min()) / (s.max() - s.min())) and "whole matrix" in capsys.readouterr().out
    with np.errstate(all="ignore"):
        naive = lambda s: (s - s.min(1, keepdims=True)) / (s.max(1, keepdims=True) - s.min(1, keepdims=True))  # noqa: E731
        assert not exercises.check_minmax(naive) and "NaN" in capsys.readouterr().out
    assert exercises.check_minmax(lambda s: torch.as_tensor(right(s))) and "Correct" in capsys.readouterr().out
    wrong = {
        (lambda s: right(s).ravel()): "expected shape (2, 3), got (6,)",
        (lambda s: right(s.T)): "expected shape (2, 3), got (3, 2)",
        (lambda s: s / s.max(axis=1, keepdims=True)): "expected [[0.0, 1.0, 0.5], [0.0, 1.0, 0.5]], got [[0.333, 1.0, 0.667]",
        (lambda s: "normalised"): "Return the normalised scores as an array of numbers, not a str",
        (lambda s: [[0.0, 1.0], [0.5]]): "which NumPy cannot read as one",
    }
    for fn, message in wrong.items():
        passed, out = verdict(exercises.check_minmax, fn, capsys)
        assert not passed and message in out, out


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


_SALT = np.int64(3)  # a value the fresh process cannot be given


def _salted(doc_id):
    return str(uuid.uuid5(NS, doc_id + str(_SALT)))


def _normalise(doc_id):
    return doc_id.strip().lower()


def _with_a_helper(doc_id):
    return uuid.uuid5(NS, _normalise(doc_id))  # a UUID object, and a helper function of the same file


def _numpy_id(doc_id):
    import hashlib

    return np.uint64(int(hashlib.sha256(doc_id.encode()).hexdigest()[:15], 16))  # once refused: not JSON-serialisable


def test_check_point_ids_accepts_any_right_form(capsys):
    """Lambdas (alone or beside others on their line, over several lines), helpers, closures, UUID objects."""
    from hashlib import sha256
    from uuid import uuid5

    one_line = lambda d: str(uuid.uuid5(NS, d))  # noqa: E731 - the exercise's most natural answer
    right, wrong = (lambda d: str(uuid5(NS, d))), (lambda d: abs(hash(d)))
    namespace = uuid.uuid5(uuid.NAMESPACE_DNS, "course")

    def closure(doc_id):
        return str(uuid.uuid5(namespace, doc_id))

    for fn in (one_line, right, _with_a_helper, _numpy_id, closure, lambda d: int(sha256(d.encode()).hexdigest()[:15], 16),
               lambda d: (
                   uuid5(NS,
                         d)
               )):
        assert verdict(exercises.check_point_ids, fn, capsys)[0], fn
    assert verdict(exercises.check_point_ids, lambda d: str(uuid.uuid5(NS, d)), capsys) == (
        True, "Correct: valid Qdrant ids, distinct per document, and the same in a fresh process.\n")
    passed, out = verdict(exercises.check_point_ids, wrong, capsys)  # beside a right lambda on the same line
    assert not passed and "a fresh Python process gives other ids" in out
    passed, out = verdict(exercises.check_point_ids, _salted, capsys)
    assert not passed and "could not run on its own in a fresh Python process (NameError: name '_SALT'" in out
    import functools

    passed, out = verdict(exercises.check_point_ids, functools.partial(uuid.uuid5, NS), capsys)
    assert not passed and "it is not a plain function" in out


def test_check_flops_right_answer(capsys):
    """Only the right answer here: its wrong answers' hints are being revised with notebook 06's exercise."""
    assert verdict(exercises.check_flops, lambda reps: (reps.mean(dim=0) ** 2).sum(), capsys)[0]


def _generator(*args):
    yield 1


class _Unreadable:
    """A result that breaks when the checker reads it (as a learner's own class might)."""

    def __array__(self, *args, **kwargs):
        raise ZeroDivisionError("broken __array__")

    def __len__(self):
        raise ZeroDivisionError("broken __len__")

    def __float__(self):
        raise ZeroDivisionError("broken __float__")

    def __iter__(self):
        raise ZeroDivisionError("broken __iter__")

    def __str__(self):
        raise ZeroDivisionError("broken __str__")


def _no_return(*args):
    args[0]  # computes something and forgets `return`


def _raises(*args):
    raise ValueError("my own bug")


def _not_implemented(*args):
    raise NotImplementedError  # the notebooks' template


CHECKERS = [exercises.check_ndcg, exercises.check_shared_terms, exercises.check_splade_pooling, exercises.check_prune,
            exercises.check_minmax, exercises.check_point_ids, exercises.check_flops, exercises.check_taat]
BROKEN = {
    _no_return: "Your function returned None: did it forget `return`?",
    _raises: "Your function raised ValueError: my own bug",
    _not_implemented: "Not implemented yet: replace `raise NotImplementedError` with your code.\n",
    _generator: "Your function is a generator (it uses `yield`)",
    (lambda: 0.5): "The checker calls your function with",
    (lambda *a: "text"): "",
    (lambda *a: object()): "",
    (lambda *a: _Unreadable()): "",
    (lambda *a: [1.0, [2.0]]): "",
}


@pytest.mark.parametrize("check", CHECKERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("fn", BROKEN, ids=lambda f: f.__name__)
def test_a_learners_broken_code_gets_a_message_not_a_traceback(check, fn, capsys):
    passed, out = verdict(check, fn, capsys)
    assert passed is False and BROKEN[fn] in out and out.count("\n") == 1, out


def test_a_missing_return_names_what_to_return(capsys):
    assert "It must return nDCG@10, one number between 0 and 1." in verdict(exercises.check_ndcg, _no_return, capsys)[1]
    assert "It must return a pair (indices, values)." in verdict(exercises.check_prune, _no_return, capsys)[1]
    assert "not a list" not in verdict(exercises.check_ndcg, 42, capsys)[1]  # the function itself must be passed


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
