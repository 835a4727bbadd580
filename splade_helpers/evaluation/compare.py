"""Compare retrievers on a test collection: index, search every judged query, measure (notebook 00).

:func:`compare_retrievers` is what ``python -m splade_helpers.evaluation`` runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..datasets import Dataset
from ..fusion import ENGINE_HYBRID, RECOMMENDED_HYBRID
from ..retrievers import RETRIEVERS, HybridRetriever, Retriever, build_retrievers, retriever_names
from ..training_record import trained_on, trained_queries
from ..validation import check_bool, check_int, check_unique_ids
from .metrics import MEASURES, evaluate_run

if TYPE_CHECKING:
    from ..qdrant import QdrantStore

BACKENDS = ("memory", "qdrant", "edge", "local", "server")


def hybrid_label(where: str) -> str:
    """The row name of a hybrid in an engine comparison: ``hybrid (engine dbsf)`` or ``hybrid (memory minmax)``."""
    fusion = ENGINE_HYBRID["fusion"] if where == "engine" else RECOMMENDED_HYBRID["fusion"]
    return f"hybrid ({where} {fusion})"


def _memory_makers(splade_model: str | None = None, splade=None, dense=None, bm25: dict | None = None) -> dict:
    """In-memory retriever makers; SPLADE from ``splade`` (an encoder), else ``splade_model``, else the default."""
    from ..inference_free import load_sparse_encoder
    from ..retrievers import BM25Retriever, DenseRetriever, SpladeRetriever

    def make_splade() -> SpladeRetriever:  # load_sparse_encoder reads $SPLADE_MODEL, an inference-free folder included
        return SpladeRetriever(splade or load_sparse_encoder(splade_model))

    return {"bm25": lambda: BM25Retriever(**(bm25 or {})), "splade": make_splade, "dense": lambda: DenseRetriever(dense)}


def _store(backend: str | QdrantStore, splade_model: str | None) -> tuple[QdrantStore, bool]:
    """The store to evaluate and whether this call owns it (made here: loaded and closed here)."""
    from ..qdrant import QdrantStore, open_store

    if isinstance(backend, QdrantStore):
        return backend, False
    if not isinstance(backend, str) or backend not in BACKENDS:
        kind = TypeError if not isinstance(backend, str) else ValueError
        raise kind(f"backend={backend!r} is not supported; use one of {list(BACKENDS)} or a QdrantStore.")
    from ..inference_free import load_sparse_encoder

    engine = None if backend == "qdrant" else backend
    return open_store(None, "evaluate", engine=engine, splade=load_sparse_encoder(splade_model)), True


def _row(name: str, retriever: Retriever, run: dict, dataset: Dataset, qids: list[str]) -> dict:
    means, per_query = evaluate_run(run, dataset.qrels, qids)
    return {"retriever": name, **means, "encode_s": retriever.encode_seconds, "queries": len(qids), "per_query": per_query}


def compare_retrievers(
    dataset: Dataset,
    names: Sequence[str] | str = RETRIEVERS,
    k: int = 100,
    cache: bool = True,
    backend: str | QdrantStore = "memory",
    splade_model: str | None = None,
    query_ids: Sequence[str] | None = None,
    include_trained_queries: bool = False,
) -> list[dict]:
    """Index ``dataset`` with each retriever, search every judged query (or ``query_ids``), and measure (notebook 00).

    Introduced in notebook 00 (section 5, "The Cranfield table").

    Args:
        backend: ``"memory"`` (numpy / scipy here: each retriever scores every document, the hybrid fuses
            them with ``fusion.RECOMMENDED_HYBRID``); or a Qdrant engine, searched as a deployment would:
            ``"qdrant"`` (a new collection on the default engine: a Qdrant server if ``$QDRANT_URL`` is set,
            else Qdrant Edge in a temporary folder), ``"edge"``, ``"local"`` (qdrant-client's pure-Python
            local mode), ``"server"``, or a ``QdrantStore`` already holding ``dataset``'s documents (searched
            as it is). On an engine each vector's top ``k`` comes from the engine's own search, and
            ``hybrid`` gives two rows: :func:`hybrid_label` ``("engine")``, the fusion the engine runs
            (``fusion.ENGINE_HYBRID``), and ``("memory")``, the recommended hybrid computed in memory from the
            same encoders, for comparison.
        splade_model: a hub id or folder for SPLADE (default: ``$SPLADE_MODEL`` or the bundled model).
        query_ids: the judged queries to search and average over (default: all of them), e.g. one half
            of ``split_queries`` to evaluate a model on queries it did not train on.
        include_trained_queries: a SPLADE model trained by ``train`` records its training queries; by default
            asking for metrics over any of them is refused (they measure memory, not retrieval). ``True``
            reports them anyway, and the rows that use SPLADE carry ``trained_queries`` (those query ids).
    Returns:
        one dict per row: ``retriever``, the metrics, ``encode_s``, ``queries``, and ``per_query``
        (query id -> metrics).
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}.")
    k = check_int(k, "k", minimum=1)
    cache = check_bool(cache, "cache")
    qids = dataset.judged_query_ids
    if not qids:
        raise ValueError(f"{dataset.name!r} has no judged query (no query with a relevant document); "
                         f"nothing can be measured. Check its qrels.")
    if query_ids is not None:
        qids = _judged_subset(dataset, query_ids)
    names = retriever_names(names)
    include_trained_queries = check_bool(include_trained_queries, "include_trained_queries")
    leaked = _trained_queries(dataset, names, qids, splade_model, backend, include_trained_queries)
    texts = [dataset.query(q) for q in qids]
    if isinstance(backend, str) and backend == "memory":
        rows = _in_memory(dataset, names, qids, texts, k, cache, _memory_makers(splade_model))
    else:
        store, owned = _store(backend, splade_model)
        try:
            rows = _on_engine(dataset, names, qids, texts, k, cache, store, owned)
        finally:
            if owned:
                store.close()
    for row in rows:  # the label travels with the numbers it qualifies
        if leaked and ("splade" in row["retriever"] or "hybrid" in row["retriever"]):
            row["trained_queries"] = leaked
    return rows


def _trained_queries(dataset: Dataset, names: list[str], qids: list[str], splade_model: str | None, backend,
                     include: bool) -> list[str]:
    """The queries among ``qids`` that trained the SPLADE model these rows use; refused unless ``include``."""
    from ..inference_free import sparse_model_source
    from ..integrity import RECORD_FILE

    if not {"splade", "hybrid"} & set(names):
        return []
    if isinstance(backend, str):
        source = sparse_model_source(splade_model)
    else:  # a store's own encoder; anything else is not a store, and _store refuses it next
        source = getattr(getattr(backend, "splade", None), "source", None)
    if source is None or not (source.path / RECORD_FILE).is_file():  # not made by train(): no record to check
        return []

    leaked = trained_queries(trained_on(source.path), dataset.name, qids)
    if leaked and not include:
        raise ValueError(f"{len(leaked)} of the {len(qids)} queries asked for trained the SPLADE model {source.name!r}: "
                         f"its metrics over them measure memory, not retrieval. Pass query_ids=the half it never saw "
                         f"(its folder's splade_helpers_training.json names the split seed), or include_trained_queries=True to "
                         f"report them anyway, labelled.")
    return leaked


def _judged_subset(dataset: Dataset, query_ids: Sequence[str]) -> list[str]:
    """``query_ids`` checked: unique, at least one, each a judged query of ``dataset``."""
    query_ids = check_unique_ids(query_ids, "query_ids")
    judged = set(dataset.judged_query_ids)
    unknown = [q for q in query_ids if q not in judged]
    if unknown or not query_ids:
        raise ValueError(f"query_ids must be judged queries of {dataset.name!r} (at least one); {unknown[:3]} are not. "
                         f"Use dataset.judged_query_ids or one half of split_queries(dataset.judged_query_ids).")
    return query_ids


def _uncached(retrievers, cache: bool) -> None:
    """``cache=False``: every encoder of these retrievers (a hybrid's components included) encodes afresh."""
    if cache:
        return
    for r in retrievers:
        for part in getattr(r, "retrievers", [r]):
            if getattr(part, "encoder", None) is not None:
                part.encoder.cache = False


def _in_memory(dataset: Dataset, names, qids: list[str], texts: list[str], k: int, cache: bool, makers: dict,
               label=lambda name: name) -> list[dict]:
    """Every retriever scores every document; the hybrid reuses its components' score matrices."""
    retrievers = build_retrievers(names, makers)
    _uncached(retrievers.values(), cache)
    score_of: dict[str, np.ndarray] = {}
    rows = []
    for name, r in retrievers.items():
        r.index(dataset.doc_ids, dataset.doc_texts)
        if isinstance(r, HybridRetriever):
            for part in r.retrievers:
                if part.name not in score_of:
                    score_of[part.name] = part.scores(texts)
            scores = r.fuse([score_of[p.name] for p in r.retrievers])
        else:
            scores = score_of[name] = r.scores(texts)
        rows.append(_row(label(name), r, dict(zip(qids, r.rank(scores, k))), dataset, qids))
    return rows


def _on_engine(dataset: Dataset, names, qids: list[str], texts: list[str], k: int, cache: bool,
               store: QdrantStore, owned: bool) -> list[dict]:
    """Each vector's top k and the fused hybrid from the engine; the recommended hybrid in memory beside it."""
    from ..qdrant import qdrant_retrievers

    engine = qdrant_retrievers(store, reindex=owned)
    if not cache:
        store.splade.cache = store.dense.cache = False
    rows = []
    for name in names:
        r = engine[name]
        r.index(dataset.doc_ids, dataset.doc_texts)
        rows.append(_row(hybrid_label("engine") if name == "hybrid" else name, r, dict(zip(qids, r.search(texts, k))),
                         dataset, qids))
        if name == "hybrid":
            makers = _memory_makers(splade=store.splade, dense=store.dense, bm25={"k1": store.bm25.k1, "b": store.bm25.b})
            rows += _in_memory(dataset, ["hybrid"], qids, texts, k, cache, makers, lambda _: hybrid_label("memory"))
    return rows


def format_table(rows: list[dict], show_time: bool = True) -> str:
    """A plain-text table of :func:`compare_retrievers` rows, metrics at 3 decimals.

    Introduced in notebook 00 (section 5, "The Cranfield table").
    """
    needed = {"retriever", *MEASURES, *(["encode_s"] if show_time else [])}
    if not isinstance(rows, (list, tuple)):
        raise TypeError(f"rows must be the list compare_retrievers returns, got {type(rows).__name__}.")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not needed <= set(row):
            raise TypeError(f"rows[{i}] must be a row of compare_retrievers (a dict with {sorted(needed)}), got "
                            f"{str(row)[:60]!r}; pass compare_retrievers(...)'s list.")
    width = max([10, *(len(r["retriever"]) + 2 for r in rows)])
    head = f"{'retriever':<{width}}" + "".join(f"{m:>9}" for m in MEASURES) + (f"{'encode s':>10}" if show_time else "")
    lines = [head, "-" * len(head)]
    for row in rows:
        line = f"{row['retriever']:<{width}}" + "".join(f"{row[m]:>9.3f}" for m in MEASURES)
        lines.append(line + (f"{row['encode_s']:>10.1f}" if show_time else ""))
    return "\n".join(lines)
