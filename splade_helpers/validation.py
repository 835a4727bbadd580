"""One place for input checks, so every public function refuses bad input the same way.

Each check returns the value in a canonical type or raises a ``TypeError`` (wrong kind of value)
or ``ValueError`` (right kind, wrong value) whose message names the parameter, the value it got,
what is allowed and how to fix it. ``bool`` is never accepted as a number, NaN and infinity never
as a finite number, and numpy scalars are accepted wherever Python numbers are.
Names of folders and files the package writes are checked by :mod:`splade_helpers.folders`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(value: object, name: str, *, minimum: int | None = None, maximum: int | None = None, hint: str = "") -> int:
    """``value`` as an ``int`` within ``[minimum, maximum]``; floats, bools and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}={_shown(value)} must be an int, got {type(value).__name__}.{' ' + hint if hint else ''}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            allowed = f">= {minimum}"
        elif minimum is None:
            allowed = f"<= {maximum}"
        else:
            allowed = f"between {minimum} and {maximum}"
        raise ValueError(f"{name}={value} must be an int {allowed}.{' ' + hint if hint else ''}")
    return value


def check_optional_int(value: object, name: str, **kwargs) -> int | None:
    """``None`` or :func:`check_int`."""
    return None if value is None else check_int(value, name, **kwargs)


def check_number(
    value: object,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    hint: str = "",
) -> float:
    """``value`` as a finite ``float`` in ``[minimum, maximum]`` (and ``> above`` if given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={_shown(value)} must be a number, got {type(value).__name__}.{' ' + hint if hint else ''}")
    value = float(value)
    bounds = []
    if above is not None:
        bounds.append(f"> {above:g}")
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    allowed = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
    if (
        not math.isfinite(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
        or (above is not None and value <= above)
    ):
        raise ValueError(f"{name}={value!r} must be {allowed}.{' ' + hint if hint else ''}")
    return value


def cli_message(exc: BaseException, args: object) -> str:
    """``exc``'s message as a command line shows it: a leading ``name=`` that is one of the parsed options
    ``args`` (an ``argparse.Namespace``) holds is named by its flag (``batch_size=0 ...`` -> ``--batch-size=0 ...``)."""
    message = str(exc)
    name = message.split("=", 1)[0]
    if "=" in message and name.isidentifier() and name in vars(args):
        return f"--{name.replace('_', '-')}{message[len(name):]}"
    return message


def check_score_matrix(scores: object, what: str = "scores") -> np.ndarray:
    """A (queries x documents) matrix of finite scores as float64 (one row for a 1-D input)."""
    if np.asarray(scores).dtype == bool:  # True/False are not scores (validation's rule: bool is never a number)
        raise TypeError(f"{what} is a matrix of booleans; pass the retriever's scores (numbers), not a mask.")
    try:
        a = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a numeric (queries x documents) matrix, got {type(scores).__name__}.") from None
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"{what} must be a (queries x documents) matrix, got shape {a.shape}.")
    if a.shape[1] == 0:
        raise ValueError(f"{what} has no documents (shape {a.shape}); index some documents first.")
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(
            f"{what} contains {a[tuple(bad)]} at (query {bad[0]}, document {bad[1]}); "
            f"scores must be finite: fix or drop the retriever that produced them."
        )
    return a


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices`` (strings), else a ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={_shown(value)} is not supported; use one of {list(choices)}.")
    return value


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is a ``bool`` (numpy's included); ``1`` or ``"yes"`` are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={_shown(value)} must be True or False, got {type(value).__name__}.")
    return bool(value)


def check_alpha(alpha: object, name: str = "alpha") -> float:
    """The dense weight ``alpha``: a real number in [0, 1] (1 = dense only, 0 = sparse only)."""
    try:
        return check_number(alpha, name, minimum=0.0, maximum=1.0)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={_shown(alpha)} must be a number in [0, 1] (1 = dense only, 0 = sparse only).") from None


def check_weights(weights: object, name: str = "weights", count: int | None = None) -> list[float]:
    """A list of finite weights >= 0 with at least one > 0 (and ``count`` of them, if given)."""
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise TypeError(f"{name}={_shown(weights)} must be a list of numbers.")
    out = [check_number(w, f"{name}[{i}]", minimum=0.0, hint="Weights are finite and >= 0.") for i, w in enumerate(weights)]
    if count is not None and len(out) != count:
        raise ValueError(f"{name} has {len(out)} values but {count} are needed (one per retriever or list).")
    if out and not any(out):
        raise ValueError(f"{name}={out} are all 0; give at least one retriever a positive weight.")
    return out


def check_text(text: object, what: str = "text") -> str:
    """Return ``text`` if it is a valid Unicode ``str``; otherwise a ``TypeError`` or ``ValueError``.

    Empty or whitespace-only strings are allowed: encoders turn them into an empty vector and
    retrievers give every document the score 0 for them (documented, never an error). A lone
    surrogate (``"\\ud800"``, from text decoded with ``errors="surrogateescape"``) is not valid
    Unicode: no tokenizer can read it, so it is refused with its position.
    """
    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a str, got {type(text).__name__} ({_shown(text)}). "
            f"Convert it first (str(x)) or drop missing values (None) before encoding."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} contains {text[exc.start]!r} at character {exc.start}, a lone surrogate that is not valid "
            f"Unicode; decode the input with errors='replace' (or text.encode('utf-8', 'replace').decode()) first."
        ) from None
    return text


def check_texts(texts: object, what: str = "texts") -> list[str]:
    """Return ``texts`` as a list of valid ``str``; a bare string or any non-string item is a ``TypeError``."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(
            f"{what} must be a list of strings, got a single {type(texts).__name__}; "
            f"wrap it in a list: [{texts!r:.40}]."
        )
    if texts is None or not isinstance(texts, Iterable):
        raise TypeError(f"{what} must be a list of strings, got {type(texts).__name__}.")
    if isinstance(texts, Mapping):  # iterating a dict gives its keys: a corpus {id: text} would encode the ids
        raise TypeError(f"{what} is a {type(texts).__name__}: going through it gives its keys (ids, not texts). For a "
                        f"corpus {{id: text}}, pass list(corpus.values()) as the texts and list(corpus) as their ids.")
    out = list(texts)
    for i, t in enumerate(out):
        check_text(t, f"{what}[{i}]")
    return out


def check_unique_ids(ids: Iterable[object], what: str = "document ids") -> list[str]:
    """Refuse non-string, empty or duplicate ids, naming the first offender and its position(s)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"{what} must be a list of strings, got {type(ids).__name__}.")
    if isinstance(ids, (set, frozenset)):  # its order changes from process to process (string hashing is salted)
        raise TypeError(f"{what} is a {type(ids).__name__}, whose order changes from run to run, so anything seeded or "
                        f"ranked by position would too; pass a list, e.g. sorted({what.replace(' ', '_')}).")
    seen: dict[str, int] = {}
    out = list(ids)
    one = what[:-1] if what.endswith("s") else what
    for i, x in enumerate(out):
        if not isinstance(x, str):
            raise TypeError(f"{what}[{i}] must be a str, got {type(x).__name__} ({_shown(x)}).")
        if not x:
            raise ValueError(f"{what}[{i}] is an empty string; every {one} needs a name.")
        if x in seen:
            raise ValueError(
                f"duplicate {one} {x!r} at positions {seen[x]} and {i}; ids must be unique (rename or drop one of them)."
            )
        seen[x] = i
    return out


def check_documents(doc_ids: object, texts: object) -> tuple[list[str], list[str]]:
    """A non-empty collection: unique string ids and valid texts, one id per text."""
    doc_ids = check_unique_ids(doc_ids, "document ids")
    texts = check_texts(texts, "documents")
    if len(doc_ids) != len(texts):
        raise ValueError(f"{len(doc_ids)} document ids but {len(texts)} texts; pass one id per text.")
    if not texts:
        raise ValueError("cannot index an empty list of documents.")
    return doc_ids, texts


def check_same_length(name_a: str, a: Sequence, name_b: str, b: Sequence) -> None:
    """``a`` and ``b`` pair up one to one."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} {name_a} but {len(b)} {name_b}; pass one of each per item.")


def check_indices(values: object, name: str, size: int) -> np.ndarray:
    """A non-empty 1-D array of distinct integer positions in ``[0, size)`` (e.g. query rows), in the given order."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name}={_shown(values)} must be a list or array of integer positions.")
    a = np.asarray(values)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of positions, got shape {a.shape}.")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold integer positions, got dtype {a.dtype}; pass row numbers, not a mask or ids.")
    bad = a[(a < 0) | (a >= size)]
    if len(bad):
        raise ValueError(f"{name} holds {int(bad[0])}, outside 0..{size - 1} (there are {size} rows).")
    if len(np.unique(a)) != len(a):
        values_, counts = np.unique(a, return_counts=True)
        raise ValueError(f"{name} holds {int(values_[counts > 1][0])} more than once; each position may appear once.")
    return a.astype(np.int64)


def check_sparse_vector(indices: object, values: object, size: int, name: str = "vector") -> tuple[np.ndarray, np.ndarray]:
    """A sparse vector over ``size`` terms as (ascending int64 term ids, float64 weights > 0); zero weights dropped.

    Refused: ids that are not whole numbers in ``[0, size)`` or repeat, weights that are NaN, infinite or
    negative (SPLADE weights are ``log1p(relu(.))`` >= 0), and a different number of ids and weights.
    """
    try:
        idx = np.asarray(indices, dtype=np.float64).ravel()
        val = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name} must have numeric term ids and weights, got {_shown(indices)} and {_shown(values)}.") from None
    if idx.shape != val.shape:
        raise ValueError(f"{name} has {idx.size} term ids but {val.size} weights; pass one weight per id.")
    if idx.size and (not np.isfinite(idx).all() or (idx != np.round(idx)).any() or idx.min() < 0 or idx.max() >= size):
        bad = idx[~np.isfinite(idx) | (idx != np.round(idx)) | (idx < 0) | (idx >= size)][0]
        raise ValueError(f"{name} has term id {bad:g}; ids are whole numbers in [0, {size}) (the vocabulary of the index). "
                         f"Encode the query with the model that encoded the documents.")
    bad_val = ~np.isfinite(val) | (val < 0)
    if bad_val.any():
        raise ValueError(f"{name} has weight {float(val[bad_val][0])!r} for term {int(idx[bad_val][0])}; weights must be finite "
                         f"and >= 0 (SPLADE's are), or upper bounds and pruning would be wrong.")
    ids = idx.astype(np.int64)
    order = np.argsort(ids, kind="stable")
    ids, val = ids[order], val[order]
    if ids.size > 1 and (np.diff(ids) == 0).any():
        raise ValueError(f"{name} repeats term id {int(ids[1:][np.diff(ids) == 0][0])}; each term appears once "
                         f"(sum its weights first).")
    keep = val > 0
    return ids[keep], val[keep]


def check_sparse_matrix(matrix: object, name: str = "matrix", columns: int | None = None) -> sp.csr_matrix:
    """A 2-D matrix of term weights (scipy sparse or an array) as a CSR copy: finite, >= 0, ``columns`` wide if given."""
    if matrix is None or isinstance(matrix, (str, bytes)):
        raise TypeError(f"{name}={_shown(matrix)} must be a sparse matrix of term weights (one row per text).")
    try:
        if not sp.issparse(matrix):
            matrix = np.asarray(matrix)
            if matrix.dtype == np.float16:  # scipy's sparse matrices cannot hold float16
                matrix = matrix.astype(np.float32)
        m = sp.csr_matrix(matrix, copy=True)  # float32 stays float32: pruned vectors score as the encoder's do
        if m.dtype.kind == "c":
            raise TypeError(f"{name} holds complex numbers; term weights are real numbers >= 0.")
        if m.dtype.kind != "f":
            m = m.astype(np.float64)
    except TypeError as exc:
        if "complex" in str(exc):
            raise
        raise TypeError(f"{name} must be a sparse matrix of term weights (one row per text), got "
                        f"{type(matrix).__name__}.") from None
    except (ValueError, IndexError):
        raise TypeError(f"{name} must be a sparse matrix of term weights (one row per text), got "
                        f"{type(matrix).__name__}.") from None
    if columns is not None and m.shape[1] != columns:
        raise ValueError(f"{name} has {m.shape[1]} columns; this model's vectors have {columns} (one per vocabulary "
                         f"term). Encode with the same model.")
    bad = ~np.isfinite(m.data) | (m.data < 0)
    if bad.any():
        raise ValueError(f"{name} holds the weight {float(m.data[bad][0])!r}; term weights must be finite and >= 0 "
                         f"(SPLADE's are log1p(relu(.))).")
    return m


SCORE_LIMIT = 1e150  # beyond this magnitude, per-query scores overflow the squares and sums of the paired statistics


def check_paired_scores(a: object, b: object, minimum: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Two systems' per-query scores on the same queries, as 1-D float64 arrays of one length (at least ``minimum``).

    Refused: non-numbers, other shapes or lengths, NaN, infinity, and magnitudes above ``SCORE_LIMIT`` (metric
    values such as nDCG@10 lie in [0, 1]; near the float limit the statistics would overflow to NaN).
    """
    try:
        raw = [np.asarray(x) for x in (a, b)]
    except (TypeError, ValueError):
        raw = []
    if len(raw) != 2 or any(x.dtype.kind not in "iuf" for x in raw):
        raise TypeError("a and b must be lists of per-query scores (numbers), one per query; got "
                        f"{_shown(a)} and {_shown(b)}.")
    a, b = (x.astype(np.float64) for x in raw)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"a and b must be per-query scores (1-D), got shapes {a.shape} and {b.shape}.")
    check_same_length("values in a", a, "values in b", b)
    if len(a) < minimum:
        raise ValueError(f"a and b hold {len(a)} per-query scores; a paired comparison needs at least {minimum} queries.")
    for name, x in (("a", a), ("b", b)):
        if not np.isfinite(x).all():
            i = int(np.flatnonzero(~np.isfinite(x))[0])
            raise ValueError(f"{name}[{i}] is {x[i]}; per-query scores must be finite (drop or fix that query).")
        if (np.abs(x) > SCORE_LIMIT).any():
            i = int(np.flatnonzero(np.abs(x) > SCORE_LIMIT)[0])
            raise ValueError(f"{name}[{i}] is {x[i]:g}; per-query scores are metric values (nDCG@10 lies in [0, 1]) and must "
                             f"stay within ±{SCORE_LIMIT:g}, or the statistics overflow: rescale them.")
    return a, b


def check_comparison(value: object, name: str = "comparison") -> tuple[float, float, float]:
    """``(mean_diff, ci_low, ci_high)`` of a paired comparison (what ``tuning.paired_comparison`` returns)."""
    keys = ("mean_diff", "ci_low", "ci_high")
    if not isinstance(value, Mapping):
        raise TypeError(f"{name}={_shown(value)} must be a dict with {', '.join(keys)} (what paired_comparison returns), "
                        f"got {type(value).__name__}.")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"{name} has no {', '.join(missing)} (keys: {sorted(value)}); pass what paired_comparison returns.")
    mean, low, high = (check_number(value[k], f"{name}[{k!r}]") for k in keys)
    if low > high:
        raise ValueError(f"{name}: ci_low={low:g} is above ci_high={high:g}; pass what paired_comparison returns.")
    return mean, low, high


_ALWAYS_A_TOKEN = re.compile(r"[A-Za-z0-9]")  # every subword tokenizer keeps ASCII letters and digits


def blank_texts(texts: Sequence[str], tokenizer) -> list[bool]:
    """Which texts are blank: those of which ``tokenizer`` keeps no token. The course's one definition of blank.

    Whitespace is blank, and so is text made only of what tokenizers drop: zero-width space (U+200B), byte order
    mark (U+FEFF), word joiner (U+2060), soft hyphen (U+00AD), NUL and other control characters. A blank text
    encodes to the empty (SPLADE) or zero (dense) vector and matches nothing, instead of a bare [CLS] [SEP]
    vector that would score against every query.
    """
    out = [not t.strip() for t in texts]
    todo = [i for i, t in enumerate(texts) if not out[i] and not _ALWAYS_A_TOKEN.search(t)]
    if todo:
        ids = tokenizer([texts[i] for i in todo], add_special_tokens=False, truncation=True, max_length=8)["input_ids"]
        for i, kept in zip(todo, ids):
            out[i] = len(kept) == 0
    return out
