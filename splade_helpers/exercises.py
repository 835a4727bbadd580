"""Self-checks for the notebooks' exercises: each says what is right or wrong in an answer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .bm25 import analyze


def _call(fn: Callable, *args):
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "Not implemented yet: replace `raise NotImplementedError` with your code."
    except Exception as exc:  # noqa: BLE001 - report any learner error as text
        return None, f"Your function raised {type(exc).__name__}: {exc}"


def check_shared_terms(fn: Callable[[str, str], set]) -> bool:
    """Exercise 01: ``fn(query, doc)`` must return the set of BM25 terms both texts contain."""
    cases = [
        ("turbulent flow over wings", "Turbulence in the flow over a wing"),
        ("the effect of heat", "heat transfer effects"),
        ("laptop power runs out fast", "Battery drains quickly"),
    ]
    for query, doc in cases:
        expected = set(analyze([query])[0]) & set(analyze([doc])[0])
        got, error = _call(fn, query, doc)
        if error:
            print(error)
            return False
        got = set(got)
        if got == expected:
            continue
        analyzed = set(analyze([query])[0]) | set(analyze([doc])[0])
        if got - analyzed:
            hint = (f"{sorted(got - analyzed)[:3]} are not BM25 terms: run splade_helpers.analyze on both texts "
                    f"(lower-case, stop words removed, stemmed) and intersect.")
        elif got - expected:
            hint = f"Too many terms: {sorted(got - expected)} are not in both texts."
        else:
            hint = f"Missing terms: {sorted(expected - got)}."
        print(f"Not yet, for query {query!r} and document {doc!r}: expected {sorted(expected)}, got {sorted(got)}. {hint}")
        return False
    print(f"Correct: all {len(cases)} cases match, including one pair that shares no term at all.")
    return True


def check_splade_pooling(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 02: ``fn(logits, attention_mask)`` -> (batch, vocab) SPLADE weights."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 7, generator=gen) * 2
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    logits[1, 3:] = 6.0  # padding with large logits: a pooling that ignores the mask picks them
    expected = torch.log1p(torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")))).amax(dim=1)
    got, error = _call(fn, logits.clone(), mask.clone())
    if error:
        print(error)
        return False
    got = torch.as_tensor(got, dtype=torch.float32)
    if tuple(got.shape) != (2, 7):
        print(f"Expected shape (batch, vocab) = (2, 7), got {tuple(got.shape)}: pool over dim=1 (positions).")
        return False
    if torch.allclose(got, expected, atol=1e-5):
        print("Correct: log1p(relu(logits)), max over unmasked positions.")
        return True
    hints = {
        "padding positions are not masked out": torch.log1p(torch.relu(logits)).amax(dim=1),
        "you took the mean over positions; SPLADE takes the max": (torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True),
        "log1p is missing (weights are unbounded)": torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf"))).amax(dim=1),
        "ReLU is missing (negative logits must become 0)": torch.nan_to_num(torch.log1p(logits.clamp(min=-0.999)).masked_fill(mask.unsqueeze(-1) == 0, float("-inf")).amax(dim=1)),
    }
    for hint, wrong in hints.items():
        if got.shape == wrong.shape and torch.allclose(got, wrong, atol=1e-5):
            print(f"Not yet: {hint}.")
            return False
    worst = float((got - expected).abs().max())
    print(f"Not yet: values differ from SPLADE's by up to {worst:.3f}. Apply ReLU, then log1p, then the masked max.")
    return False


def check_prune(fn: Callable[[np.ndarray, np.ndarray, int], tuple]) -> bool:
    """Exercise 03: ``fn(indices, values, k)`` -> the k heaviest (indices, values), ids ascending."""
    indices = np.array([3, 8, 12, 40, 41, 99])
    values = np.array([0.5, 2.0, 0.1, 2.0, 1.5, 0.7], dtype=np.float32)
    for k, expected in ((3, [8, 40, 41]), (1, [8]), (10, [3, 8, 12, 40, 41, 99])):
        got, error = _call(fn, indices.copy(), values.copy(), k)
        if error:
            print(error)
            return False
        try:
            got_idx, got_val = (np.asarray(x) for x in got)
        except (TypeError, ValueError):
            print("Return a pair (indices, values).")
            return False
        if sorted(got_idx.tolist()) != expected:
            print(f"Not yet for k={k}: kept ids {sorted(got_idx.tolist())}, expected {expected} "
                  f"(the k largest values; on a tie keep the lower id; k beyond the length keeps all).")
            return False
        if got_idx.tolist() != sorted(got_idx.tolist()):
            print("Almost: return the kept indices in ascending order, as sparse formats expect.")
            return False
        if not np.allclose(got_val, values[np.searchsorted(indices, got_idx)]):
            print("Not yet: the values must stay paired with their indices.")
            return False
    print("Correct: the heaviest terms are kept, ties go to the lower id, and k beyond the length keeps everything.")
    return True


def check_minmax(fn: Callable[[np.ndarray], np.ndarray]) -> bool:
    """Exercise 04: ``fn(scores)`` -> per-query (row) min-max normalised scores, constant rows -> 0."""
    from .fusion import normalize

    cases = {
        "two queries on different scales": np.array([[1.0, 3.0, 2.0], [10.0, 30.0, 20.0]]),
        "negative scores": np.array([[-2.0, 0.0, 2.0]]),
        "a query whose scores are all equal": np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]),
    }
    for name, scores in cases.items():
        got, error = _call(fn, scores.copy())
        if error:
            print(error)
            return False
        got = np.asarray(got, dtype=float)
        expected = normalize(scores, "minmax")
        if got.shape != expected.shape:
            print(f"Not yet ({name}): expected shape {expected.shape}, got {got.shape}.")
            return False
        if np.isnan(got).any():
            print(f"Not yet ({name}): NaN appears; a row with max == min must become all zeros, not 0/0.")
            return False
        if not np.allclose(got, expected):
            whole = (scores - scores.min()) / (scores.max() - scores.min()) if scores.max() > scores.min() else None
            if whole is not None and np.allclose(got, whole):
                print(f"Not yet ({name}): you normalised over the whole matrix; normalise each query (row) on its own.")
            else:
                print(f"Not yet ({name}): expected {expected.round(3).tolist()}, got {got.round(3).tolist()}.")
            return False
    print("Correct: each query is scaled to [0, 1] on its own, and constant rows become zeros.")
    return True


def check_point_ids(fn: Callable[[str], object]) -> bool:
    """Exercise 05: ``fn(doc_id)`` -> a Qdrant point id that is stable, unique and valid for string ids."""
    import uuid

    docs = ["1", "2", "doc-7", "Ünïcode id", "1"]
    got = []
    for d in docs:
        value, error = _call(fn, d)
        if error:
            print(error)
            return False
        got.append(value)
    for d, v in zip(docs, got):
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 0:
                print(f"Not yet: {v} for {d!r} is negative; Qdrant integer ids are unsigned.")
                return False
            continue
        try:
            uuid.UUID(str(v))
        except ValueError:
            print(f"Not yet: {v!r} (for {d!r}) is neither an unsigned int nor a UUID; Qdrant refuses other strings.")
            return False
    if got[0] != got[4] or got[0] != fn("1"):
        print("Not yet: the same document id must give the same point id every time (a re-run must update, not duplicate).")
        return False
    if len({str(v) for v in got[:4]}) != 4:
        print("Not yet: different documents got the same point id; one would overwrite the other.")
        return False
    print("Correct: stable across calls, distinct per document, and a valid Qdrant id for any string.")
    return True
