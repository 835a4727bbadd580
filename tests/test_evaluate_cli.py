import json
import subprocess
import sys
from pathlib import Path

from splade_helpers.evaluation.__main__ import main


def test_cli_on_the_mini_corpus_writes_json(tmp_path, capsys):
    out = tmp_path / "mini.json"
    assert main(["--dataset", "mini", "--retrievers", "bm25,splade", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bm25" in printed and "splade" in printed and "nDCG@10" in printed
    data = json.loads(out.read_text())
    assert data["dataset"] == "mini" and [r["retriever"] for r in data["results"]] == ["bm25", "splade"]
    row = data["results"][1]
    assert set(row) >= {"nDCG@10", "R@100", "MRR@10", "encode_s", "per_query"} and len(row["per_query"]) == 20


def test_cli_evaluates_one_half_of_the_queries(tmp_path, capsys):
    from splade_helpers import load_dataset, split_queries

    out = tmp_path / "test.json"
    assert main(["--dataset", "mini", "--retrievers", "bm25", "--queries", "test", "--split-seed", "7", "--json", str(out)]) == 0
    assert "10 judged queries (the test half of split_queries(seed=7))" in capsys.readouterr().out
    data = json.loads(out.read_text())
    _, test = split_queries(load_dataset("mini").judged_query_ids, seed=7)
    assert data["queries"] == "test" and data["split_seed"] == 7 and data["trained_queries_included"] == 0
    assert set(data["results"][0]["per_query"]) == set(test) and data["warning"] is None


def test_cli_errors_are_short_and_name_the_problem(capsys):
    assert main(["--dataset", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    assert main(["--dataset", "mini", "--retrievers", "bm25,colbert"]) == 2
    assert "colbert" in capsys.readouterr().err


def test_cranfield_table_of_the_readme_is_the_command_s_and_the_hybrid_beats_every_single_retriever(tmp_path):
    """The course's claim and the README's table, checked end to end through the real command."""
    out = tmp_path / "cranfield.json"
    proc = subprocess.run(
        [sys.executable, "-m", "splade_helpers.evaluation", "--dataset", "cranfield", "--json", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["retriever"]: r for r in json.loads(out.read_text())["results"]}
    assert list(rows) == ["bm25", "splade", "dense", "hybrid"] and rows["hybrid"]["queries"] == 225
    for metric in ("nDCG@10", "R@100", "MRR@10"):
        assert rows["hybrid"][metric] > max(rows[r][metric] for r in ("bm25", "splade", "dense")), metric
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").splitlines()
    start = readme.index("| retriever | nDCG@10 | R@100 | MRR@10 |")
    table = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")]
                                               for line in readme[start + 2 : start + 6])}
    assert table == {name: [f"{row[m]:.3f}" for m in ("nDCG@10", "R@100", "MRR@10")] for name, row in rows.items()}
