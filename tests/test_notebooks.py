"""The committed notebooks can be read without running them: every plotly figure has a PNG beside it.

GitHub, nbviewer and nbconvert's HTML cannot draw plotly JSON; ``tools/nb.py`` adds an ``image/png``
to each figure's output, drawn from that output's JSON, and records the JSON's SHA-256. A notebook
re-executed without that step, or a PNG left from an older figure, fails here; the fix is
``python tools/nb.py --figures-only notebooks/*.ipynb``.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIX = "run `python tools/nb.py --figures-only notebooks/*.ipynb`"


def _load_nb_tool():
    spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nb_tool = _load_nb_tool()
PLOTLY, PNG = nb_tool.PLOTLY, nb_tool.PNG


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG after decoding it: signature, every chunk's CRC, and the inflated pixel rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG (bad signature)"
    pos, chunks = 8, []
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body, crc = data[pos + 8:pos + 8 + length], data[pos + 8 + length:pos + 12 + length]
        assert struct.unpack(">I", crc)[0] == zlib.crc32(kind + body), f"bad CRC in chunk {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    if interlace == 0:  # each row: a filter byte, then the row's pixels
        assert len(pixels) == height * (1 + (width * channels * depth + 7) // 8), "truncated image data"
    return width, height


def figure_outputs(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []) if PLOTLY in o.get("data", {})]


def test_each_header_states_the_measured_warm_run_time():
    """The run time a notebook's first cell promises stays near the stored measurement of benchmarks/notebooks.py."""
    measured = json.loads((ROOT / "benchmarks" / "results" / "notebooks_warm.json").read_text())["seconds"]
    assert sorted(measured) == [p.stem for p in NOTEBOOKS]
    for path in NOTEBOOKS:
        header = "".join(json.loads(path.read_text())["cells"][0]["source"])
        found = re.search(r"about (\d+)(?:\s+to\s+(\d+))?\s+seconds\s+(?:on\s+two\s+cores\s+once|afterwards)", header)
        assert found, f"{path.name}: its first cell states no warm run time ('about N [to M] seconds on two cores once ...')"
        low, actual = int(found.group(1)), measured[path.stem]
        high = int(found.group(2) or low)
        assert low <= high and low <= 1.2 * actual and 0.8 * actual <= high, (
            f"{path.name} says about {low} to {high} s; benchmarks/notebooks.py measured {actual} s warm: update its first cell")


def test_the_course_has_figures():
    assert sum(len(figure_outputs(p)) for p in NOTEBOOKS) >= 5  # the check below is not vacuous


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_a_png_drawn_from_its_own_json(path):
    for i, output in enumerate(figure_outputs(path), 1):
        where = f"{path.name}, figure {i}"
        assert PNG in output["data"], f"{where} has no PNG beside its plotly JSON: {FIX}"
        recorded = output.get("metadata", {}).get(PNG, {}).get("plotly_sha256")
        assert recorded == nb_tool.plotly_digest(output["data"][PLOTLY]), f"{where}: its PNG is stale: {FIX}"
        width, height = png_size(base64.b64decode(output["data"][PNG]))
        assert width > 0 and height > 0


def test_the_digest_reads_the_figure_not_its_formatting():
    figure = {"data": [{"type": "bar", "x": [1, 2], "y": [0.5, 0.25]}], "layout": {"title": {"text": "t"}}}
    same = json.loads(json.dumps(figure, indent=3))
    same["layout"] = dict(reversed(list(same["layout"].items())))
    assert nb_tool.plotly_digest(same) == nb_tool.plotly_digest(figure)
    figure["data"][0]["y"][1] = 0.26
    assert nb_tool.plotly_digest(same) != nb_tool.plotly_digest(figure)


def _need_chromium() -> None:
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        if os.environ.get("SPLADE_REQUIRE_BROWSER") == "1" or os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"no Chromium at {path}; it is required here (CI / SPLADE_REQUIRE_BROWSER=1)")
        pytest.skip(f"no Chromium at {path}: `apt-get install -y chromium` (or set CHROMIUM_PATH)")


DRAFT = """# %% [markdown]
# A figure
# %%
import plotly.graph_objects as go
go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"title": "two bars", "height": 300})
# %%
print("no figure here")
"""


def test_executing_with_nb_py_adds_the_pngs_and_figures_only_refreshes_stale_ones(tmp_path):
    _need_chromium()
    (tmp_path / "draft.py").write_text(DRAFT)
    out = tmp_path / "built.ipynb"

    def tool(*args: str) -> str:
        proc = subprocess.run([sys.executable, str(ROOT / "tools" / "nb.py"), *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    assert "(1 figure PNGs)" in tool("draft.py", "--out", str(out))
    [figure] = figure_outputs(out)
    assert figure["metadata"][PNG]["plotly_sha256"] == nb_tool.plotly_digest(figure["data"][PLOTLY])
    assert png_size(base64.b64decode(figure["data"][PNG])) == (nb_tool.FIGURE_WIDTH, 300)
    assert "0 figure PNGs drawn, 1 already up to date" in tool("--figures-only", str(out))

    nb = json.loads(out.read_text())  # the figure changes, its PNG does not: stale, and redrawn
    [stale] = [o for c in nb["cells"] for o in c.get("outputs", []) if PLOTLY in o.get("data", {})]
    stale["data"][PLOTLY]["layout"]["title"] = {"text": "three bars"}
    out.write_text(json.dumps(nb))
    assert "1 figure PNGs drawn" in tool("--figures-only", str(out))
    [figure] = figure_outputs(out)
    assert figure["metadata"][PNG]["plotly_sha256"] == nb_tool.plotly_digest(stale["data"][PLOTLY])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_is_committed_executed_and_mostly_compared(path):
    """nbval compares only cells saved with an execution count, and skips cells tagged to be ignored: every code cell
    is executed in order (Restart & Run All), and at least 70 % of the code cells with output are compared."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path.name}: execution counts {counts}; re-run it top to bottom with `python tools/nb.py {path.relative_to(ROOT)}`")
    with_output = [c for c in cells if c.get("outputs")]
    ignored = [c for c in with_output if {"nbval-ignore-output", "nbval-skip"} & set(c.get("metadata", {}).get("tags", []))]
    share = 1 - len(ignored) / len(with_output)
    assert share >= 0.7, (f"{path.name}: only {share:.0%} of its {len(with_output)} code cells with output are compared by "
                          "nbval; tag a cell nbval-ignore-output only for timings, widget views, progress and versions")
