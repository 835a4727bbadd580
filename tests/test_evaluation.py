import ir_measures
import pytest

from splade_helpers import evaluate_run

QRELS = {"q1": {"a": 3, "b": 1, "c": 0}, "q2": {"d": 1}, "q3": {"e": 0}}


def test_matches_ir_measures_on_a_plain_run():
    run = {"q1": [("c", 3.0), ("a", 2.0), ("x", 1.0), ("b", 0.5)], "q2": [("d", 1.0)]}
    means, per_query = evaluate_run(run, QRELS)
    assert list(per_query) == ["q1", "q2"]  # q3 has no relevant document: not evaluated
    ref = {
        (m.query_id, str(m.measure)): m.value
        for m in ir_measures.iter_calc(
            [ir_measures.nDCG @ 10, ir_measures.R @ 100, ir_measures.RR @ 10],
            [ir_measures.Qrel(q, d, g) for q, ds in QRELS.items() for d, g in ds.items()],
            [ir_measures.ScoredDoc(q, d, s) for q, r in run.items() for d, s in r],
        )
    }
    assert per_query["q1"]["nDCG@10"] == pytest.approx(ref[("q1", "nDCG@10")])
    assert per_query["q1"]["MRR@10"] == pytest.approx(0.5) and per_query["q2"]["MRR@10"] == 1.0
    assert means["R@100"] == pytest.approx(1.0)


def test_a_query_without_results_counts_as_zero():
    means, per_query = evaluate_run({"q2": [("d", 1.0)]}, QRELS)
    assert per_query["q1"] == {"nDCG@10": 0.0, "R@100": 0.0, "MRR@10": 0.0}
    assert means["MRR@10"] == pytest.approx(0.5)


def test_our_order_is_evaluated_even_with_tied_scores():
    # trec_eval would re-order ties by document id ("b" before "a"); we keep the ranking we show
    means, _ = evaluate_run({"q2": [("d", 1.0), ("z", 1.0)]}, QRELS, ["q2"])
    assert means["MRR@10"] == 1.0
    means, _ = evaluate_run({"q2": [("z", 1.0), ("d", 1.0)]}, QRELS, ["q2"])
    assert means["MRR@10"] == 0.5


def test_duplicate_documents_in_a_ranking_are_refused():
    with pytest.raises(ValueError, match="lists document 'a' twice"):
        evaluate_run({"q1": [("a", 2.0), ("a", 1.0)]}, QRELS)
