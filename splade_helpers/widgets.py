"""Thin ipywidgets layers over pure functions; tests drive them without a browser."""

from __future__ import annotations

import html

import ipywidgets as widgets

from .expansion import term_origins
from .sparse import SpladeEncoder

MAX_CHARS = 20_000  # longer input is cut before tokenising (the model reads 512 pieces anyway)


def expansion_report(encoder: SpladeEncoder, text: object, k: int = 15) -> str:
    """A plain-text answer for any input: the top ``k`` terms, or a message that says why not.

    Never raises for user input: non-strings, empty text, very long text, emoji and other
    languages all get a clear message or a result with a note.
    """
    if not isinstance(text, str):
        return f"Please type text (got {type(text).__name__})."
    if not text.strip():
        return "Type some text to see its SPLADE expansion."
    notes = []
    if len(text) > MAX_CHARS:
        notes.append(f"Only the first {MAX_CHARS:,} of {len(text):,} characters were read.")
        text = text[:MAX_CHARS]
    pieces = encoder.tokenizer.tokenize(text)
    limit = encoder.query_max_length - 2
    if len(pieces) > limit:
        notes.append(f"The text has {len(pieces):,} word pieces; the model reads the first {limit} (truncation).")
    unknown = sum(p == encoder.tokenizer.unk_token for p in pieces)
    if unknown:
        notes.append(
            f"{unknown} of {len(pieces)} word pieces are unknown to this English vocabulary ([UNK]), "
            f"e.g. emoji, other scripts or very long 'words'; they carry no meaning for the model."
        )
    origins = term_origins(encoder, text)
    if not origins:
        return "\n".join(notes + ["The vector is empty: no term got a positive weight."])
    expansions = sum(not o.in_text for o in origins)
    lines = [f"{len(origins)} non-zero terms ({expansions} expansions). Top {min(k, len(origins))}:"]
    lines += [
        f"  {o.term:<16}{o.weight:6.3f}  {'in the text' if o.in_text else 'expansion from ' + o.source_token!s}"
        for o in origins[:k]
    ]
    return "\n".join(notes + lines)


def expansion_box(encoder: SpladeEncoder, value: str = "", k: int = 15) -> widgets.VBox:
    """A text box; every edit shows the text's SPLADE expansion below it.

    The box is ``.children[0]`` (a ``Text``) and the answer ``.children[1]`` (an ``HTML``).
    """
    box = widgets.Text(value=value, placeholder="Type any text…", description="Text:", continuous_update=False,
                       layout=widgets.Layout(width="90%"))
    out = widgets.HTML()

    def show(_change=None) -> None:
        out.value = f"<pre>{html.escape(expansion_report(encoder, box.value, k))}</pre>"

    box.observe(show, names="value")
    show()
    return widgets.VBox([box, out])
