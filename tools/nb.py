"""Re-execute notebooks exactly as CI compares them ("Restart & Run All" with CI's settings).

Usage (project root, venv active):
    python tools/nb.py notebooks/00_quickstart.ipynb     # re-run in place, outputs + counts stored
    python tools/nb.py draft.py --out notebooks/NN.ipynb  # build from a percent-format draft

A draft ``.py`` holds cells separated by ``# %% [markdown]`` or ``# %%`` (code) lines;
``# %% tags=nbval-ignore-output`` tags a code cell. The ``.ipynb`` is the source of truth.
Run it with the same CRANFIELD_DIR / IR_DATASETS_HOME you use for ``make test``.
"""

from __future__ import annotations

import os
import re
import sys
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


def run(src: Path, out: Path) -> None:
    nb = parse(src.read_text()) if src.suffix == ".py" else nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    os.environ.update(TEST_ENV)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(out.parent)}}).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--out" in args:
        i = args.index("--out")
        run(Path(args[0]), Path(args[i + 1]))
    else:
        for a in args:
            run(Path(a), Path(a).with_suffix(".ipynb"))
