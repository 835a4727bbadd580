"""The benchmark scripts run (on tiny inputs); their figures are not asserted: timing is not a test."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> dict:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_interaction_benchmark_runs_on_the_mini_corpus():
    out = run("benchmarks/interaction.py", "--dataset", "mini", "--repeat", "2")
    assert out["benchmark"] == "interaction" and {"slider_minmax_ms", "slider_rrf_ms", "typed_query_ms"} <= set(out)


def test_notebook_benchmark_runs_one_notebook():
    out = run("benchmarks/notebooks.py", "--only", "00", "--slowest", "2")
    assert out["benchmark"] == "notebooks" and list(out["seconds"]) == ["00_quickstart"]
    assert len(out["slowest_cells"]["00_quickstart"]) == 2


def test_encoding_benchmark_runs_on_a_few_documents():
    out = run("benchmarks/encoding.py", "--dataset", "mini", "--docs", "8", "--repeat", "1")
    assert out["benchmark"] == "encoding" and out["max_abs_diff"] < 1e-5


def test_search_benchmark_runs_on_the_mini_corpus():
    out = run("benchmarks/search.py", "--dataset", "mini", "--repeat", "1", "--local-queries", "3")
    assert out["benchmark"] == "search" and out["queries"] == 20


def test_training_benchmark_measures_speed():
    out = run("benchmarks/training.py", "--speed-only", "--no-epochs", "--steps", "2")
    assert out["benchmark"] == "training" and set(out["pairs_per_second"]) == {"library path", "fast head"}
    assert out["mini_train_s"] > 0  # the train command ran on mini, start to finish


def test_qdrant_scale_benchmark_runs_on_cranfield_alone(tmp_path):
    out = run("benchmarks/qdrant_scale.py", "--sizes", "1400", "--queries", "5", "--save", str(tmp_path / "scale.json"))
    assert out["benchmark"] == "qdrant_scale" and {r["engine"] for r in out["results"]} == {"edge", "local"}
    assert (tmp_path / "scale.json").is_file()


def test_readme_training_table_is_the_stored_benchmark_s():
    """Each row of the README's training results table is a row of benchmarks/results/training.json, as rounded there."""
    stored = json.loads((ROOT / "benchmarks" / "results" / "training.json").read_text())["results"]

    def cells(r: dict) -> tuple:
        c = r["vs_bundled"]
        diff = "" if c is None else f"{c['mean_diff']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
        return (f"{r['ndcg']:.3f}", diff.replace("-", "−"), f"{r['doc_nonzeros']:.0f} / {r['query_nonzeros']:.0f}",
                f"{r['flops']:.1f}", f"{r['train_s']:.0f}")

    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("| training | nDCG@10 | vs bundled [95 % paired-bootstrap CI] | doc / query non-zeros | FLOPS | train s |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(tuple(c.strip().strip("*") for c in line.strip("|").split("|"))[1:])
    assert len(rows) == 8
    known = {cells(r) for r in stored}
    for row in rows:
        assert row in known, f"README row {row} is not in benchmarks/results/training.json: copy the stored figures"
