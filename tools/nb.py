"""Re-execute notebooks exactly as CI compares them ("Restart & Run All" with CI's settings).

Usage (project root, venv active):
    python tools/nb.py notebooks/00_quickstart.ipynb     # re-run in place, outputs + counts stored
    python tools/nb.py draft.py --out notebooks/NN.ipynb  # build from a percent-format draft
    python tools/nb.py --figures-only notebooks/*.ipynb   # add or refresh the figures' PNGs, no execution
    python tools/nb.py --figures-only --force notebooks/*.ipynb  # redraw every PNG (new width, plotly or kaleido)

A draft ``.py`` holds cells separated by ``# %% [markdown]`` or ``# %%`` (code) lines;
``# %% tags=nbval-ignore-output`` tags a code cell. The ``.ipynb`` is the source of truth.
Run it with the same CRANFIELD_DIR / IR_DATASETS_HOME you use for ``make test``.

Figures are stored as plotly JSON (what JupyterLab draws and nbval compares). GitHub, nbviewer
and nbconvert's HTML cannot draw that, so beside each one the same output gets an ``image/png``
rendered from that JSON by kaleido in Debian's Chromium (``CHROMIUM_PATH``, default
``/usr/bin/chromium``), and its metadata records the SHA-256 of the JSON it was drawn from
(``tests/test_notebooks.py`` checks it). nbval does not compare images.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from splade_helpers.course import TEST_ENV  # CI's settings, defined once; the kernels inherit them


def parse(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    blocks = re.split(r"^# %%(.*)$", source, flags=re.M)
    for header, body in zip(blocks[1::2], blocks[2::2]):
        body = body.strip("\n")
        if "[markdown]" in header:
            text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(body)
            tags = re.findall(r"tags=([\w,-]+)", header)
            if tags:
                cell.metadata["tags"] = tags[0].split(",")
            nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


PLOTLY, PNG = "application/vnd.plotly.v1+json", "image/png"
FIGURE_WIDTH = 1000  # pixels at scale 1 (a figure's own width wins); at 800 the three-panel figures' axis titles overlap


def plotly_digest(figure: dict) -> str:
    """SHA-256 of a figure's plotly JSON in canonical form (sorted keys, no spaces): what its PNG was drawn from."""
    return hashlib.sha256(json.dumps(figure, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def figure_outputs(nb: nbformat.NotebookNode) -> Iterator[nbformat.NotebookNode]:
    """Every output of the notebook that holds a plotly figure."""
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if PLOTLY in output.get("data", {}):
                yield output


def chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        sys.exit(f"no Chromium at {path}: the figures' PNGs are drawn with it. Install Debian's package "
                 f"(`apt-get install -y chromium`) or set CHROMIUM_PATH.")
    return path


def add_figure_images(nb: nbformat.NotebookNode, force: bool = False) -> int:
    """Put a PNG of each plotly figure beside it, in the same output, unless one drawn from that JSON is there.

    One browser draws the whole notebook (starting it is most of the cost). Returns how many were drawn.
    """
    todo = [o for o in figure_outputs(nb) if force or PNG not in o["data"]
            or o.get("metadata", {}).get(PNG, {}).get("plotly_sha256") != plotly_digest(o["data"][PLOTLY])]
    if not todo:
        return 0
    import kaleido

    kaleido.start_sync_server(path=chromium(), mathjax=False, silence_warnings=True)  # offline: no MathJax CDN
    try:
        for output in todo:
            figure = output["data"][PLOTLY]
            width = figure.get("layout", {}).get("width") or FIGURE_WIDTH
            png = kaleido.calc_fig_sync(figure, opts={"format": "png", "width": width, "scale": 1})
            output["data"][PNG] = base64.b64encode(png).decode("ascii")
            output.setdefault("metadata", {})[PNG] = {"plotly_sha256": plotly_digest(figure)}
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    return len(todo)


def run(src: Path, out: Path) -> None:
    nb = parse(src.read_text()) if src.suffix == ".py" else nbformat.read(src, as_version=4)
    chromium()  # fail now, not after executing
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    os.environ.update(TEST_ENV)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(out.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    drawn = add_figure_images(nb)
    nbformat.write(nb, out)
    print(f"wrote {out} ({drawn} figure PNGs)")


def figures_only(path: Path, force: bool = False) -> None:
    nb = nbformat.read(path, as_version=4)
    drawn = add_figure_images(nb, force)
    if drawn:
        nbformat.write(nb, path)
    print(f"{path}: {drawn} figure PNGs drawn, {sum(1 for _ in figure_outputs(nb)) - drawn} already up to date")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--out" in args:
        i = args.index("--out")
        run(Path(args[0]), Path(args[i + 1]))
    elif "--figures-only" in args:
        for a in args:
            if not a.startswith("--"):
                figures_only(Path(a), force="--force" in args)
    else:
        for a in args:
            run(Path(a), Path(a).with_suffix(".ipynb"))
