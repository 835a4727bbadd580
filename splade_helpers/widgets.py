"""Thin ipywidgets layers over pure functions (notebooks 03 and 04); tests drive them without a browser."""

from __future__ import annotations

import html

import ipywidgets as widgets

from .expansion import term_origins
from .fusion import FUSIONS, RECOMMENDED_HYBRID, SPARSE_SIDES
from .sparse import SpladeEncoder
from .validation import blank_texts, check_alpha, check_choice, check_int

DEFAULT_ALPHA = RECOMMENDED_HYBRID["weights"]["dense"]

MAX_CHARS = 20_000  # longer input is cut before tokenising (the model reads 512 pieces anyway)


def expansion_report(encoder: SpladeEncoder, text: object, k: int = 15) -> str:
    """A plain-text answer for any input: the top ``k`` terms, or a message that says why not.

    Introduced in notebook 03 (section 4, "Try it: type any text").

    Never raises for user input: non-strings, empty text, very long text, emoji and other
    languages all get a clear message or a result with a note; so do characters that are not
    valid Unicode (lone surrogates), which are replaced and reported.
    """
    k = check_int(k, "k", minimum=1)
    if not isinstance(text, str):
        return f"Please type text (got {type(text).__name__})."
    if not text.strip():
        return "Type some text to see its SPLADE expansion."
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text) and blank_texts([text], encoder.tokenizer)[0]:
        return ("The text holds no character the model reads (only invisible or control characters such as "
                "zero-width spaces): its vector is empty and it matches nothing.")
    bad = [c for c in text if 0xD800 <= ord(c) <= 0xDFFF]
    if bad:
        notes_bad = f"{len(bad)} character(s) are not valid Unicode (lone surrogates) and were replaced by '\ufffd'."
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    else:
        notes_bad = ""
    notes = [notes_bad] if notes_bad else []
    cut = len(text) > MAX_CHARS
    if cut:
        notes.append(f"Only the first {MAX_CHARS:,} of {len(text):,} characters were read.")
        text = text[:MAX_CHARS]
    pieces = encoder.tokenizer.tokenize(text)
    limit = encoder.query_max_length - (0 if hasattr(encoder, "documents") else 2)
    if len(pieces) > limit:
        notes.append(f"{'What was read' if cut else 'The text'} makes {len(pieces):,} word pieces; the model reads the first {limit} (truncation).")
    unknown = sum(p == encoder.tokenizer.unk_token for p in pieces)
    if unknown:
        notes.append(
            f"{unknown} of {len(pieces)} word pieces are unknown to this English vocabulary ([UNK]), "
            f"e.g. emoji, other scripts or very long 'words'; all become the same token, which can still get a "
            f"weight: texts then match on it whatever those characters were."
        )
    if hasattr(encoder, "documents"):  # an InferenceFreeEncoder
        notes.append("An inference-free model: a query is its own word pieces with learned weights, never expanded.")
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

    Introduced in notebook 03 (section 4, "Try it: type any text").

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


def _movement(move: int | None) -> str:
    if move is None:
        return "new"
    return "–" if move == 0 else (f"↑{move}" if move > 0 else f"↓{-move}")


def top_list_html(state: dict, titles: dict[str, str] | None = None) -> str:
    """The top list of :meth:`AlphaLab.state` as an HTML table (rank, movement, gain, document)."""
    rows = "".join(
        f"<tr><td>{rank}</td><td>{_movement(move)}</td><td>{gain if gain else ''}</td><td>{html.escape(d)}</td>"
        f"<td>{html.escape((titles or {}).get(d, '')[:70])}</td><td>{score:.3f}</td></tr>"
        for rank, d, score, gain, move in state["top"]
    )
    head = "<tr><th>rank</th><th>move</th><th>gain</th><th>doc</th><th>title</th><th>score</th></tr>"
    caption = (f"query {html.escape(state['query_id'])}: nDCG@10 {state['query_ndcg']:.3f} · all queries "
               f"{state['mean_ndcg']:.3f} at alpha {state['alpha']:.2f} ({state['fusion']})")
    return f"<p>{caption}</p><table class='alpha-top'>{head}{rows}</table>"


class AlphaSlider:
    """Alpha slider + fusion selector + query picker over an :class:`~splade_helpers.lab.AlphaLab`.

    Introduced in notebook 04 (section 5, "The alpha slider").

    Moving any control recomputes the fusion for every query (one matrix operation), redraws the
    nDCG@10-versus-alpha curve with the current alpha marked, and lists the chosen query's top 10
    with each document's rank movement since the previous position and its relevance gain.
    ``.state`` and ``.figure`` hold what is shown.
    """

    def __init__(self, lab, alpha: float = DEFAULT_ALPHA, fusion: str = RECOMMENDED_HYBRID["fusion"],
                 query_id: str | None = None, sparse: str = "bm25+splade") -> None:
        self.lab = lab
        ds = lab.dataset
        alpha = check_alpha(alpha)  # the slider would clamp 2.0 to 1.0 without a word
        fusion = check_choice(fusion, "fusion", [f for f in FUSIONS if f != "none"])
        sparse = check_choice(sparse, "sparse", list(SPARSE_SIDES))
        if query_id is not None and query_id not in ds.query_ids:
            raise ValueError(f"query_id={query_id!r} is not one of the dataset's {len(ds.query_ids)} query ids "
                             f"({', '.join(map(repr, ds.query_ids[:3]))}, ...); pick one of lab.dataset.query_ids.")
        self.titles = dict(zip(ds.doc_ids, ds.doc_titles)) if ds.doc_titles else {}
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha",
                                         continuous_update=True, readout_format=".2f")
        self.fusion = widgets.Dropdown(options=[f for f in FUSIONS if f != "none"], value=fusion, description="fusion")
        self.sparse = widgets.Dropdown(options=list(SPARSE_SIDES), value=sparse, description="sparse side")
        self.query = widgets.Dropdown(
            options=[(f"{q}: {' '.join(t.split())[:60]}", q) for q, t in zip(ds.query_ids, ds.query_texts)],
            value=query_id or ds.query_ids[0], description="query", layout=widgets.Layout(width="90%"))
        self.plot = widgets.Output()
        self.table = widgets.HTML()
        self.state: dict | None = None
        self.figure = None
        for control in (self.alpha, self.fusion, self.sparse, self.query):
            control.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.alpha, self.fusion, self.sparse]), self.query, self.plot, self.table])
        self.update()

    def update(self, change=None) -> None:
        """Recompute and redraw for the controls' current values."""
        from IPython.display import clear_output

        from .plots import alpha_curve_figure

        previous = [d for _, d, *_ in self.state["top"]] if self.state and change and change["owner"] is not self.query else None
        self.state = self.lab.state(round(self.alpha.value, 2), self.fusion.value, self.query.value,
                                    self.sparse.value, previous=previous)
        curve = self.lab.curve(self.fusion.value, self.sparse.value)
        self.figure = alpha_curve_figure(self.lab.alphas, curve, self.state["alpha"], self.state["mean_ndcg"])
        self.table.value = top_list_html(self.state, self.titles)
        with self.plot:
            clear_output(wait=True)
            self.figure.show()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class Explorer:
    """An instructor's search box: a typed query through BM25, SPLADE, dense and hybrid, side by side.

    Introduced in notebook 04 (section 6, "The explorer: any query, four retrievers side by side").

    ``.results`` holds the last :func:`~splade_helpers.lab.explore` output; ``.table`` its HTML.
    """

    def __init__(self, retrievers, dataset=None, alpha: float = DEFAULT_ALPHA, k: int = 10, query: str = "") -> None:
        from .lab import explore

        explore("", retrievers, check_alpha(alpha), k)  # bad retrievers, alpha or k: refused now, not at the first typed query
        self.retrievers, self.k = retrievers, k
        self.titles = dict(zip(dataset.doc_ids, dataset.doc_titles)) if dataset is not None and dataset.doc_titles else {}
        self.text = widgets.Text(value=query, placeholder="Type a query and press Enter", description="query",
                                 continuous_update=False, layout=widgets.Layout(width="80%"))
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha",
                                         readout_format=".2f")
        self.table = widgets.HTML()
        self.results: dict | None = None
        self.text.observe(self.update, names="value")
        self.alpha.observe(self.update, names="value")
        self.widget = widgets.VBox([self.text, self.alpha, self.table])
        self.update()

    def update(self, change=None) -> None:
        from .lab import explore

        if not self.text.value.strip():
            self.results = None
            self.table.value = "<p>Type a query to compare BM25, SPLADE, dense and hybrid results.</p>"
            return
        self.results = explore(self.text.value, self.retrievers, round(self.alpha.value, 2), self.k)
        cols = list(self.results)
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = ""
        for i in range(self.k):
            cells = []
            for c in cols:
                hits = self.results[c]
                if i < len(hits):
                    d, s = hits[i]
                    cells.append(f"<td>{html.escape(d)} {html.escape(self.titles.get(d, '')[:40])} ({s:.2f})</td>")
                else:
                    cells.append("<td></td>")
            body += f"<tr>{''.join(cells)}</tr>"
        self.table.value = f"<table class='explorer'><tr>{head}</tr>{body}</table>"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
