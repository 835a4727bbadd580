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


def _ndcg_reference(ranked_gains: list[int], judged_gains: list[int]) -> float:
    """nDCG@10 of one ranking, computed by ir_measures (trec_eval's ndcg_cut.10) on a made-up run and qrels."""
    from .evaluation import evaluate_run

    judged = {f"j{i}": g for i, g in enumerate(judged_gains)}
    unused: dict[int, list[str]] = {}
    for d, g in judged.items():
        unused.setdefault(g, []).append(d)
    run = []
    for i, g in enumerate(ranked_gains):
        run.append((unused[g].pop(0), 0.0) if g > 0 else (f"unjudged{i}", 0.0))
    return evaluate_run({"q": run}, {"q": judged}, ["q"])[0]["nDCG@10"]


def check_ndcg(fn: Callable[[list[int], list[int]], float]) -> bool:
    """Exercise 00: ``fn(ranked_gains, judged_gains)`` -> nDCG@10 of one ranking.

    ``ranked_gains``: the gain of each retrieved document, best first (0 = not relevant);
    ``judged_gains``: the gains of every document judged relevant for the query.
    """
    import math

    cases = {
        "a relevant document that was not retrieved": ([3, 0, 2, 0, 1], [3, 2, 1, 1]),
        "the best document retrieved last": ([0, 1, 0, 0, 4], [4, 1]),
        "relevant documents beyond rank 10": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 3], [4, 3, 2]),
        "a perfect ranking": ([4, 3, 2, 1], [4, 3, 2, 1]),
    }

    def dcg(gains: list[int], exponential: bool = False) -> float:
        return sum(((2**g - 1) if exponential else g) / math.log2(i + 1) for i, g in enumerate(gains, 1))

    for name, (ranked, judged) in cases.items():
        expected = _ndcg_reference(ranked, judged)
        got, error = _call(fn, list(ranked), list(judged))
        if error:
            if "ZeroDivisionError" in error:
                error += " (the discount is 1 / log2(rank + 1), so rank 1 is divided by log2(2) = 1)"
            print(error)
            return False
        try:
            got = float(got)
        except (TypeError, ValueError):
            print(f"Return a number (nDCG@10), got {type(got).__name__}.")
            return False
        if math.isclose(got, expected, abs_tol=1e-9):
            continue
        top, ideal = ranked[:10], sorted(judged, reverse=True)[:10]
        retrieved_ideal = sorted([g for g in top if g > 0], reverse=True)
        hints = [
            ("cut both rankings at 10: nDCG@10 ignores ranks 11 and beyond", dcg(ranked) / dcg(sorted(judged, reverse=True))),
            ("the ideal ranking sorts all judged gains, not only the retrieved ones",
             dcg(top) / dcg(retrieved_ideal) if retrieved_ideal else 0.0),
            ("gains are linear here, as in trec_eval: g / log2(rank + 1), not (2**g - 1) / log2(rank + 1)",
             dcg(top, True) / dcg(ideal, True)),
            ("divide by the ideal DCG (the best possible ordering), not by the number of relevant documents",
             dcg(top) / len(judged)),
        ]
        for hint, wrong in hints:
            if math.isclose(got, wrong, abs_tol=1e-9):
                print(f"Not yet ({name}): {hint}.")
                return False
        print(f"Not yet ({name}): ranked gains {ranked}, judged {judged}: expected {expected:.4f}, got {got:.4f}.")
        return False
    print(f"Correct: your nDCG@10 equals ir_measures' on all {len(cases)} cases.")
    return True


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


def _in_a_fresh_process(fn: Callable, args: list) -> tuple[list | None, str | None]:
    """Run ``fn`` on each of ``args`` in a new Python process with another string-hash seed.

    The function's source is sent with the modules and simple values (str, int, float, UUID) it
    refers to; anything else it needs must be defined inside it.
    """
    import inspect
    import json
    import subprocess
    import sys
    import textwrap
    import types
    import uuid

    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None, "its source is not available (define it with def in a cell)"
    lines = []
    for name in fn.__code__.co_names:
        value = fn.__globals__.get(name)
        if isinstance(value, (dict, list, set)):
            return None, (f"it keeps ids in the variable {name!r} ({type(value).__name__}); a variable is lost when the "
                          f"kernel restarts, and new random ids would duplicate every point: derive the id from the "
                          f"document id alone")
        if isinstance(value, types.ModuleType):
            lines.append(f"import {value.__name__} as {name}")
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            lines.append(f"{name} = {value!r}")
        elif isinstance(value, uuid.UUID):
            lines.append(f"import uuid as _uuid\n{name} = _uuid.UUID({str(value)!r})")
    program = "\n".join([*lines, source, "import json, sys, uuid",
                          f"out = [{fn.__name__}(a) for a in json.loads(sys.argv[1])]",
                          "print(json.dumps([str(v) if isinstance(v, uuid.UUID) else v for v in out]))"])
    env = {**__import__("os").environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, "-c", program, json.dumps(args)], capture_output=True, text=True, env=env,
                          timeout=60)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"it could not run on its own in a fresh Python process ({last}); import or define what it needs inside it"
    return json.loads(proc.stdout), None


def check_point_ids(fn: Callable[[str], object]) -> bool:
    """Exercise 05: ``fn(doc_id)`` -> a Qdrant point id that is valid, distinct per document and the same in every process.

    Qdrant accepts unsigned 64-bit integers or UUIDs. The id must not depend on the process
    (Python's ``hash`` of a string changes with every interpreter start: a kernel restart would
    then duplicate every point) nor on chance (``uuid4``).
    """
    import uuid

    docs = ["1", "2", "doc-7", "Ünïcode id", "184"]
    got = []
    for d in docs:
        value, error = _call(fn, d)
        if error:
            print(error)
            return False
        got.append(value)
    for d, v in zip(docs, got):
        if isinstance(v, bool):
            print(f"Not yet: {v!r} for {d!r} is a bool; Qdrant ids are unsigned integers or UUIDs.")
            return False
        if isinstance(v, (int, np.integer)):
            if not 0 <= int(v) < 2**64:
                print(f"Not yet: {v} for {d!r} is outside 0 .. 2**64 - 1; Qdrant integer ids are unsigned 64-bit.")
                return False
            continue
        try:
            uuid.UUID(str(v))
        except ValueError:
            print(f"Not yet: {v!r} (for {d!r}) is neither an unsigned 64-bit int nor a UUID; Qdrant refuses other ids.")
            return False
    if [str(v) for v in got] != [str(fn(d)) for d in docs]:
        print("Not yet: calling it twice gave different ids; a re-run must update the same points, not add new ones.")
        return False
    if len({str(v) for v in got}) != len(docs):
        print("Not yet: different documents got the same point id; one would overwrite the other.")
        return False
    fresh, error = _in_a_fresh_process(fn, docs)
    if error:
        print(f"Not yet: {error}.")
        return False
    if fresh != [str(v) if isinstance(v, uuid.UUID) else (int(v) if isinstance(v, np.integer) else v) for v in got]:
        print("Not yet: a fresh Python process gives other ids (Python's hash() of a string, or a random uuid4, changes "
              "between processes); after a kernel restart every point would be duplicated. Derive the id from the "
              "document id alone, e.g. uuid.uuid5(namespace, doc_id).")
        return False
    print("Correct: valid Qdrant ids, distinct per document, and the same in a fresh process.")
    return True


def check_flops(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Exercise 06: ``fn(representations)`` -> the FLOPS regulariser of a (batch x vocabulary) matrix of weights."""
    from sentence_transformers.sparse_encoder.losses import FlopsLoss

    gen = torch.Generator().manual_seed(0)
    cases = {"a random batch": torch.relu(torch.randn(8, 50, generator=gen)),
             "one term on in every vector": torch.zeros(4, 10).index_fill_(1, torch.tensor([3]), 2.0),
             "the same terms, each on in one vector only": torch.eye(4, 10) * 2.0}
    reference = FlopsLoss.__new__(FlopsLoss)  # the library's computation, without a model
    reference.threshold = None
    for name, reps in cases.items():
        expected = float(reference.compute_loss_from_embeddings(reps))
        got, error = _call(fn, reps.clone())
        if error or got is None:
            print(error or "Your function returned None: end it with `return` and the regulariser's value.")
            return False
        try:
            got = float(torch.as_tensor(got).reshape(()))
        except (TypeError, ValueError, RuntimeError):
            print("Return one number (a 0-d tensor or a float) for the whole batch.")
            return False
        if abs(got - expected) <= 1e-5 * max(1.0, abs(expected)):
            continue
        b, total = reps.shape[0], reps.sum(dim=0)
        hints = {"square the mean weight of each term over the batch, then sum over terms (not the mean of the squares)":
                 float((reps ** 2).mean(dim=0).sum()), "average over the batch (dim 0), one value per vocabulary term; not "
                 "over the vocabulary": float((reps.mean(dim=1) ** 2).sum()),
                 "that is the L1 norm of the mean; FLOPS squares each term's mean": float(reps.mean(dim=0).abs().sum()),
                 f"the 1/B is missing: you summed each term's weights over the batch instead of averaging them (B = {b} "
                 f"here, so your value is B² = {b * b} times too large)": float((total ** 2).sum()),
                 f"divide by B before squaring: (sum / B)² is the squared mean; sum² / B is B = {b} times too large":
                 float((total ** 2).sum() / b)}
        for hint, wrong in hints.items():
            if abs(got - wrong) <= 1e-5 * max(1.0, abs(wrong)):
                print(f"Not yet ({name}): {hint}.")
                return False
        print(f"Not yet ({name}): expected {expected:.5f}, got {got:.5f}.")
        return False
    print("Correct: equal to sentence-transformers' FlopsLoss on all three batches, including the one where a term "
          "is on everywhere (the case FLOPS punishes most).")
    return True


def check_taat(fn: Callable) -> bool:
    """Exercise 07: ``fn(query_terms, query_weights, index)`` -> one score per document (``index.n_documents``),
    term at a time, reading posting lists with ``index.postings(term)`` (documents, weights)."""
    import scipy.sparse as sp

    from .inverted_index import InvertedIndex

    weights = np.array([[0.5, 1.0, 0, 0, 2.0], [0, 2.0, 1.5, 0, 0], [1.0, 0, 0, 0, 0.5], [0, 0, 0, 0, 0],
                        [0.25, 3.0, 0, 0, 1.0]], dtype=np.float32)
    index = InvertedIndex(sp.csr_matrix(weights), ["d0", "d1", "d2", "d3", "d4"])
    cases = {"a query whose terms share documents": ([0, 1, 4], [1.0, 0.5, 2.0]),
             "a query term that no document contains": ([1, 3], [2.0, 1.5]), "an empty query": ([], [])}
    for name, (terms, q) in cases.items():
        expected = index.scores((np.array(terms, dtype=np.int64), np.array(q)))[0]
        got, error = _call(fn, list(terms), list(q), index)
        if error and ("KeyError" in error or "IndexError" in error):
            error += " (a term no document contains has an empty posting list: index.postings returns two empty arrays)"
        if got is None or isinstance(got, dict):
            print(error or ("Your function returned None: end it with `return scores` (one score per document)."
                            if got is None else "Return an array with one score per document, not a dict: start from "
                            "np.zeros(index.n_documents) and add to it."))
            return False
        try:
            got = np.asarray(got, dtype=float).ravel()
        except (TypeError, ValueError):
            print(f"Return an array of numbers, one score per document; got {type(got).__name__}.")
            return False
        if got.shape != expected.shape:
            print(f"Not yet ({name}): expected one score per document ({expected.size}), got {got.size} values. "
                  f"Return every accumulator, not only the matching documents or the top k.")
            return False
        if np.allclose(got, expected, atol=1e-6):
            continue
        hints = {"add each contribution to the accumulator (scores[docs] += ...); assigning (=) keeps only the last "
                 "term's contribution for documents found in several lists": np.zeros_like(expected),
                 "multiply each posting's weight by the query term's weight": np.zeros_like(expected),
                 "a contribution is query weight x the posting's (document's) weight, not the query weight alone":
                 np.zeros_like(expected)}
        assign, no_query_weight, no_doc_weight = hints.values()
        for t, w in zip(terms, q):
            docs, dw = index.postings(t)
            assign[docs] = w * dw
            no_query_weight[docs] += dw
            no_doc_weight[docs] += w
        hint = next((h for h, wrong in hints.items() if np.allclose(got, wrong, atol=1e-6)), None)
        print(f"Not yet ({name}): " + (f"{hint}." if hint else
              f"expected {np.round(expected, 3).tolist()}, got {np.round(got, 3).tolist()}."))
        return False
    print(f"Correct: equal to InvertedIndex.scores on all {len(cases)} queries, an empty list and an empty query included.")
    return True
