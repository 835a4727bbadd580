"""How SPLADE learns: the objective equals sentence-transformers',
and a real training run on the mini corpus produces a model the course can load and evaluate."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from st_library import DOCS, QUERIES, features, library_model

import splade_helpers as sh
from splade_helpers import training as T
from splade_helpers.inference_free import InferenceFreeEncoder, load_sparse_encoder

MINI_TRAIN_ARGS = ["--dataset", "mini", "--pairs", "titles", "--batch-size", "8", "--max-length", "64"]  # as benchmarks/training.py times it


def test_the_objective_written_out_equals_sentence_transformers_splade_loss():
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    model = library_model()
    loss = SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), document_regularizer_weight=3e-2,
                      query_regularizer_weight=5e-2)
    theirs = loss([features(model, QUERIES), features(model, DOCS)])
    with torch.no_grad():
        q = model(features(model, QUERIES))["sentence_embedding"]
        d = model(features(model, DOCS))["sentence_embedding"]
    ours = T.splade_objective(q, d, lambda_q=5e-2, lambda_d=3e-2)
    theirs = {k: float(v.detach()) for k, v in theirs.items()}
    assert float(ours["ranking"]) == pytest.approx(theirs["base_loss"], abs=1e-5)
    assert float(ours["flops_documents"]) == pytest.approx(theirs["document_regularizer_loss"], abs=1e-5)
    assert float(ours["flops_queries"]) == pytest.approx(theirs["query_regularizer_loss"], abs=1e-5)
    assert float(T.flops(d)) > float(T.flops(d * (d > d[d > 0].median())))  # fewer active terms, smaller FLOPS


def test_the_regulariser_warm_up_equals_the_library_scheduler():
    from sentence_transformers.sparse_encoder.callbacks.splade_callbacks import SpladeRegularizerWeightSchedulerCallback
    from sentence_transformers.sparse_encoder.losses import SparseMultipleNegativesRankingLoss, SpladeLoss

    model = library_model()
    callback = SpladeRegularizerWeightSchedulerCallback(SpladeLoss(model, SparseMultipleNegativesRankingLoss(model), 3e-5, 5e-5))
    callback.total_steps, callback.warmup_steps = 90, 30
    for step in (0, 1, 10, 29, 30, 60):
        assert T.regulariser_weight(step, 90, 3e-5) == pytest.approx(callback._calculate_weight_value(step, 3e-5), abs=1e-15)


def test_pairs_never_touch_test_queries_and_say_what_is_missing(mini, cranfield):
    titles = T.title_pairs(cranfield)
    assert len(titles) == 1398 and titles.anchors[0].startswith("experimental investigation of the aerodynamics")
    assert not titles.positives[0].startswith(titles.anchors[0])  # the title is not repeated in its positive
    tune, test = sh.split_queries(cranfield.judged_query_ids, seed=42)
    qrels = T.qrels_pairs(cranfield, tune)
    assert set(qrels.anchors) <= {cranfield.query(q) for q in tune} and not set(qrels.anchors) & {cranfield.query(q) for q in test}
    no_titles = sh.Dataset("untitled", ["a", "b"], ["x y", "z"], ["q"], ["x"], {"q": {"a": 1}})
    with pytest.raises(ValueError, match="no document with both a title and a body"):
        T.title_pairs(no_titles)
    with pytest.raises(ValueError, match="no judged pair"):
        T.qrels_pairs(no_titles, [])
    with pytest.raises(ValueError, match="lambda_d=-1.0 must be a finite number >= 0"):
        T.TrainConfig(lambda_d=-1)
    with pytest.raises(ValueError, match="batch_size=1"):
        T.TrainConfig(batch_size=1)


def test_distillation_examples_take_hard_negatives_from_the_teacher(cranfield):
    titles = T.title_pairs(cranfield)
    small = T.Pairs("small", titles.anchors[:20], titles.positives[:20], positive_ids=titles.positive_ids[:20])
    scores = T.teacher_scores(cranfield, small.anchors, "bm25")
    examples = T.distillation_examples(cranfield, small, scores, negatives=2)
    assert len(examples.negatives[0]) == 2 and len(examples.labels[0]) == 3
    column = {d: j for j, d in enumerate(cranfield.doc_ids)}
    for i, doc_id in enumerate(small.positive_ids):
        assert examples.labels[i][0] == pytest.approx(scores[i, column[doc_id]])
        assert all(n != cranfield.doc(doc_id) for n in examples.negatives[i])
    with pytest.raises(ValueError, match="teacher_scores has shape"):
        T.distillation_examples(cranfield, small, scores[:5])


@pytest.fixture(scope="module")
def mini_model(mini, tmp_path_factory):
    pairs = T.title_pairs(mini)
    return T.train(pairs, T.TrainConfig(batch_size=8, max_length=64), out=tmp_path_factory.mktemp("m") / "model")


def test_a_training_run_on_mini_gives_a_model_the_course_loads(mini, mini_model, monkeypatch):
    assert mini_model.seconds < 60 and "document_nonzeros" in mini_model.history[0] and "loss" in mini_model.history[1]
    record = json.loads((mini_model.path / "splade_helpers_training.json").read_text())
    assert record["config"]["batch_size"] == 8 and record["pairs"] == "mini:titles"
    encoder = sh.SpladeEncoder(str(mini_model.path))
    before = sh.SpladeEncoder().encode_documents(mini.doc_texts, cache=False)
    after = encoder.encode_documents(mini.doc_texts, cache=False)
    assert after.shape == before.shape and abs(after - before).max() > 1e-3  # the weights did change
    rows = {r["retriever"]: r for r in sh.compare_retrievers(mini, ["splade"], splade_model=str(mini_model.path))}
    assert 0.3 < rows["splade"]["nDCG@10"] <= 1.0
    monkeypatch.setattr(T.trainer, "_fit", lambda *a, **k: pytest.fail("trained again instead of loading"))
    again = T.train(T.title_pairs(mini), mini_model.config, out=mini_model.path)
    assert again.path == mini_model.path and again.seconds == mini_model.seconds


def test_an_inference_free_model_encodes_queries_without_the_model(mini, tmp_path):
    model = T.train(T.title_pairs(mini), T.TrainConfig(batch_size=8, max_length=64, inference_free=True), out=tmp_path / "if")
    encoder = load_sparse_encoder(str(model.path))
    assert isinstance(encoder, InferenceFreeEncoder)
    q = encoder.encode_queries(["laptop battery drains fast", "printer offline"])
    ids = set(encoder.tokenizer("laptop battery drains fast", add_special_tokens=False)["input_ids"])
    assert set(q[0].indices.tolist()) <= ids and q.shape == (2, encoder.vocab_size)
    np.testing.assert_allclose(q[0].data, encoder.weight[q[0].indices], rtol=1e-6)
    d = encoder.encode_documents(mini.doc_texts[:3], cache=False)
    assert d.shape[0] == 3 and d.nnz > 10  # documents still expand through the MLM
    rows = sh.compare_retrievers(mini, ["splade"], splade_model=str(model.path))
    assert rows[0]["nDCG@10"] > 0.2
    with pytest.raises(ValueError, match="not an inference-free SPLADE folder"):
        InferenceFreeEncoder(tmp_path)


def test_the_train_command_checks_its_input_before_training(tmp_path, mini_model):
    from splade_helpers.training.__main__ import main

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    assert main(["--dataset", "mini", "--out", str(tmp_path / "full")]) == 2
    untitled = tmp_path / "untitled"
    (untitled / "qrels").mkdir(parents=True)
    (untitled / "corpus.jsonl").write_text('{"_id": "a", "text": "lift"}\n')
    (untitled / "queries.jsonl").write_text('{"_id": "q", "text": "lift"}\n')
    (untitled / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\ta\t1\n")
    assert main(["--dataset", str(untitled), "--out", str(tmp_path / "m1")]) == 2
    assert main(["--dataset", str(untitled), "--pairs", "qrels", "--out", str(tmp_path / "m2")]) == 2
    assert main(["--dataset", "mini", "--epochs", "0", "--out", str(tmp_path / "m3")]) == 2
    assert not any((tmp_path / m).exists() for m in ("m1", "m2", "m3"))  # refused before any training wrote a file


def test_train_and_evaluate_commands_end_to_end(tmp_path):
    # its speed (under a minute as a target) is measured by benchmarks/training.py, not asserted here
    env = {**os.environ, "TQDM_DISABLE": "1"}
    done = subprocess.run([sys.executable, "-m", "splade_helpers.training", *MINI_TRAIN_ARGS, "--out", str(tmp_path / "model")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = subprocess.run([sys.executable, "-m", "splade_helpers.evaluation", "--dataset", "mini", "--retrievers", "splade",
                            "--splade-model", str(tmp_path / "model")], capture_output=True, text=True, timeout=300, env=env)
    assert shown.returncode == 0 and "splade" in shown.stdout, shown.stderr[-2000:]
