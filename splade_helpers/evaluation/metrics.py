"""Metrics through ir_measures: nDCG@10 (graded), R@100 and MRR@10 (gain > 0 is relevant).

A run is evaluated exactly in the order we show it: scores are replaced by rank-derived values
before ir_measures sees them (trec_eval would otherwise re-break ties by document id), and a
judged query the run has no result for counts as 0, not as missing. A list whose scores rise
somewhere is refused (it is not best first), as is a query id that the qrels do not know.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import ir_measures
from ir_measures import RR, R, nDCG

from ..validation import check_number, check_unique_ids

#: Not called by the notebooks; used by evaluate_run and format_table.
MEASURES = {"nDCG@10": nDCG @ 10, "R@100": R @ 100, "MRR@10": RR @ 10}

Run = Mapping[str, Sequence[tuple[str, float]]]


def evaluate_run(
    run: Run,
    qrels: Mapping[str, Mapping[str, int]],
    query_ids: Sequence[str] | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query metrics of a ranked run.

    Introduced in notebook 00 (section 4, "How we measure a ranking").

    Args:
        run: query id -> ranked ``(doc_id, score)`` list (best first).
        qrels: query id -> {doc id: gain}.
        query_ids: the queries to average over; default every query with a relevant document.
    Returns:
        ``(means, per_query)`` with keys ``nDCG@10``, ``R@100``, ``MRR@10``.
    """
    if not isinstance(run, Mapping) or not isinstance(qrels, Mapping):
        raise TypeError("run and qrels must be mappings: {query id: [(doc id, score), ...]} and {query id: {doc id: gain}}.")
    for q, docs in qrels.items():
        if not isinstance(q, str) or not isinstance(docs, Mapping):
            raise TypeError(f"qrels key {q!r} must be a query id (str) mapping to {{doc id: gain}}, got {type(q).__name__} "
                            f"-> {type(docs).__name__}; convert the ids with str().")
        for d, g in docs.items():
            if not isinstance(d, str):
                raise TypeError(f"qrels[{q!r}] has the document id {d!r} ({type(d).__name__}); ids are strings, as in the "
                                f"run: convert them with str().")
            if isinstance(g, bool) or not isinstance(g, numbers.Real) or not math.isfinite(g) or g != int(g):
                raise ValueError(f"qrels[{q!r}][{d!r}] = {g!r} is not a whole number; nDCG here uses integer gains (as "
                                 f"trec_eval). Scale fractional gains to integers (e.g. 0.5 -> 1, 1 -> 2).")
            if not -(2**31) <= g < 2**31:
                raise ValueError(f"qrels[{q!r}][{d!r}] = {g!r} is beyond 32-bit integers, which trec_eval's gains are "
                                 f"(it would wrap around); use small graded gains such as 0..4.")
    if query_ids is None:
        query_ids = [q for q, docs in qrels.items() if any(g > 0 for g in docs.values())]
    query_ids = check_unique_ids(query_ids, "query ids")
    if not query_ids:
        raise ValueError("no judged query to evaluate (no query has a relevant document in qrels); a mean over no "
                         "query would be a meaningless 0. Check the qrels and the query ids.")
    unknown = [q for q in query_ids if q not in qrels]
    if unknown:
        raise ValueError(f"{len(unknown)} query id(s) not in the qrels, e.g. {unknown[:3]}: each would count as 0. Check "
                         f"for a typo, or leave out the queries that have no judgments.")
    wanted = set(query_ids)
    irm_qrels = [
        ir_measures.Qrel(q, d, int(g)) for q, docs in qrels.items() if q in wanted for d, g in docs.items()
    ]
    irm_run = []
    for q, ranked in run.items():
        if not isinstance(q, str):  # before the filter below: an int key would otherwise be skipped as unwanted
            raise TypeError(f"run key {q!r} ({type(q).__name__}) must be a query id (str), as in the qrels; convert the "
                            f"ids with str().")
        if q not in wanted:
            continue
        if isinstance(ranked, (str, bytes)) or not isinstance(ranked, Sequence):
            raise TypeError(f"run[{q!r}] must be a ranked list of (doc id, score) pairs keyed by a str query id.")
        seen: set[str] = set()
        previous = math.inf
        for i, item in enumerate(ranked):
            d = item[0] if isinstance(item, (tuple, list)) and len(item) == 2 else None
            if not isinstance(d, str):
                raise TypeError(f"run[{q!r}][{i}] = {item!r:.60} must be a (doc id, score) pair with a str doc id, as "
                                f"in the qrels; convert the ids with str().")
            if d in seen:
                raise ValueError(f"run for query {q!r} lists document {d!r} twice; a ranking holds each document once.")
            seen.add(d)
            score = check_number(item[1], f"run[{q!r}][{i}] score")
            if score > previous:
                raise ValueError(f"run[{q!r}] is not best first: position {i} scores {score:g}, above position {i - 1}'s "
                                 f"{previous:g}. The run is evaluated in list order; sort each list by score, highest first.")
            previous = score
            irm_run.append(ir_measures.ScoredDoc(q, d, float(len(ranked) - i)))
    per_query = {q: {name: 0.0 for name in MEASURES} for q in query_ids}
    names = {m: name for name, m in MEASURES.items()}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), irm_qrels, irm_run):
        per_query[metric.query_id][names[metric.measure]] = float(metric.value)
    n = max(len(query_ids), 1)
    means = {name: sum(pq[name] for pq in per_query.values()) / n for name in MEASURES}
    return means, per_query
