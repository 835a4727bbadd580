"""Write docs/performance.md from benchmarks/results/*.json, and nothing else.

    python benchmarks/report.py           # regenerate the page
    python benchmarks/report.py --check   # exit 1 and print a diff when the page is out of date

A benchmark run with ``--save`` stores its result; this page shows the stored results of the current
code only. Output is deterministic: fixed section order, sorted rows, fixed rounding.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PAGE = ROOT / "docs" / "performance.md"

# name -> (title, what it measures, the command that stores it); sections appear in this order
ABOUT = {
    "encoding": ("SPLADE encoding", "SPLADE encoding of the first Cranfield documents with the same model and threads: the "
                 "package's `SpladeEncoder.encode`, sentence-transformers' `SparseEncoder.encode` and the reference "
                 "article's one-text-at-a-time `encode`, interleaved in every round (median of the rounds). The package's "
                 "vectors are checked equal to sentence-transformers' first. Effective GFLOPS: the MLM head's FLOPs over "
                 "the whole encoding time, against a plain float32 matmul of the head's shape timed in the same run (the "
                 "head skips the terms an exact int8 bound rules out, so it can exceed 100 %).",
                 "python benchmarks/encoding.py --save"),
    "search": ("SPLADE search", "Every query scored against every document with the same SPLADE vectors: one sparse matrix "
               "product (the package), the reference article's dict loop, Qdrant Edge (Rust, in process) and qdrant-client's "
               "local mode (pure Python, on a sample of queries). Top-10 lists are checked equal.",
               "python benchmarks/search.py --save"),
    "interaction": ("Live-demo interactions", "What an instructor waits for: one move of notebook 04's alpha slider (all "
                    "queries re-fused and scored, the chosen query's top 10; the widget's redraw not included) and one "
                    "typed query through BM25, SPLADE, dense and the hybrid, encoders warm (medians).",
                    "python benchmarks/interaction.py --save"),
    "notebooks_warm": ("Notebooks, warm caches", "Every notebook run top to bottom as a learner runs it (kernel start "
                       "included), with the encoding and model caches filled.",
                       "python benchmarks/notebooks.py --slowest 3 --save"),
    "notebooks_cold": ("Notebooks, cold caches", "Every notebook run top to bottom from an empty cache: nothing encoded, "
                       "no model trained.", "python benchmarks/notebooks.py --cold --slowest 3 --save"),
    "qdrant_scale": ("Qdrant as the collection grows", "Qdrant Edge against qdrant-client's local mode at growing "
                     "collection sizes: the first 1,400 points are Cranfield's real vectors, larger collections add "
                     "synthetic points drawn to match their statistics; queries are Cranfield's. Latency is the median "
                     "(p50) per query through `QdrantStore`; Edge after `optimize()`, the state a collection is served "
                     "from. Notebook 05 reads this file.", "python benchmarks/qdrant_scale.py --save"),
    "training": ("Training", "Training splade-tiny on Cranfield's title pairs (batch 32): pairs per second through "
                 "sentence-transformers' own modules and through the package's fast head, side by side; seconds per "
                 "epoch; the train command on `mini` from start to finish. Quality: each configuration evaluated on the "
                 "test half of the queries (never used for training), documents read to 256 tokens, against the bundled "
                 "model (95 % paired-bootstrap interval). Notebook 06 reads this file.",
                 "python benchmarks/training.py --save"),
}


def ratio(x: float) -> str:
    return f"{x:,.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def num(x: float) -> str:
    """Three significant figures, whole numbers from 100 on, thousands separated: 0.0681, 1.50, 14.9, 128, 1,589."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:#.3g}"


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows), ""]


def machine(r: dict) -> str:
    m = r.get("machine", {})
    parts = [f"{m['cpus']} cores" if "cpus" in m else None, m.get("machine"), m.get("cpu_model"),
             f"Python {m['python']}" if "python" in m else None,
             f"torch threads {m['torch_threads']}" if "torch_threads" in m else None]
    text = ", ".join(p for p in parts if p) or "not recorded"
    if m.get("load_average"):
        start, end = m["load_average"]
        busy = " (above the core count: other work competed for the CPU)" if max(start, end) > m.get("cpus", 0) else ""
        text += f"; load average {start:.1f} when the run started, {end:.1f} when it ended{busy}"
    return text


def targets(r: dict, labels: dict[str, str], unit: str = "") -> list[str]:
    """The targets table of a result that stores ``figures``, ``targets`` ([op, bound]) and ``met``."""
    if not r.get("targets"):
        return []
    rows = []
    for key, (op, bound) in r["targets"].items():
        shown = f"{num(r['figures'][key])}{unit}" if key in r.get("figures", {}) else "not measured in this run"
        verdict = {True: "met", False: "**not met**"}.get(r.get("met", {}).get(key), "—")
        sign = {"<=": "≤", ">=": "≥"}.get(op, op)
        rows.append([labels.get(key, f"`{key}`"), f"{sign} {bound:,g}{unit}", shown, verdict])
    return ["Targets:", "", *table(["figure", "target", "measured", "verdict"], rows)]


def encoding(r: dict) -> list[str]:
    s = r["seconds"]
    ref = s["sentence-transformers"]
    rows = [[name, ratio(ref / sec), f"{sec:.2f}", f"{r['docs'] / sec:.1f}"]
            for name, sec in sorted(s.items(), key=lambda kv: kv[1])]
    return [f"{r['docs']:,} documents ({r['tokens']:,} tokens), {r['threads']} threads, median of {r['repeat']} interleaved "
            f"rounds; the package's vectors equal sentence-transformers' within {r['figures']['max_abs_diff']:.1e}.", "",
            *table(["encoder", "speed vs sentence-transformers", "seconds (this machine)", "documents/s (this machine)"], rows),
            f"MLM head: the package runs at {r['package_gflops']:.0f} effective GFLOPS against {r['matmul_gflops']:.0f} for "
            f"a plain matmul of the head's shape ({r['figures']['head_share_of_matmul']:.0%}).", "",
            *targets(r, {"speedup_vs_sentence_transformers": "package vs sentence-transformers (speed-up)",
                         "head_share_of_matmul": "effective GFLOPS / plain matmul's",
                         "max_abs_diff": "largest difference, package vs sentence-transformers"})]


def search(r: dict) -> list[str]:
    ms = r["ms_per_query"]
    rows = [[name, ratio(v / ms["package"]), num(v)] for name, v in sorted(ms.items(), key=lambda kv: kv[1])]
    return [f"{r['queries']} queries × {r['docs']:,} documents (local mode: {r['local_queries']} queries), same top 10.", "",
            *table(["method", "time vs the package", "ms per query (this machine)"], rows),
            f"Qdrant's local mode takes {ratio(r['local_over_edge'])} Qdrant Edge's time per query.", ""]


def interaction(r: dict) -> list[str]:
    labels = {"slider_minmax_ms": "alpha slider, one move (min-max)", "slider_rrf_ms": "alpha slider, one move (RRF)",
              "typed_query_ms": "one typed query, four retrievers"}
    return [f"{r['queries']} queries × {r['docs']:,} documents, median of {r['repeat']}; milliseconds on this machine.", "",
            *targets(r, labels, " ms")]


def notebooks(r: dict) -> list[str]:
    rows = []
    for name, sec in sorted(r["seconds"].items()):
        cells = ", ".join(f"cell {i}: {t:.1f} s" for i, t in r.get("slowest_cells", {}).get(name, []))
        rows.append([f"`{name}`", f"{sec:.1f}", cells])
    rows.append(["**total**", f"**{r['total_s']:.1f}**", ""])
    labels = {"total_s": "all notebooks, 00–06", "total_00_05_s": "notebooks 00–05 (without training)"}
    return [*table(["notebook", "seconds (this machine)", "slowest cells"], rows), *targets(r, labels, " s")]


def qdrant_scale(r: dict) -> list[str]:
    served = lambda x: x.get("latency_after_optimize", x["latency"])  # noqa: E731
    rows, by = [], {(x["engine"], x["points"]): x for x in r["results"]}
    for x in sorted(r["results"], key=lambda x: (x["points"], x["engine"])):
        lat = served(x)
        before = num(x["latency"]["dense"]["p50_ms"]) if "latency_after_optimize" in x else "—"
        opt = f"{x['optimize_s']:.1f}" if "optimize_s" in x else "—"
        rows.append([f"{x['points']:,}", x["engine"], *(num(lat[k]["p50_ms"]) for k in ("dense", "splade", "bm25", "hybrid")),
                     before, f"{x['upsert_points_per_s']:,.0f}", opt,
                     f"{x['disk_apparent_mb']:,.0f} / {x['disk_allocated_mb']:,.1f}" if x["engine"] == "edge" else "in memory"])
    speed = [[f"{n:,}", ratio(by["local", n]["latency"]["splade"]["p50_ms"] / served(by["edge", n])["splade"]["p50_ms"])]
             for e, n in sorted(by) if e == "edge" and ("local", n) in by]
    labels = {"edge_splade_p50_ms_at_100000": "Edge, SPLADE p50 at 100,000 points (ms)",
              "edge_hybrid_p50_ms_at_100000": "Edge, dense + SPLADE RRF p50 at 100,000 points (ms)",
              "edge_over_local_at_14000": "local mode's SPLADE p50 / Edge's at 14,000 points"}
    return [*table(["points", "local mode's SPLADE time vs Qdrant Edge's"], speed),
            "Milliseconds per query on this machine (p50); Edge after `optimize()`:", "",
            *table(["points", "engine", "dense", "SPLADE", "BM25", "RRF hybrid", "dense before optimize()", "upserts/s",
                    "optimize() s", "disk MB apparent / allocated"], rows),
            *targets(r, labels)]


def training(r: dict) -> list[str]:
    pps = r["pairs_per_second"]
    out = [*table(["path", "speed vs sentence-transformers' modules", "pairs/s (this machine)"],
                  [[k, ratio(v / pps["library path"]), f"{v:.1f}"] for k, v in sorted(pps.items(), key=lambda kv: kv[1])])]
    epochs = ", ".join(f"{s:.1f} s at {n} tokens" for n, s in sorted(r["epoch_seconds"].items(), key=lambda kv: int(kv[0])))
    out += [f"On this machine: one epoch {epochs or 'not timed in this run'} (target ≤ {r['target_epoch_s']:g} s at 128 "
            f"tokens); the train command on `mini` {r['mini_train_s']:.1f} s (target < {r['target_mini_s']:g} s). Speed "
            f"targets: {'met' if r['target_met'] else '**not met**'}.", ""]
    if r.get("results"):
        rows = []
        for x in r["results"]:
            c = x["vs_bundled"]
            diff = "" if c is None else f"{c['mean_diff']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]".replace("-", "−")
            rows.append([x["name"], f"{x['ndcg']:.3f}", f"**{diff}**" if c and c["ci_low"] > 0 else diff,
                         f"{x['doc_nonzeros']:.0f} / {x['query_nonzeros']:.0f}", f"{x['flops']:.1f}", f"{x['train_s']:.0f}"])
        out += [f"Test half, BM25 nDCG@10 {r['bm25_test_ndcg']:.3f}; in bold, an interval above zero:", "",
                *table(["configuration", "nDCG@10", "vs bundled [95 % CI]", "doc / query non-zeros", "FLOPS",
                        "train s (this machine)"], rows),
                "Goal (a configuration beats the bundled model, interval above zero, at no more FLOPS): "
                f"{'met' if r.get('goal_met') else '**not met**'}.", ""]
    return out


def generic(r: dict) -> list[str]:
    return ["No section for this benchmark in `benchmarks/report.py` yet: its stored figures.", "",
            *table(["figure", "value"], [[f"`{k}`", f"{v:g}"] for k, v in sorted(r.get("figures", {}).items())]), *targets(r, {})]


SECTIONS = {"encoding": encoding, "search": search, "interaction": interaction, "notebooks_warm": notebooks,
            "notebooks_cold": notebooks, "qdrant_scale": qdrant_scale, "training": training}


def verdict(name: str, r: dict) -> str:
    if name == "training":
        return "all met" if r.get("target_met") and r.get("goal_met", True) else "**not all met**"
    met = r.get("met", {})
    if not met:
        return "—"
    return "all met" if all(met.values()) else f"**{sum(met.values())} of {len(met)} met**"


def render(results: Path = RESULTS) -> str:
    """The page, from the ``*.json`` files in ``results``."""
    stored = {p.stem: json.loads(p.read_text()) for p in sorted(Path(results).glob("*.json"))}
    names = [n for n in ABOUT if n in stored] + sorted(n for n in stored if n not in ABOUT)
    out = ["# Performance", "",
           "<!-- Generated by `python benchmarks/report.py` from benchmarks/results/*.json: edit those, not this page. -->", "",
           "What the course's benchmarks measure and what they measured for the current code. Each benchmark runs its "
           "candidates side by side in one run (interleaved where it matters), so the **ratios** are the figures to compare; "
           "absolute times are those of the machine named in its section and vary with its load. On a busy machine even "
           "ratios move (code that runs many small multi-threaded steps suffers most): each section gives the load "
           "average of its run where it was recorded.", "",
           "To re-measure: run a benchmark with `--save` (it writes `benchmarks/results/<name>.json`), then "
           "`python benchmarks/report.py` to rewrite this page; `python benchmarks/report.py --check` and the test suite "
           "fail while the page is out of date.", "",
           *table(["benchmark", "targets"], [[f"[{ABOUT.get(n, (n,))[0]}](#{anchor(n)})", verdict(n, stored[n])] for n in names])]
    missing = [n for n in ABOUT if n not in stored]
    if missing:
        out += ["Not measured yet: " + ", ".join(f"{ABOUT[n][0].lower()} (`{ABOUT[n][2]}`)" for n in missing) + ".", ""]
    for n in names:
        r = stored[n]
        title, about, cmd = ABOUT.get(n, (n, "", f"python benchmarks/{n}.py --save"))
        out += [f"## {title}", "", *([about, ""] if about else []), f"Machine: {machine(r)}.", "",
                *SECTIONS.get(n, generic)(r), f"Reproduce: `{r.get('command', cmd)}`, then `python benchmarks/report.py`.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def anchor(name: str) -> str:
    """GitHub's anchor for a section title: lower case, spaces to dashes, punctuation dropped."""
    title = ABOUT.get(name, (name,))[0].lower()
    return "".join(c for c in title.replace(" ", "-") if c.isalnum() or c in "-_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff if the page is not up to date")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the *.json results")
    parser.add_argument("--out", type=Path, default=PAGE, help="the page")
    args = parser.parse_args()
    page = render(args.results)
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != page:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), page.splitlines(True),
                                                       str(args.out), "regenerated"))
            print(f"\n{args.out} is out of date: run python benchmarks/report.py", file=sys.stderr)
            sys.exit(1)
        print(f"{args.out} is up to date")
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
