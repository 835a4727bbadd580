"""How many labelled queries: the vectorised draws against slow re-computations on real Cranfield scores."""

import numpy as np
import pytest

import splade_helpers as sh
from splade_helpers import plots

SMALL = dict(sparse_sides=("bm25+splade",), fusions=("minmax",), rrf_ks=())


@pytest.fixture(scope="session")
def budget_data(cranfield, splade, dense):
    made = {"bm25": sh.BM25Retriever(), "splade": sh.SpladeRetriever(splade), "dense": sh.DenseRetriever(dense)}
    scores = {n: r.index(cranfield.doc_ids, cranfield.doc_texts).scores(cranfield.query_texts) for n, r in made.items()}
    gains = sh.gain_matrix(cranfield)
    tune, test = sh.split_queries(cranfield.judged_query_ids, seed=42)
    row = {q: i for i, q in enumerate(cranfield.query_ids)}
    tune_rows, test_rows = np.array([row[q] for q in tune]), np.array([row[q] for q in test])
    grid = sh.candidates()
    singles = {n: sh.ndcg_at_k(scores[n], gains) for n in ("bm25", "splade", "dense")}
    return {"scores": scores, "gains": gains, "tune": tune_rows, "test": test_rows, "grid": grid, "singles": singles,
            "per_candidate": sh.per_query_ndcg(scores, gains, grid)}


def test_each_draw_equals_a_slow_recomputation(budget_data):
    d = budget_data
    for n in (10, 25):
        (result,) = sh.choices_on_n_queries(d["per_candidate"], d["singles"], d["tune"], d["test"], ns=(n,), draws=3, seed=7)
        assert result.rows.shape == (3, n)
        for i, rows in enumerate(result.rows):
            assert len(set(rows)) == n and set(rows) <= set(d["tune"])  # without replacement, tuning half only
            best, _ = sh.evaluate_candidates(d["scores"], d["gains"], d["grid"], rows)[0]
            assert d["grid"][result.chosen[i]] == best
            fused = sh.FusionTerms(d["scores"]).fuse(dict(best.weights), best.fusion, best.rrf_k)
            assert result.fusion_test[i] == pytest.approx(sh.ndcg_at_k(fused, d["gains"])[d["test"]].mean(), abs=1e-12)
            on_drawn = {n_: sh.ndcg_at_k(d["scores"][n_][rows], d["gains"][rows]).mean() for n_ in d["singles"]}
            single = max(on_drawn, key=on_drawn.get)
            assert result.single_names[result.single_chosen[i]] == single
            assert result.single_test[i] == pytest.approx(d["singles"][single][d["test"]].mean(), abs=1e-12)
        assert result.best_single_name == max(d["singles"], key=lambda n_: d["singles"][n_][d["test"]].mean())


def test_draws_are_seeded_and_independent_of_the_other_sizes(budget_data):
    d = budget_data
    args = (d["per_candidate"], d["singles"], d["tune"], d["test"])
    a = sh.choices_on_n_queries(*args, ns=(10, 25), draws=50, seed=3)
    b = sh.choices_on_n_queries(*args, ns=(25,), draws=50, seed=3)
    c = sh.choices_on_n_queries(*args, ns=(25,), draws=50, seed=4)
    assert np.array_equal(a[1].rows, b[0].rows) and np.array_equal(a[1].chosen, b[0].chosen)
    assert a[1].summary() == b[0].summary()
    assert not np.array_equal(b[0].rows, c[0].rows)


def test_all_tuning_queries_reproduce_notebook_04(budget_data):
    d = budget_data
    results = sh.choices_on_n_queries(d["per_candidate"], d["singles"], d["tune"], d["test"], draws=20, seed=0)
    assert [r.n for r in results] == [10, 25, 50, 112] and [len(r.chosen) for r in results] == [20, 20, 20, 1]
    full = results[-1]
    best = d["grid"][full.chosen[0]]
    assert best.fusion == sh.RECOMMENDED_HYBRID["fusion"]
    assert dict(best.weights) == pytest.approx(sh.RECOMMENDED_HYBRID["weights"])
    hybrid = sh.weighted_sum([d["scores"][n] for n in sh.RECOMMENDED_HYBRID["weights"]],
                             list(sh.RECOMMENDED_HYBRID["weights"].values()), "minmax")
    assert full.fusion_test[0] == pytest.approx(sh.ndcg_at_k(hybrid, d["gains"])[d["test"]].mean(), abs=1e-12)
    assert round(float(full.fusion_test[0]), 3) == 0.403  # notebook 04, section 4
    summary = full.summary()
    assert summary["draws"] == 1 and summary["sd"] == 0 and summary["p5"] == summary["p95"] == summary["mean"]
    # the single retriever best on the tuning half (dense) is not the best on the test half (bm25)
    assert full.single_names[full.single_chosen[0]] == "dense" and full.best_single_name == "bm25"
    # the small grid (21 candidates, all inside the large one) chooses the same fusion with all queries
    small = sh.candidates(**SMALL)
    position = {c: i for i, c in enumerate(d["grid"])}
    (small_full,) = sh.choices_on_n_queries(d["per_candidate"][[position[c] for c in small]], d["singles"],
                                            d["tune"], d["test"], ns=(112,))
    assert small[small_full.chosen[0]] == best


def test_ties_go_to_the_first_candidate_in_grid_order(budget_data):
    d = budget_data
    m = d["per_candidate"]
    a = sh.choices_on_n_queries(m, d["singles"], d["tune"], d["test"], ns=(10, 112), draws=40, seed=1)
    winner = a[1].chosen[0]  # a copy of it placed first must be chosen wherever it was
    assert (a[0].chosen == winner).any()
    b = sh.choices_on_n_queries(np.vstack([m[winner], m]), d["singles"], d["tune"], d["test"], ns=(10, 112), draws=40, seed=1)
    for x, y in zip(a, b):
        assert np.array_equal(np.where(x.chosen == winner, -1, x.chosen), y.chosen - 1)


def test_intervals_equal_paired_comparison(budget_data):
    d = budget_data
    hybrid = d["per_candidate"][sh.choices_on_n_queries(d["per_candidate"], d["singles"], d["tune"], d["test"],
                                                        ns=(112,))[0].chosen[0]][d["test"]]
    dense = d["singles"]["dense"][d["test"]]
    results = sh.intervals_on_n_queries(hybrid, dense, ns=(10, 50, 113), draws=3, n_boot=2000, seed=42)
    for r in results:
        assert len(r.ci_low) == (1 if r.n == 113 else 3)
        for i, rows in enumerate(r.rows):
            slow = sh.paired_comparison(hybrid[rows], dense[rows], n_boot=2000, seed=42)
            assert r.ci_low[i] == pytest.approx(slow["ci_low"], abs=1e-12)
            assert r.ci_high[i] == pytest.approx(slow["ci_high"], abs=1e-12)
            assert r.mean_diff[i] == pytest.approx(slow["mean_diff"], abs=1e-12)
    s = [r.summary() for r in results]
    assert s[0]["half_width"] > s[1]["half_width"] > s[2]["half_width"] > 0  # more queries, narrower
    assert s[2]["above_zero"] == 1.0  # notebook 04: the interval against dense excludes 0 on all 113


def test_bad_input_is_refused_with_a_clear_message(budget_data):
    d = budget_data
    m, singles, tune, test = d["per_candidate"], d["singles"], d["tune"], d["test"]
    with pytest.raises(ValueError, match=r"n=113 must be an int between 1 and 112\. The tuning half has 112 queries"):
        sh.choices_on_n_queries(m, singles, tune, test, ns=(113,))
    with pytest.raises(ValueError, match="n=0 must be an int between 1 and 112"):
        sh.choices_on_n_queries(m, singles, tune, test, ns=(0,))
    with pytest.raises(TypeError, match="n=10.0 must be an int"):
        sh.choices_on_n_queries(m, singles, tune, test, ns=(10.0,))
    with pytest.raises(ValueError, match="draws=0 must be an int between 1 and 100000"):
        sh.choices_on_n_queries(m, singles, tune, test, draws=0)
    with pytest.raises(ValueError, match=r"225 values in singles\['bm25'\] but 112 queries \(columns\) in per_candidate"):
        sh.choices_on_n_queries(m[:, :112], singles, tune[tune < 112], test[test < 112])
    with pytest.raises(ValueError, match=r"singles\['bm25'\] must be one nDCG@10 per query \(1-D\)"):
        sh.choices_on_n_queries(m, {**singles, "bm25": singles["bm25"][None]}, tune, test)
    with pytest.raises(ValueError, match=r"per_candidate must be a non-empty \(candidates x queries\) matrix"):
        sh.choices_on_n_queries(m[0], singles, tune, test)
    with pytest.raises(ValueError, match="share 1 queries"):
        sh.choices_on_n_queries(m, singles, tune, np.append(test, tune[0]))
    with pytest.raises(ValueError, match="tune_rows holds 225, outside 0..224"):
        sh.choices_on_n_queries(m, singles, np.append(tune, 225), test)
    with pytest.raises(ValueError, match="holds .* more than once"):
        sh.choices_on_n_queries(m, singles, np.append(tune, tune[0]), test)
    with pytest.raises(TypeError, match="not a mask"):
        sh.choices_on_n_queries(m, singles, np.isin(np.arange(225), tune), test)
    with pytest.raises(ValueError, match="would overflow the means"):
        sh.choices_on_n_queries(np.where(m == m.max(), 1e200, m), singles, tune, test)
    a, b = singles["dense"][test], singles["bm25"][test]
    with pytest.raises(ValueError, match="n=1 must be an int between 2 and 113"):
        sh.intervals_on_n_queries(a, b, ns=(1,))
    with pytest.raises(ValueError, match="113 values in a but 112 values in b"):
        sh.intervals_on_n_queries(a, b[:-1], ns=(10,))
    with pytest.raises(ValueError, match="draws=-1 must be an int between 1 and 100000"):
        sh.intervals_on_n_queries(a, b, ns=(10,), draws=-1)


def test_label_budget_figure(budget_data):
    d = budget_data
    results = sh.choices_on_n_queries(d["per_candidate"], d["singles"], d["tune"], d["test"], draws=20, seed=0)
    widths = sh.intervals_on_n_queries(d["singles"]["dense"][d["test"]], d["singles"]["bm25"][d["test"]],
                                       ns=(10, 113), draws=5, n_boot=500)
    rows = [r.summary() for r in results]
    fig = plots.label_budget_figure({"large": rows}, ("bm25", 0.36), [w.summary() for w in widths], sh.PUBLISHED_HALF_WIDTHS)
    again = plots.label_budget_figure({"large": rows}, ("bm25", 0.36), [w.summary() for w in widths], sh.PUBLISHED_HALF_WIDTHS)
    assert fig.to_json() == again.to_json()  # deterministic: the stored notebook compares it exactly
    assert fig.data[1].x == (10, 25, 50, 112) and fig.data[1].y[-1] == round(rows[-1]["mean"], 3)
    assert fig.data[2].y == (0.36, 0.36) and fig.data[-1].x == (50, 200) and fig.data[-1].y == (0.035, 0.018)
    assert len(plots.label_budget_figure({"large": rows}, ("bm25", 0.36)).data) == 3  # no interval panel
