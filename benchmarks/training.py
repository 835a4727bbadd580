"""Training splade-tiny on a laptop CPU: speed, an honest choice of recipe, and what each lever does.

    python benchmarks/training.py                       # speed + selection + exploration (about 40 minutes cold)
    python benchmarks/training.py --speed-only          # the speed part only (about 2 minutes)
    python benchmarks/training.py --save                # also write benchmarks/results/training.json
    python benchmarks/training.py --speed-only --save   # re-measure the speed part of that file, keep its quality part

Speed, measured side by side in one run on Cranfield's 1,398 title pairs (batch 32):
- pairs per second through sentence-transformers' own MLM + SpladePooling path against the
  package's max-first head (``kernels.fast_splade_head``: same vectors and gradients), a few steps each;
- seconds per epoch with the fast head at 128 and 256 tokens;
- seconds for the train command on ``mini`` from start to finish (as the test suite runs it).
Targets on a quiet 2-core machine: one epoch over the title pairs <= 90 s; the run on mini < 60 s.

Selection, on the tuning half of Cranfield's queries only (``split_queries(seed=42)``): every candidate
recipe (pairs, teacher, loss, negatives, learning rate, epochs, lambda) is scored by nDCG@10 on the 112
tuning queries: a recipe that uses no query (titles) is trained once and scored on all of them; a recipe
that trains on judged queries is cross-validated over two folds of the tuning half
(``split_queries(tune, seed=1)``: trained on one fold, scored on the other, both ways). The best mean wins
(ties: the first in CANDIDATES' order); it is then trained on the whole tuning half and reported once on the test half.

Exploration, labelled as such: every candidate (and an inference-free model) trained on its full data
and scored on the test half, documents read to 256 tokens, with a 95 % paired-bootstrap interval against
the bundled model; nothing is chosen from it. Prints the tables, then one JSON line.
"""

from __future__ import annotations

import common  # first: the environment flags, before anything imports tqdm or Hugging Face code

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import splade_helpers as sh
from splade_helpers import training as T
from splade_helpers.kernels import fast_splade_head
from splade_helpers.tuning import format_interval as interval

TARGET_EPOCH_S = 90.0
TARGET_MINI_S = 60.0
# the run on mini, as tests/test_training.py makes it
MINI_TRAIN_ARGS = ["--dataset", "mini", "--pairs", "titles", "--batch-size", "8", "--max-length", "64"]
SPLIT_SEED = 42  # the course's tuning/test split (notebook 04)
INNER_SEED = 1  # the two folds of the tuning half that cross-validate the recipes trained on judged queries
DOC_MAX_LENGTH = 256  # the best truncation for the bundled model on Cranfield (notebook 02)


@dataclass(frozen=True)
class Recipe:
    """How a model is trained: which pairs, a teacher (distillation) and its negatives, and the settings."""

    pairs: str  # "titles" (no query used) or "qrels" (judged queries)
    config: T.TrainConfig = T.TrainConfig()
    teacher: str | None = None
    negatives: int = 3

    def settings(self) -> dict:
        """What a reader needs to tell recipes apart (stored with each result)."""
        c = self.config
        loss = c.distill_loss if self.teacher else "in-batch"
        return {"pairs": self.pairs, "teacher": self.teacher, "negatives": self.negatives if self.teacher else None,
                "loss": loss, "learning_rate": c.learning_rate, "epochs": c.epochs, "lambda_d": c.lambda_d,
                "lambda_q": c.lambda_q, "max_length": c.max_length, "inference_free": c.inference_free}


DISTIL = dict(learning_rate=1e-4, epochs=2)
CANDIDATES = {
    "titles, lambda 3e-5 (library example)": Recipe("titles"),
    "titles, lambda 1e-4 (naver splade_max)": Recipe("titles", T.TrainConfig(lambda_d=1e-4, lambda_q=3e-4)),
    "titles, lambda 0": Recipe("titles", T.TrainConfig(lambda_d=0.0, lambda_q=0.0)),
    "titles, lambda 0.1": Recipe("titles", T.TrainConfig(lambda_d=0.1, lambda_q=0.1)),
    "titles, 3 epochs": Recipe("titles", T.TrainConfig(epochs=3)),
    "titles + hybrid teacher": Recipe("titles", teacher="hybrid"),
    "qrels, in-batch negatives": Recipe("qrels"),
    "qrels + hybrid, margin-MSE, lr 1e-4, 2 ep": Recipe("qrels", T.TrainConfig(**DISTIL), "hybrid"),
    "qrels + hybrid, KL, lr 1e-4, 2 ep": Recipe("qrels", T.TrainConfig(**DISTIL, distill_loss="kl"), "hybrid"),
    "qrels + hybrid, margin-MSE, lr 2e-4, 1 ep": Recipe("qrels", T.TrainConfig(learning_rate=2e-4), "hybrid"),
    "qrels + hybrid, margin-MSE, 1 negative": Recipe("qrels", T.TrainConfig(**DISTIL), "hybrid", negatives=1),
    "qrels + dense, margin-MSE, lr 1e-4, 2 ep": Recipe("qrels", T.TrainConfig(**DISTIL), "dense"),
    "qrels + hybrid, margin-MSE, lambda 0.4 (SPLADE++)": Recipe("qrels", T.TrainConfig(**DISTIL, lambda_d=0.4, lambda_q=0.5),
                                                               "hybrid"),
}
EXPLORATION_ONLY = {  # not candidates: a different product (no model call per query), compared in notebook 06
    "inference-free, titles, lambda 0": Recipe("titles", T.TrainConfig(lambda_d=0.0, lambda_q=0.0, inference_free=True)),
}


def build_pairs(ds, recipe: Recipe, queries: list[str] | None) -> T.Pairs:
    """The recipe's training examples: titles, or the judged pairs of ``queries``; with its teacher's negatives."""
    pairs = T.title_pairs(ds) if recipe.pairs == "titles" else T.qrels_pairs(ds, queries, split_seed=SPLIT_SEED)
    if recipe.teacher:
        pairs = T.distillation_examples(ds, pairs, T.teacher_scores(ds, pairs.anchors, recipe.teacher),
                                        negatives=recipe.negatives, seed=SPLIT_SEED)
    return pairs


def measured(model: T.TrainedModel, ds, queries: list[str]) -> dict:
    """nDCG@10 (per query), non-zeros and FLOPS of a trained model on ``queries``, documents read to 256 tokens."""
    return T.measure_encoder(model.encoder(doc_max_length=DOC_MAX_LENGTH), ds, queries)


def select(ds, tune: list[str], candidates: dict[str, Recipe], bundled_tune: np.ndarray) -> dict:
    """Each candidate's nDCG@10 on the tuning half (cross-validated when it trains on judged queries); the winner."""
    folds = sh.split_queries(tune, seed=INNER_SEED)
    rows = []
    for name, recipe in candidates.items():
        start = time.perf_counter()
        if recipe.pairs == "titles":
            scores = dict(zip(tune, measured(T.train(build_pairs(ds, recipe, None), recipe.config), ds, tune)["per_query"]))
        else:
            scores = {}
            for train_on, score_on in ((folds[0], folds[1]), (folds[1], folds[0])):
                model = T.train(build_pairs(ds, recipe, train_on), recipe.config)
                scores.update(zip(score_on, measured(model, ds, score_on)["per_query"]))
        per_query = np.array([scores[q] for q in tune])
        c = sh.paired_comparison(per_query, bundled_tune, seed=SPLIT_SEED)
        rows.append({"name": name, **recipe.settings(), "tune_ndcg": float(per_query.mean()),
                     "scored": "all tuning queries" if recipe.pairs == "titles" else "2-fold cross-validation",
                     "vs_bundled_tune": c})
        print(f"  scored {name} on the tuning half: {per_query.mean():.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
    best = max(rows, key=lambda r: r["tune_ndcg"])
    return {"inner_seed": INNER_SEED, "folds": [len(f) for f in folds], "candidates": rows, "winner": best["name"],
            "bundled_tune_ndcg": float(bundled_tune.mean())}


def speed(ds, steps: int) -> dict:
    """Pairs per second: the library's path against the fast head, same batches, in one run."""
    import transformers
    from sentence_transformers import SparseEncoder
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    pairs = T.title_pairs(ds)
    out = {}
    for label, fast in (("library path", False), ("fast head", True)):
        transformers.set_seed(42)
        model = SparseEncoder(str(sh.resolve_model(None, "splade").path), device="cpu")
        model.max_seq_length = 128
        model.train()
        loss = SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), 3e-5, 5e-5)
        optimizer = __import__("torch").optim.AdamW(model.parameters(), lr=5e-5)
        batches = [(pairs.anchors[i:i + 32], pairs.positives[i:i + 32]) for i in range(0, 32 * (steps + 1), 32)]
        times = []
        for i, (a, p) in enumerate(batches):
            feats = [model.preprocess(a), model.preprocess(p)]
            for f in feats:
                f.pop("modality", None)
            start = time.perf_counter()
            if fast:
                with fast_splade_head(model):
                    total = sum(loss(feats).values())
            else:
                total = sum(loss(feats).values())
            total.backward()
            optimizer.step()
            optimizer.zero_grad()
            if i:  # the first step warms up
                times.append(time.perf_counter() - start)
        out[label] = 32 / float(np.median(times))
    return out


def mini_run() -> float:
    """Seconds for the train command on ``mini``, start to finish (interpreter start and imports included)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "splade_helpers.training", *MINI_TRAIN_ARGS, "--out", str(Path(tmp) / "m")],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"the train command failed on mini:\n{done.stderr[-2000:]}")
    return seconds


def quality(ds, tune: list[str], test: list[str], only: str | None) -> dict:
    """Selection on the tuning half, the winner once on the test half, and every candidate on the test half (exploration)."""
    wanted = None if not only else [w.strip() for w in only.split(";")]
    candidates = {k: v for k, v in CANDIDATES.items() if not wanted or any(w in k for w in wanted)}
    bundled = sh.SpladeEncoder(doc_max_length=DOC_MAX_LENGTH)
    base_tune, base = (T.measure_encoder(bundled, ds, q) for q in (tune, test))
    bm25 = sh.BM25Retriever().index(ds.doc_ids, ds.doc_texts)
    _, per = sh.evaluate_run(bm25.run(test, [ds.query(q) for q in test], 100), ds.qrels, test)
    bm25_test = np.array([per[q]["nDCG@10"] for q in test])
    selection = select(ds, tune, candidates, base_tune["per_query"])
    rows = [{"name": "bundled splade-tiny (no training)", "train_s": 0.0, "candidate": False, **base}]
    for name, recipe in {**candidates, **EXPLORATION_ONLY}.items():
        pairs = build_pairs(ds, recipe, tune)
        model = T.train(pairs, recipe.config)
        rows.append({"name": name, "train_s": model.seconds, "examples": len(pairs), "candidate": name in candidates,
                     **recipe.settings(), **measured(model, ds, test)})
        print(f"  trained {name} on its full data: {model.seconds:.0f} s", flush=True)
    reference = np.array(base["per_query"])
    for r in rows:
        r["ndcg"] = float(np.mean(r["per_query"]))
        r["vs_bundled"] = sh.paired_comparison(r["per_query"], reference, seed=SPLIT_SEED) if r is not rows[0] else None
        r["vs_bm25"] = sh.paired_comparison(r["per_query"], bm25_test, seed=SPLIT_SEED)
    chosen = next(r for r in rows if r["name"] == selection["winner"])
    print_tables(selection, rows, float(bm25_test.mean()), len(tune), len(test))
    return {"bm25_test_ndcg": float(bm25_test.mean()), "selection": selection,
            "chosen": {k: v for k, v in chosen.items() if k not in ("per_query", "nDCG@10")},
            "results": [{k: v for k, v in r.items() if k not in ("per_query", "nDCG@10")} for r in rows]}


def print_tables(selection: dict, rows: list[dict], bm25_test: float, n_tune: int, n_test: int) -> None:
    """The selection on the tuning half, the winner on the test half, and the exploration table."""
    print(f"\nselection on the tuning half ({n_tune} queries; folds of {selection['folds']} for recipes trained on judged "
          f"queries); bundled nDCG@10 {selection['bundled_tune_ndcg']:.3f}")
    print(f"{'candidate':<52}{'nDCG@10':>8}{'vs bundled [95% CI]':>26}  scored on")
    for r in sorted(selection["candidates"], key=lambda r: -r["tune_ndcg"]):
        print(f"{r['name']:<52}{r['tune_ndcg']:>8.3f}{interval(r['vs_bundled_tune']):>26}  {r['scored']}")
    chosen = next(r for r in rows if r["name"] == selection["winner"])
    print(f"chosen among {len(selection['candidates'])}: {selection['winner']}; on the test half ({n_test} queries, reported "
          f"once): nDCG@10 {chosen['ndcg']:.3f}, vs bundled {interval(chosen['vs_bundled'])}, vs BM25 {interval(chosen['vs_bm25'])}")
    print(f"\nexploration on the test half (nothing is chosen from it); BM25 nDCG@10 {bm25_test:.3f}")
    print(f"{'configuration':<52}{'nDCG@10':>8}{'vs bundled [95% CI]':>26}{'doc nz':>8}{'query nz':>9}{'FLOPS':>7}{'train s':>8}")
    for r in rows:
        print(f"{r['name']:<52}{r['ndcg']:>8.3f}{interval(r['vs_bundled']):>26}{r['doc_nonzeros']:>8.0f}"
              f"{r['query_nonzeros']:>9.0f}{r['flops']:>7.1f}{r['train_s']:>8.0f}")


def main() -> None:
    parser = common.parser(__doc__, dataset=False)  # --save [FILE]
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--no-epochs", action="store_true", help="skip timing whole epochs (tests)")
    parser.add_argument("--steps", type=int, default=6, help="steps per path in the speed comparison")
    parser.add_argument("--only", default=None, help="candidates whose name contains one of these ;-separated strings")
    args = parser.parse_args()
    ds = sh.load_dataset("cranfield")
    tune, test = sh.split_queries(ds.judged_query_ids, seed=SPLIT_SEED)

    per_second = speed(ds, args.steps)
    print(f"pairs per second (batch 32, 128 tokens): library path {per_second['library path']:.1f}, "
          f"fast head {per_second['fast head']:.1f} ({per_second['fast head'] / per_second['library path']:.1f}x)")
    mini_s = mini_run()
    print(f"python -m splade_helpers.training on mini: {mini_s:.1f} s (target < {TARGET_MINI_S:g} s: "
          f"{'met' if mini_s < TARGET_MINI_S else 'NOT met'})")
    epochs = {}
    for length in () if args.no_epochs else (128, 256):
        model = T.train(T.title_pairs(ds), T.TrainConfig(max_length=length))
        epochs[length] = model.seconds  # the time of the run that made the cached model, on this machine
    if epochs:
        print(f"one epoch over {len(T.title_pairs(ds))} title pairs: {epochs[128]:.1f} s at 128 tokens, {epochs[256]:.1f} s at "
              f"256 (target <= {TARGET_EPOCH_S:g} s: {'met' if epochs[128] <= TARGET_EPOCH_S else 'NOT met'}; a cached model "
              f"reports the time of the run that trained it)")
    line = {"benchmark": "training", "machine": common.machine_info(),
            "pairs_per_second": {k: round(v, 2) for k, v in per_second.items()},
            "mini_train_s": round(mini_s, 1), "target_mini_s": TARGET_MINI_S,
            "epoch_seconds": {str(k): round(v, 1) for k, v in epochs.items()}, "target_epoch_s": TARGET_EPOCH_S,
            "target_met": bool(epochs) and epochs[128] <= TARGET_EPOCH_S and mini_s < TARGET_MINI_S, "results": []}
    stored = common.result_path("training", args.save) if args.save is not None else None
    if not args.speed_only:
        line.update(quality(ds, tune, test, args.only))
        line.update(machine=common.machine_info(), command=common.command())  # the load average at the end of the run
    elif stored and stored.exists() and "selection" in (kept := json.loads(stored.read_text())):
        # re-measure the speed only: the stored quality part, its machine and command stay; the speed part says its own
        speed_keys = ("pairs_per_second", "mini_train_s", "target_mini_s", "epoch_seconds", "target_epoch_s", "target_met")
        line = {**kept, **{k: line[k] for k in speed_keys}, "speed_machine": common.machine_info(),
                "speed_command": common.command()}
        print(f"kept the quality part stored in {stored}; replaced its speed part", file=sys.stderr)
    else:
        line.update(machine=common.machine_info(), command=common.command())
    if args.save is not None:
        common.save("training", line, args.save or None)
    print(json.dumps({k: v for k, v in line.items() if k != "results"}))


if __name__ == "__main__":
    main()
