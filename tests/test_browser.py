"""The live demo as an instructor sees it: JupyterLab in headless Chromium, driven by Playwright.

Every Python test can stay green while the browser shows "Error displaying widget" or an empty
figure (a missing front-end extension, a broken observer). These tests start JupyterLab from the
project's venv on a loopback port with a token, open copies of the notebooks, clear and run every
cell through the menus, then move the alpha slider and type into the explorer, and compare what
the page shows with what the package computes. The committed notebooks are also read as they are
stored: in JupyterLab (the interactive plotly figure, not its stored PNG) and as nbconvert's HTML,
what GitHub or nbviewer show (each figure's PNG). Screenshots go to ``test-artifacts/browser/``.

Needs Debian's ``chromium`` (``apt-get install -y chromium``); without it the tests are skipped
with that command, except where ``SPLADE_REQUIRE_BROWSER=1`` or ``CI`` is set (``.ci/run``): there
a missing browser is a failure. They run last (see ``conftest.py``), when the encoding cache is warm.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PROJECT = Path(__file__).resolve().parents[1]
ARTIFACTS = PROJECT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Chromium flags for a closed network, as root, without a screen: no background connections
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
RUN_TIMEOUT_MS = 15 * 60 * 1000  # a cold cache encodes Cranfield first
UI_TIMEOUT_MS = 60 * 1000
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"no Chromium at {CHROMIUM}; install Debian's package with "
                "`apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH), then run `make test`")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed; run `make setup` (it is pinned in requirements.txt)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _need_browser():
    reason = _browser_missing()
    if reason:
        if os.environ.get("SPLADE_REQUIRE_BROWSER") == "1" or os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"browser tests are required here (CI / SPLADE_REQUIRE_BROWSER=1) but cannot run: {reason}")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLabServer:
    """JupyterLab from this venv on 127.0.0.1, token-protected, over a scratch copy of the notebooks.

    User settings, config, runtime and IPython folders are scratch folders too, so a user's own
    Jupyter setup cannot change the result and the committed notebooks are never autosaved over.
    """

    def __init__(self, scratch: Path) -> None:
        self.root = scratch / "notebooks"
        shutil.copytree(PROJECT / "notebooks", self.root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        settings = scratch / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        # no news or update checks: this machine has no internet, and the toast would cover cells
        (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        self.token = secrets.token_hex(16)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(scratch / "config"), JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
                   IPYTHONDIR=str(scratch / "ipython"), PLOTLY_RENDERER=os.environ.get("PLOTLY_RENDERER", "plotly_mimetype"))
        self.log_path = scratch / "jupyterlab.log"
        self._log = self.log_path.open("w")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root}",
               f"--LabApp.user_settings_dir={scratch / 'settings'}", f"--LabApp.workspaces_dir={scratch / 'workspaces'}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=scratch,
                                        start_new_session=True)
        try:
            self._wait_until_up(timeout=120)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def _api(self, path: str, method: str = "GET") -> bytes:
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read()

    def _wait_until_up(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log()}")
            try:
                self._api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {timeout:.0f} s:\n{self.log()}")

    def close_session(self, path: str) -> None:
        """Shut down the kernel JupyterLab started for the notebook at ``path`` (relative to the root)."""
        for session in json.loads(self._api("/api/sessions")):
            if session.get("path") == path:
                self._api(f"/api/sessions/{session['id']}", method="DELETE")

    def log(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def descendants(self) -> list:
        import psutil

        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> list[str]:
        """Shut down the server and its kernels; returns the processes that had to be killed."""
        import psutil

        started = self.descendants()
        try:
            self._api("/api/shutdown", method="POST")  # shuts the kernels down, then the server
            self.process.wait(timeout=30)
        except Exception:  # noqa: BLE001 - a server that does not answer or exit is killed below
            pass
        killed = []
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            killed.append(f"jupyterlab ({self.process.pid})")
        for p in started:  # kernels run in their own sessions: a killpg does not reach them
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    p.kill()
                    killed.append(f"{p.name()} ({p.pid})")
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(started, timeout=10)
        self._log.close()
        return killed


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = JupyterLabServer(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield server
    finally:
        started = [server.process.pid] + [p.pid for p in server.descendants()]
        killed = server.stop()
    alive = [pid for pid in started if _alive(pid)]
    assert not alive, f"processes still running after JupyterLab was shut down: {alive}"
    if killed:
        import warnings

        warnings.warn(f"JupyterLab did not shut down cleanly; killed {killed}", stacklevel=1)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.errors = []  # uncaught exceptions in the page's JavaScript
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield page
    finally:
        try:
            page.screenshot(path=ARTIFACTS / f"{request.node.name}-last.png")
        finally:
            context.close()


# --- driving JupyterLab --------------------------------------------------------------------------


def menu(page, top: str, item: str) -> None:
    """Click a main-menu entry, as an instructor would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def committed(name: str) -> dict:
    """The notebook as committed (JupyterLab may autosave over the scratch copy while it runs)."""
    return json.loads((PROJECT / "notebooks" / name).read_text())


def stored_outputs(name: str) -> dict[str, int]:
    """How many outputs of each kind the committed notebook holds."""
    counts = {PLOTLY: 0, WIDGET: 0}
    for cell in committed(name)["cells"]:
        for out in cell.get("outputs", []):
            for mime in counts:
                counts[mime] += mime in out.get("data", {})
    return counts


FIGURE_NOTEBOOKS = [p.name for p in sorted((PROJECT / "notebooks").glob("*.ipynb")) if stored_outputs(p.name)[PLOTLY]]


def open_and_run(page, lab: JupyterLabServer, name: str) -> None:
    """Open a notebook, clear every output, run all cells through the menus and wait until done."""
    cells = len(committed(name)["cells"])
    # a workspace of its own, reset: only this notebook is open, whatever ran before
    page.goto(f"{lab.url}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={lab.token}")
    page.wait_for_function(f"document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length === {cells}")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function("document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output').length === 0")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
            const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
            // done when idle with nothing queued; an error stops "Run All" and leaves later cells unrun
            return idle && prompts.length > 0 && /\\d/.test(prompts[0].textContent)
                   && !prompts.some(p => p.textContent.includes('*'));
        }""",
        timeout=RUN_TIMEOUT_MS, polling=1000,
    )


def assert_clean(page, name: str) -> None:
    """No error or stderr output, no "Error displaying widget", no JavaScript error; every widget
    and every plotly figure the notebook stores is shown, each figure as an SVG with its traces."""
    problems = page.evaluate(
        """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-OutputArea-output')]
             .filter(o => ['application/vnd.jupyter.stderr', 'application/vnd.jupyter.error'].includes(o.dataset.mimeType)
                          || /Error displaying widget|Traceback \\(most recent call last\\)/.test(o.textContent))
             .map(o => o.textContent.slice(0, 500))"""
    )
    assert not problems, f"{name} shows errors:\n" + "\n---\n".join(problems)
    unrun = page.evaluate(
        """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')]
             .map((c, i) => [i, c.querySelector('.jp-InputPrompt').textContent])
             .filter(([i, p]) => !/\\[\\d+\\]/.test(p)).map(([i]) => i)"""
    )
    assert not unrun, f"{name}: code cells {unrun} (0-based, code cells only) did not run"
    assert not page.errors, f"JavaScript errors in {name}: {page.errors}"
    expected = stored_outputs(name)
    # outputs the notebook shows itself, not those inside a widget (the slider draws its own figure)
    top_level = ":not(.jupyter-widgets .jp-OutputArea-output)"
    widgets = page.locator(f".jp-NotebookPanel .jp-OutputArea-output:has(> .jupyter-widgets){top_level}")
    assert widgets.count() == expected[WIDGET], f"{name}: {widgets.count()} widget views, the notebook has {expected[WIDGET]}"
    figures = page.locator(f".jp-NotebookPanel .jp-OutputArea-output.jp-RenderedPlotly{top_level}")
    assert figures.count() == expected[PLOTLY], f"{name}: {figures.count()} figures, the notebook has {expected[PLOTLY]}"
    for i in range(figures.count()):
        figure = figures.nth(i)
        figure.scroll_into_view_if_needed()
        figure.locator("svg.main-svg").first.wait_for()
        traces = figure.evaluate("gd => gd.data.length")
        box = figure.locator("svg.main-svg").first.bounding_box()
        assert traces > 0 and box and box["width"] > 100 and box["height"] > 100, f"{name}: figure {i} is empty"
        figure.screenshot(path=ARTIFACTS / f"{Path(name).stem}-figure-{i + 1}.png")


def assert_static_figures(page, name: str) -> None:
    """nbconvert's HTML of the committed notebook, as a static viewer shows it offline: every figure is its PNG."""
    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_filename(str(PROJECT / "notebooks" / name))
    path = ARTIFACTS / f"{Path(name).stem}.html"
    path.write_text(html, encoding="utf-8")
    offline = re.compile(r"^https?://")
    page.route(offline, lambda route: route.abort())  # no CDN: the figures must not need one
    page.goto(path.as_uri(), wait_until="load")
    images = page.locator(".jp-OutputArea-output img[src^='data:image/png;base64,']")
    expected = stored_outputs(name)[PLOTLY]
    assert images.count() == expected, f"{name}: {images.count()} figure images in the HTML, the notebook has {expected}"
    loaded = images.evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert all(done and width > 0 and height > 0 for done, width, height in loaded), f"{name}: images not loaded: {loaded}"
    images.first.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"{Path(name).stem}-static.png")
    page.unroute(offline)


def assert_stored_figures_interactive(page, lab: JupyterLabServer, name: str) -> None:
    """The committed notebook opened in JupyterLab without running it: each figure is drawn by the plotly
    renderer (which outranks the image renderer), shows the stored PNG until the pointer enters, then is interactive."""
    stored = f"stored-{name}"  # a copy of its own: the other tests' runs may have autosaved over the scratch copy
    shutil.copy(PROJECT / "notebooks" / name, lab.root / stored)
    page.goto(f"{lab.url}/lab/workspaces/stored-{Path(name).stem}/tree/{stored}?reset&token={lab.token}")
    page.wait_for_function(f"document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length === {len(committed(name)['cells'])}")
    expected = stored_outputs(name)[PLOTLY]
    figures = page.locator(".jp-NotebookPanel .jp-OutputArea-output.jp-RenderedPlotly:not(.jupyter-widgets .jp-OutputArea-output)")
    page.wait_for_function(f"document.querySelectorAll('.jp-NotebookPanel .jp-RenderedPlotly').length >= {expected}")
    assert figures.count() == expected, f"{name}: {figures.count()} plotly figures, the notebook has {expected}"
    assert page.locator(".jp-NotebookPanel .jp-RenderedImage").count() == 0, f"{name}: a figure is shown as a plain image"
    for i in range(expected):
        figure = figures.nth(i)
        image = figure.locator("img.plot-img")
        page.mouse.move(0, 0)  # the pointer away, so that only the move below enters the figure
        image.scroll_into_view_if_needed()
        assert image.is_visible() and figure.locator("svg.main-svg").count() == 0, f"{name}: figure {i} drawn before the pointer came"
        assert image.evaluate("img => img.complete && img.naturalWidth > 0 && img.src.startsWith('data:image/png')")
        figure.hover()  # the pointer enters the stored image: jupyterlab-plotly draws the interactive figure over it
        figure.locator("svg.main-svg").first.wait_for()
        box = figure.locator("svg.main-svg").first.bounding_box()
        traces = figure.evaluate("gd => gd.data.length")
        assert traces > 0 and box and box["width"] > 100 and box["height"] > 100, f"{name}: figure {i} is empty"
        assert not image.is_visible(), f"{name}: figure {i} still shows its PNG after the pointer entered"
        figure.screenshot(path=ARTIFACTS / f"{Path(name).stem}-stored-figure-{i + 1}.png")
    lab.close_session(stored)  # its kernel, started on opening, would only load the machine


# --- what the package computes, for comparison ---------------------------------------------------


@pytest.fixture(scope="module")
def course():
    """The retrievers, scores and AlphaLab of notebook 04, built the same way (cached encodings)."""
    import splade_helpers as sh
    from splade_helpers.lab import AlphaLab

    cranfield = sh.load_dataset("cranfield")
    retrievers = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(), "dense": sh.DenseRetriever()}
    scores = {}
    for name, r in retrievers.items():
        r.index(cranfield.doc_ids, cranfield.doc_texts)
        scores[name] = r.scores(cranfield.query_texts)
    return {"dataset": cranfield, "retrievers": retrievers, "lab": AlphaLab(cranfield, scores)}


def table_rows(locator) -> list[list[str]]:
    return locator.evaluate("t => [...t.rows].map(r => [...r.cells].map(c => c.textContent))")


def expected_top_rows(state: dict) -> list[list[str]]:
    """Rank, movement, gain, document and score columns as :func:`widgets.top_list_html` writes them."""
    from splade_helpers.widgets import _movement

    return [[str(rank), _movement(move), str(gain) if gain else "", doc, f"{score:.3f}"]
            for rank, doc, score, gain, move in state["top"]]


def shown_top_rows(slider) -> list[list[str]]:
    return [[r[0], r[1], r[2], r[3], r[5]] for r in table_rows(slider.locator("table.alpha-top"))[1:]]


def caption(state: dict) -> str:
    return (f"query {state['query_id']}: nDCG@10 {state['query_ndcg']:.3f} · all queries {state['mean_ndcg']:.3f} "
            f"at alpha {state['alpha']:.2f} ({state['fusion']})")


def shown_curve(slider) -> list[dict]:
    return slider.locator(".js-plotly-plot").evaluate("gd => gd.data.map(t => ({x: [...t.x], y: [...t.y]}))")


def assert_figure_matches(traces: list[dict], lab, state: dict) -> None:
    curve, marker = traces
    assert curve["x"] == pytest.approx(list(lab.alphas), abs=1e-4)
    assert curve["y"] == pytest.approx(list(lab.curve(state["fusion"])), abs=1e-4)
    assert marker["x"] == pytest.approx([state["alpha"]], abs=1e-4)
    assert marker["y"] == pytest.approx([state["mean_ndcg"]], abs=1e-4)


def poll(read, expected, timeout: float = 30.0):
    """Read the page until it shows ``expected`` (widgets update asynchronously); return the last read."""
    end = time.monotonic() + timeout
    while True:
        got = read()
        if got == expected or time.monotonic() > end:
            return got
        time.sleep(0.25)


# --- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["01_bm25_vs_splade.ipynb", "02_encoder_internals.ipynb", "03_term_expansion.ipynb"])
def test_notebook_runs_in_jupyterlab_and_its_figures_render(page, lab, name):
    open_and_run(page, lab, name)
    page.screenshot(path=ARTIFACTS / f"{Path(name).stem}.png")
    assert_clean(page, name)


def test_alpha_slider_and_explorer_in_jupyterlab(page, lab, course):
    from splade_helpers.fusion import RECOMMENDED_HYBRID
    from splade_helpers.lab import explore

    name = "04_hybrid_scoring.ipynb"
    open_and_run(page, lab, name)
    page.screenshot(path=ARTIFACTS / "04_hybrid_scoring.png")
    assert_clean(page, name)
    alpha_lab = course["lab"]

    # the slider as the notebook shows it: alpha 0.65, query 1
    slider = page.locator(".jp-CodeCell .jp-OutputArea-output", has=page.locator("table.alpha-top"))
    slider.scroll_into_view_if_needed()
    paragraph = slider.locator("table.alpha-top").locator("xpath=..").locator("p")  # the caption above the table
    before = alpha_lab.state(RECOMMENDED_HYBRID["weights"]["dense"], "minmax", "1")
    assert paragraph.text_content() == caption(before)
    assert shown_top_rows(slider) == expected_top_rows(before)
    assert_figure_matches(shown_curve(slider), alpha_lab, before)
    slider.screenshot(path=ARTIFACTS / "04-slider-before.png")

    # drag the handle to about alpha 0.30 with the mouse; the widget snaps to its 0.05 grid
    base = slider.locator(".widget-slider .noUi-base").bounding_box()
    handle = slider.locator(".widget-slider .noUi-handle").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(base["x"] + 0.30 * base["width"], handle["y"] + handle["height"] / 2, steps=12)
    page.mouse.up()
    readout = slider.locator(".widget-slider .widget-readout").text_content()
    alpha = float(readout)
    assert abs(alpha - 0.30) <= 0.051 and alpha != before["alpha"], f"the slider moved to {readout}"
    # the drag passed through intermediate positions, each redrawn, so movements are checked below
    after = alpha_lab.state(alpha, "minmax", "1")
    assert poll(paragraph.text_content, caption(after)) == caption(after), "the caption did not follow the slider"
    assert [r[:1] + r[2:] for r in shown_top_rows(slider)] == [r[:1] + r[2:] for r in expected_top_rows(after)]
    assert poll(lambda: shown_curve(slider)[1]["x"], [after["alpha"]]) == pytest.approx([after["alpha"]])
    assert_figure_matches(shown_curve(slider), alpha_lab, after)
    assert [r[3] for r in expected_top_rows(after)] != [r[3] for r in expected_top_rows(before)]  # a visible change
    slider.screenshot(path=ARTIFACTS / "04-slider-after-drag.png")

    # one step with the keyboard: now the previous list is known, so the movements are checked too
    slider.locator(".widget-slider .noUi-handle").press("ArrowRight")
    step = alpha_lab.state(poll(lambda: float(slider.locator(".widget-slider .widget-readout").text_content()), round(alpha + 0.05, 2)),
                           "minmax", "1", previous=[d for _, d, *_ in after["top"]])
    assert step["alpha"] == pytest.approx(alpha + 0.05), "ArrowRight did not move the slider one step"
    assert poll(paragraph.text_content, caption(step)) == caption(step), "the caption did not follow the keyboard"
    assert shown_top_rows(slider) == expected_top_rows(step)
    assert poll(lambda: shown_curve(slider)[1]["x"], [step["alpha"]]) == pytest.approx([step["alpha"]])
    assert_figure_matches(shown_curve(slider), alpha_lab, step)
    slider.screenshot(path=ARTIFACTS / "04-slider-after-step.png")

    # the explorer: type a new query, press Enter, four columns with the package's rankings
    explorer = page.locator(".jp-CodeCell .jp-OutputArea-output", has=page.locator("table.explorer"))
    explorer.scroll_into_view_if_needed()
    query = "heat transfer to a blunt body in hypersonic flow"
    box = explorer.locator(".widget-text input")
    box.fill(query)
    box.press("Enter")
    expected = explore(query, course["retrievers"], RECOMMENDED_HYBRID["weights"]["dense"], 10)
    want = [list(expected)] + [[f"{hits[i][0]} ({hits[i][1]:.2f})" for hits in expected.values()] for i in range(10)]

    def shown():
        rows = table_rows(explorer.locator("table.explorer"))
        return rows[:1] + [[re.sub(r"^(\S+) .*(\(\S+\))$", r"\1 \2", c) for c in r] for r in rows[1:]]

    assert poll(shown, want) == want
    assert want[0] == ["bm25", "splade", "dense", "hybrid"]
    explorer.screenshot(path=ARTIFACTS / "04-explorer.png")
    assert not page.errors, f"JavaScript errors after the interactions: {page.errors}"


@pytest.mark.parametrize("name", FIGURE_NOTEBOOKS)
def test_committed_figures_render_statically_and_interactively(page, lab, name):
    assert_static_figures(page, name)
    assert_stored_figures_interactive(page, lab, name)
