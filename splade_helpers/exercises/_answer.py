"""What every checker shares: calling a learner's function, and turning any mistake into a message.

A checker is written as a function that raises :class:`Mistake` for a wrong answer and returns the
"Correct: ..." text otherwise; :func:`checker` prints either and returns ``True``/``False``, so a
learner's broken code (an exception, a missing ``return``, a result of the wrong type or shape) is
always answered with a sentence, never with a traceback out of the checker.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

NOT_IMPLEMENTED = "Not implemented yet: replace `raise NotImplementedError` with your code."


class Mistake(Exception):
    """A wrong answer; its text is what the learner reads."""


def describe(value: Any) -> str:
    """What a learner returned, with its article: "an int", "a Tensor of shape (2, 7)"."""
    name, shape = type(value).__name__, getattr(value, "shape", None)
    text = f"{name} of shape {tuple(shape)}" if shape is not None else name
    return ("an " if name[:1].lower() in "aeiou" or name == "ndarray" else "a ") + text


def call(fn: Callable, *args: Any, returns: str = "", hints: Mapping[str, str] | None = None) -> Any:
    """``fn(*args)``, or :class:`Mistake` when it cannot be called, raises, returns ``None`` or is a generator.

    Args:
        returns: what the function must return, for the message when it returns ``None``.
        hints: extra advice by exception name, e.g. ``{"ZeroDivisionError": "the discount of rank 1 is ..."}``.
    """
    if not callable(fn):
        raise Mistake(f"Pass your function itself, e.g. check(my_function), not {describe(fn)}.")
    try:
        inspect.signature(fn).bind(*args)
    except TypeError as exc:
        raise Mistake(f"The checker calls your function with {len(args)} arguments, but it cannot take them "
                      f"({exc}); keep the parameters of the exercise's template.") from None
    except ValueError:  # no signature (some built-ins): just call it
        pass
    try:
        value = fn(*args)
    except NotImplementedError:
        raise Mistake(NOT_IMPLEMENTED) from None
    except Exception as exc:  # noqa: BLE001 - any error in a learner's code is reported as text
        hint = (hints or {}).get(type(exc).__name__)
        raise Mistake(f"Your function raised {type(exc).__name__}: {exc}" + (f" ({hint})" if hint else "")) from None
    if value is None:
        raise Mistake("Your function returned None: did it forget `return`?"
                      + (f" It must return {returns}." if returns else ""))
    if inspect.isgenerator(value):
        raise Mistake("Your function is a generator (it uses `yield`): compute the result and `return` it.")
    return value


def _call(fn: Callable, *args: Any) -> tuple[Any, str | None]:
    """:func:`call` as a pair ``(value, None)`` or ``(None, message)``, for checkers that print their own messages."""
    try:
        return call(fn, *args), None
    except Mistake as mistake:
        return None, str(mistake)


def number(value: Any, what: str) -> float:
    """``value`` as one float (a Python number, or a 0-d / one-element array or tensor), else :class:`Mistake`."""
    if isinstance(value, (str, bytes, bool)):
        raise Mistake(f"Return {what} as a number, not a {type(value).__name__} ({value!r}).")
    try:
        value = value.detach() if hasattr(value, "detach") else value
        if getattr(value, "shape", None) is not None and int(np.prod(value.shape)) == 1:
            value = value.reshape(-1)[0]  # a 1-element array or tensor (NumPy refuses float() of those with ndim > 0)
        return float(value)
    except (TypeError, ValueError, RuntimeError):
        raise Mistake(f"Return {what}, one number; got {describe(value)}.") from None


def array(value: Any, what: str, ndim: int | None = None) -> np.ndarray:
    """``value`` as a float array (lists, NumPy arrays, tensors), with ``ndim`` dimensions if given, else :class:`Mistake`."""
    if isinstance(value, (str, bytes, Mapping)):
        raise Mistake(f"Return {what} as an array of numbers, not a {type(value).__name__}.")
    try:
        got = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=float)
    except (TypeError, ValueError, RuntimeError):
        raise Mistake(f"Return {what} as an array of numbers; got {describe(value)}, which NumPy cannot read as one.") from None
    if ndim is not None and got.ndim != ndim:
        raise Mistake(f"Return {what} as a {ndim}-d array; got {got.ndim} dimensions (shape {got.shape}).")
    return got


def checker(check: Callable[[Callable], str]) -> Callable[[Callable], bool]:
    """Turn ``check(fn) -> "Correct: ..."`` (raising :class:`Mistake`) into ``check(fn) -> bool`` that prints the verdict.

    Any other exception, e.g. from a learner's object that misbehaves when the checker reads it,
    is reported as a message too.
    """

    @functools.wraps(check)
    def run(fn: Callable) -> bool:
        try:
            verdict = check(fn)
        except Mistake as mistake:
            print(mistake)
            return False
        except Exception as exc:  # noqa: BLE001 - the learner reads a sentence, never a traceback
            print(f"Your answer could not be checked: reading its result raised {type(exc).__name__}: {exc}. "
                  f"Return what the exercise asks for (help({check.__name__}) says what that is).")
            return False
        print(verdict)
        return True

    run.__signature__ = inspect.signature(check).replace(return_annotation="bool")  # what help() shows
    return run
