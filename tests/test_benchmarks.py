"""The benchmark scripts run (on tiny inputs) and store what docs/performance.md is written from.

Their figures are not asserted: timing is not a test. The page is: it must be what
``python benchmarks/report.py`` writes from the committed benchmarks/results/*.json.
"""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "performance.md"
TRAINING_PAGE = ROOT / "docs" / "training.md"


def load_report():
    spec = importlib.util.spec_from_file_location("report", ROOT / "benchmarks" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = load_report()


def run(*args: str) -> dict:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def saved(tmp_path: Path, name: str, out: dict) -> str:
    """The stored result equals the printed one, and the report renders it in its own section."""
    assert json.loads((tmp_path / f"{name}.json").read_text()) == out
    assert {"benchmark", "machine", "command"} <= set(out) and out["machine"]["cpus"] >= 1
    return report.render(tmp_path)


def test_interaction_benchmark_runs_on_the_mini_corpus(tmp_path):
    out = run("benchmarks/interaction.py", "--dataset", "mini", "--repeat", "2", "--save", str(tmp_path / "interaction.json"))
    assert out["benchmark"] == "interaction" and set(out["figures"]) == {"slider_minmax_ms", "slider_rrf_ms", "typed_query_ms"}
    assert set(out["met"]) == set(out["targets"]) == set(out["figures"])
    assert "## Live-demo interactions" in saved(tmp_path, "interaction", out)


def test_notebook_benchmark_runs_a_folder_of_notebooks(tmp_path):
    # the machinery on a tiny notebook of its own: nbval executes the course's notebooks already (running 00 here took 115 s)
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# tiny"), nbformat.v4.new_code_cell("x = sum(range(10))"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(0.3)\nprint(x)")])
    nbformat.write(nb, folder / "00_tiny.ipynb")
    nbformat.write(nb, folder / "01_other.ipynb")
    out = run("benchmarks/notebooks.py", "--notebooks", str(folder), "--only", "00", "--slowest", "2",
              "--save", str(tmp_path / "notebooks_warm.json"))
    assert out["benchmark"] == "notebooks" and list(out["seconds"]) == ["00_tiny"]
    cells = out["slowest_cells"]["00_tiny"]
    assert [i for i, _ in cells] == [2, 1] and cells[0][1] >= 0.3  # the sleeping cell is the slowest
    assert out["first_cell_s"]["00_tiny"] < 0.3 <= cells[0][1]  # the first code cell is timed on its own (the imports' share)
    assert out["met"] == {} and not out["targets_met"]  # targets are for the whole course, not judged on one notebook
    assert "`00_tiny`" in saved(tmp_path, "notebooks_warm", out)
    assert nbformat.read(folder / "00_tiny.ipynb", as_version=4).cells[1].outputs == []  # nothing written to the notebooks


def test_notebook_benchmark_refuses_a_folder_without_notebooks(tmp_path):
    proc = subprocess.run([sys.executable, "benchmarks/notebooks.py", "--notebooks", str(tmp_path), "--only", "00"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no notebook in" in proc.stderr and "--only" in proc.stderr
    proc = subprocess.run([sys.executable, "benchmarks/notebooks.py", "--notebooks", str(tmp_path / "missing")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "is not a folder" in proc.stderr
    proc = subprocess.run([sys.executable, "benchmarks/notebooks.py", "--notebooks", str(tmp_path), "--save"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "name the FILE" in proc.stderr


def test_encoding_benchmark_runs_on_a_few_documents(tmp_path):
    out = run("benchmarks/encoding.py", "--dataset", "mini", "--docs", "8", "--repeat", "1",
              "--save", str(tmp_path / "encoding.json"))
    assert out["benchmark"] == "encoding" and out["figures"]["max_abs_diff"] < 1e-5 and out["met"]["max_abs_diff"] is True
    assert set(out["seconds"]) == {"package", "sentence-transformers", "article (one at a time)"}  # no bf16 head any more
    assert "## SPLADE encoding" in saved(tmp_path, "encoding", out)


def test_search_benchmark_runs_on_the_mini_corpus(tmp_path):
    out = run("benchmarks/search.py", "--dataset", "mini", "--repeat", "1", "--local-queries", "3",
              "--save", str(tmp_path / "search.json"))
    assert out["benchmark"] == "search" and out["queries"] == 20 and out["local_queries"] == 3
    assert "## SPLADE search" in saved(tmp_path, "search", out)


def test_training_benchmark_measures_speed_and_keeps_a_stored_quality_part(tmp_path):
    """--speed-only --save into a file that holds a quality part replaces the speed figures and keeps the rest."""
    before = json.loads((RESULTS / "training.json").read_text())
    before.update(speed_machine={"cpus": 99}, speed_command="an older speed run")
    (tmp_path / "training.json").write_text(json.dumps(before))
    out = run("benchmarks/training.py", "--speed-only", "--no-epochs", "--steps", "2", "--save", str(tmp_path / "training.json"))
    assert out["benchmark"] == "training" and set(out["pairs_per_second"]) == {"library path", "fast head"}
    assert out["mini_train_s"] > 0  # the train command ran on mini, start to finish
    stored = json.loads((tmp_path / "training.json").read_text())
    assert {k: v for k, v in stored.items() if k != "results"} == out and stored["results"] == before["results"]
    for key in ("selection", "chosen", "bm25_test_ndcg", "machine", "command"):
        assert stored[key] == before[key], key
    assert stored["epoch_seconds"] == {} and not stored["target_met"] and stored["pairs_per_second"] != before["pairs_per_second"]
    assert stored["speed_command"].endswith("--speed-only --no-epochs --steps 2 --save " + str(tmp_path / "training.json"))
    assert stored["speed_machine"]["cpus"] != 99
    page = report.render(tmp_path)
    assert "not timed in this run" in page and f"re-measured on their own (`{stored['speed_command']}`)" in page


def test_qdrant_scale_benchmark_runs_on_the_mini_corpus_and_synthetic_points(tmp_path):
    # the mini corpus's 52 real points, then 104 with 52 synthetic ones drawn like them (Cranfield's 1,400 took 164 s of CI)
    out = run("benchmarks/qdrant_scale.py", "--dataset", "mini", "--sizes", "52,104", "--queries", "5",
              "--save", str(tmp_path / "qdrant_scale.json"))
    assert out["benchmark"] == "qdrant_scale" and {r["engine"] for r in out["results"]} == {"edge", "local"}
    assert sorted({r["points"] for r in out["results"]}) == [52, 104]
    assert all(r["info"]["points"] == r["points"] for r in out["results"] if r["engine"] == "edge")
    assert out["figures"] == {} and not out["targets_met"]  # the targets are judged at 14,000 and 100,000 points
    assert "## Qdrant as the collection grows" in saved(tmp_path, "qdrant_scale", out)


def test_stored_results_keep_the_keys_the_notebooks_read():
    scale = json.loads((RESULTS / "qdrant_scale.json").read_text())  # notebook 05
    assert {"machine", "results", "figures", "met"} <= set(scale) and {"cpus", "machine"} <= set(scale["machine"])
    training = json.loads((RESULTS / "training.json").read_text())  # notebook 06
    assert {"bm25_test_ndcg", "results", "selection", "chosen"} <= set(training)
    assert {"name", "ndcg", "vs_bundled", "vs_bm25", "flops", "train_s", "candidate"} <= set(training["results"][0])
    selection = training["selection"]
    assert {"candidates", "winner", "folds", "inner_seed", "bundled_tune_ndcg"} <= set(selection)
    assert {"name", "tune_ndcg", "vs_bundled_tune", "scored", "pairs", "teacher", "loss", "learning_rate", "epochs",
            "lambda_d", "lambda_q", "negatives"} <= set(selection["candidates"][0])
    winner = max(selection["candidates"], key=lambda c: c["tune_ndcg"])
    assert winner["name"] == selection["winner"] == training["chosen"]["name"]  # chosen on the tuning half only


def test_performance_page_is_generated_from_the_stored_results():
    assert PAGE.read_text() == report.render(RESULTS), "docs/performance.md is out of date: run python benchmarks/report.py"


def test_training_page_block_is_generated_from_the_stored_results():
    current = TRAINING_PAGE.read_text()
    assert current == report.training_page(current, json.loads((RESULTS / "training.json").read_text())), (
        "docs/training.md is out of date: run python benchmarks/report.py")
    assert report.BEGIN in current and report.END in current and "Not measured yet" not in current


def scaled(value, factor: float):
    """Every float in a JSON value multiplied by ``factor``."""
    if isinstance(value, float):
        return value * factor
    if isinstance(value, dict):
        return {k: scaled(v, factor) for k, v in value.items()}
    if isinstance(value, list):
        return [scaled(v, factor) for v in value]
    return value


def report_main(*args: str) -> int:
    """``python benchmarks/report.py ARGS`` in this process (a subprocess imports the package each time: 5 s); its exit code."""
    try:
        report.main(list(args))
    except SystemExit as exc:
        return int(exc.code)
    return 0


def copies(tmp_path: Path) -> tuple[Path, list[str]]:
    """Copies of the stored results and of both pages, and the report options that point at them."""
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    page, training_page = tmp_path / "performance.md", tmp_path / "training.md"
    page.write_text(PAGE.read_text())
    training_page.write_text(TRAINING_PAGE.read_text())  # the copies only: the repository's pages are never written
    return results, ["--results", str(results), "--out", str(page), "--training-out", str(training_page)]


def test_report_command_checks_and_rewrites_the_pages(tmp_path):
    results, options = copies(tmp_path)
    command = [sys.executable, "benchmarks/report.py", "--check", *options]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "are up to date" in proc.stdout  # the copies are up to date
    path = results / "search.json"
    path.write_text(json.dumps(scaled(json.loads(path.read_text()), 1.37), indent=1) + "\n")
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout.startswith("---") and "out of date" in proc.stderr
    subprocess.run([sys.executable, "benchmarks/report.py", *options], cwd=ROOT, check=True, capture_output=True)
    assert (tmp_path / "performance.md").read_text() == report.render(results)


@pytest.mark.parametrize("name", sorted(p.stem for p in RESULTS.glob("*.json")))
def test_page_check_fails_when_a_stored_result_changes(tmp_path, capsys, name):
    results, options = copies(tmp_path)
    page = tmp_path / "performance.md"
    assert report_main("--check", *options) == 0  # the copy is up to date
    path = results / f"{name}.json"
    path.write_text(json.dumps(scaled(json.loads(path.read_text()), 1.37), indent=1) + "\n")
    assert report.render(results) != PAGE.read_text()
    capsys.readouterr()
    assert report_main("--check", *options) == 1
    out = capsys.readouterr()
    assert out.out.startswith("---") and "out of date" in out.err
    assert report_main(*options) == 0
    assert page.read_text() == report.render(results)  # regenerated: up to date again
    assert PAGE.read_text() == report.render(RESULTS)  # and the repository's own pages untouched
    assert TRAINING_PAGE.read_text() == report.training_page(TRAINING_PAGE.read_text(), json.loads((RESULTS / "training.json").read_text()))
