"""Training data that never touches test queries: title pairs, judged pairs, distillation lists and their teachers."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..cache import digest
from ..datasets import Dataset
from ..validation import check_choice, check_int, check_texts

PAIR_KINDS = ("titles", "qrels")
TEACHERS = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Pairs:
    """Training examples: an anchor (a query, or a title standing in for one) and its positive document.

    Not called by the notebooks; used by title_pairs, qrels_pairs and distillation_examples, which return it, and train.

    For distillation, each example also has ``negatives`` (documents ranked below the positive by a
    teacher, never judged relevant to the query) and ``labels``: the teacher's scores of the positive and
    of each negative. ``collection``, ``query_ids`` (the judged queries behind the anchors, one per example)
    and ``split_seed`` say what the examples were built from; a trained model records them.
    """

    source: str
    anchors: list[str]
    positives: list[str]
    negatives: list[list[str]] | None = None
    labels: list[list[float]] | None = None
    positive_ids: list[str] | None = None  # the positives' document ids, when they come from a dataset
    negative_ids: list[list[str]] | None = None  # the negatives' document ids (distillation)
    collection: str | None = None
    query_ids: list[str] | None = None  # the query behind each anchor (judged pairs); None for titles
    split_seed: int | None = None  # the split_queries seed the query ids came from, when known

    def __post_init__(self) -> None:
        check_texts(self.anchors, "anchors")
        check_texts(self.positives, "positives")
        if len(self.anchors) != len(self.positives):
            raise ValueError(f"{len(self.anchors)} anchors but {len(self.positives)} positives; pass one of each per pair.")
        if not self.anchors:
            raise ValueError(f"{self.source}: no training pair; check the dataset (titles? judged queries?).")
        if (self.negatives is None) != (self.labels is None):
            raise ValueError("negatives and labels go together (distillation), or neither.")
        if self.negatives is not None:
            widths = {len(n) for n in self.negatives}
            if len(self.negatives) != len(self.anchors) or len(widths) != 1 or widths == {0}:
                raise ValueError("every example needs the same number (>= 1) of negatives.")
            if any(len(lab) != len(n) + 1 for lab, n in zip(self.labels, self.negatives)):
                raise ValueError("each example needs one teacher score for the positive and one per negative.")
        if self.query_ids is not None and len(self.query_ids) != len(self.anchors):
            raise ValueError(f"{len(self.query_ids)} query ids for {len(self.anchors)} anchors; give one per example.")

    def __len__(self) -> int:
        return len(self.anchors)

    def digest(self) -> str:
        """A digest of everything in the examples (part of a trained model's cache key)."""
        labels = [[round(x, 6) for x in row] for row in self.labels] if self.labels is not None else None
        texts = [t for i in range(len(self)) for t in (self.anchors[i], self.positives[i], *(self.negatives or [[]] * len(self))[i])]
        return digest("pairs", self.source, len(self), labels, texts=texts, size=16)

    def columns(self) -> dict[str, list]:
        """The examples as the trainer's columns (anchor, positive, negative_1..n, label)."""
        out: dict[str, list] = {"anchor": self.anchors, "positive": self.positives}
        if self.negatives is not None:
            for j in range(len(self.negatives[0])):
                out[f"negative_{j + 1}"] = [n[j] for n in self.negatives]
            out["label"] = self.labels
        return out

    def trained_on(self) -> dict:
        """What the examples were built from (recorded in a trained model's folder): collection, query ids, split seed."""
        return {"collection": self.collection, "source": self.source, "query_ids": sorted(set(self.query_ids or [])),
                "split_seed": self.split_seed}


def title_pairs(dataset: Dataset) -> Pairs:
    """Self-supervised pairs from a collection's own documents: title -> the rest of the document.

    Introduced in notebook 06 (section 1, "The loss, on one batch").

    The title plays a short query; the body is its relevant document. Documents without a title or a
    body are skipped. No query or judgment is used, so any collection with titles can be adapted.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}.")
    anchors, positives, ids = [], [], []
    for doc_id, title, text in zip(dataset.doc_ids, dataset.doc_titles or [""] * len(dataset.doc_ids), dataset.doc_texts):
        title = " ".join(title.split())
        body = " ".join(text.split())
        for prefix in (title + ". ", title):  # BEIR folders store "title. text"; Cranfield's text starts with its title
            if title and body.startswith(prefix):
                body = body[len(prefix):].lstrip(" .")
                break
        if title and body:
            anchors.append(title)
            positives.append(body)
            ids.append(doc_id)
    if not anchors:
        raise ValueError(f"{dataset.name!r} has no document with both a title and a body; title pairs need titles "
                         f"(BEIR's 'title' field). Use qrels pairs with judged queries instead (--pairs qrels on the command line).")
    return Pairs(f"{dataset.name}:titles", anchors, positives, positive_ids=ids, collection=dataset.name)


def qrels_pairs(dataset: Dataset, query_ids: Sequence[str], min_gain: int = 1, split_seed: int | None = None) -> Pairs:
    """Supervised pairs: (query, a document judged relevant to it, gain >= ``min_gain``) for the given queries only.

    Introduced in notebook 06 (section 5, "Distillation: a teacher, hard negatives, and two losses").

    Pass the *tuning* half of the queries (``split_queries``) and report on the other half; ``split_seed``
    (that split's seed) is recorded with the query ids in a model trained on these pairs.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(f"dataset must be a Dataset (from load_dataset), got {type(dataset).__name__}.")
    min_gain = check_int(min_gain, "min_gain", minimum=1)
    known = set(dataset.query_ids)
    unknown = [q for q in query_ids if q not in known]
    if unknown:
        raise ValueError(f"query_ids {unknown[:3]} are not queries of {dataset.name!r}.")
    anchors, positives, ids, qids = [], [], [], []
    position = {d: i for i, d in enumerate(dataset.doc_ids)}
    for q in query_ids:
        for d, g in sorted(dataset.qrels.get(q, {}).items()):
            if g >= min_gain and dataset.doc_texts[position[d]].strip():
                anchors.append(dataset.query(q))
                positives.append(dataset.doc_texts[position[d]])
                ids.append(d)
                qids.append(q)
    if not anchors:
        raise ValueError(f"no judged pair with gain >= {min_gain} among the {len(query_ids)} queries given; "
                         f"pass tuning queries that have relevant documents.")
    return Pairs(f"{dataset.name}:qrels:{digest(texts=query_ids, size=8)}", anchors, positives, positive_ids=ids,
                 collection=dataset.name, query_ids=qids, split_seed=split_seed)


MAX_NEGATIVES = 16


def check_negatives(negatives: object, name: str = "negatives") -> int:
    """The hard negatives per distillation example: an int from 1 to ``MAX_NEGATIVES`` (checked before any teacher runs)."""
    return check_int(negatives, name, minimum=1, maximum=MAX_NEGATIVES,
                     hint="Each example is a query, its positive and this many negatives; 1 to 8 is usual.")


def distillation_examples(dataset: Dataset, pairs: Pairs, teacher_scores: np.ndarray, negatives: int = 3,
                          candidates: int = 30, seed: int = 42) -> Pairs:
    """Distillation examples: each anchor, its positive, hard negatives, and the teacher's score of each.

    The negatives of an example are drawn (seeded, without replacement) from the ``candidates``
    documents that the teacher ranks right *below* the positive, after removing every document judged
    relevant to that query (gain > 0; for title pairs, the title's own document). So a negative is never
    a judged-relevant document and the teacher always scores it at most as high as the positive: a
    hard negative is a document the teacher finds related, but less so. Documents the teacher ranks
    *above* the positive without a judgment are left out: they may be relevant and unjudged. An example
    whose positive has fewer than ``negatives`` such documents below it is dropped, with a warning that
    counts and names them.

    Introduced in notebook 06 (section 5, "Distillation: a teacher, hard negatives, and two losses").

    Args:
        pairs: anchors and their positive documents (from :func:`title_pairs` or :func:`qrels_pairs`).
        teacher_scores: a (anchors x documents) matrix from a stronger ranker (e.g. the recommended
            hybrid), in ``dataset.doc_ids`` order.
    """
    negatives = check_negatives(negatives)
    candidates = check_int(candidates, "candidates", minimum=negatives)
    scores = np.asarray(teacher_scores, dtype=np.float64)
    if scores.shape != (len(pairs), len(dataset.doc_ids)):
        raise ValueError(f"teacher_scores has shape {scores.shape}, expected ({len(pairs)}, {len(dataset.doc_ids)}): "
                         f"one row per anchor, one column per document.")
    if pairs.positive_ids is None:
        raise ValueError("pairs must know their positives' document ids (from title_pairs or qrels_pairs).")
    position = {d: i for i, d in enumerate(dataset.doc_ids)}
    empty = {i for i, t in enumerate(dataset.doc_texts) if not t.strip()}
    rng = np.random.default_rng(seed)
    keep, negs, neg_ids, labels = [], [], [], []
    for i, doc_id in enumerate(pairs.positive_ids):
        own = position[doc_id]
        query = pairs.query_ids[i] if pairs.query_ids is not None else None
        excluded = {own, *empty, *(position[d] for d, g in dataset.qrels.get(query, {}).items() if g > 0 and d in position)}
        order = np.argsort(-scores[i], kind="stable")
        below = order[int(np.flatnonzero(order == own)[0]) + 1:]
        window = [int(j) for j in below if int(j) not in excluded][:candidates]
        if len(window) < negatives:
            continue
        chosen = [window[c] for c in sorted(rng.choice(len(window), size=negatives, replace=False).tolist())]
        keep.append(i)
        negs.append([dataset.doc_texts[j] for j in chosen])
        neg_ids.append([dataset.doc_ids[j] for j in chosen])
        labels.append([float(scores[i, own])] + [float(scores[i, j]) for j in chosen])
    if not keep:
        raise ValueError(f"no example has {negatives} unjudged documents below its positive in the teacher's ranking; "
                         f"ask for fewer negatives.")
    if len(keep) < len(pairs):
        dropped = sorted(set(range(len(pairs))) - set(keep))
        named = [f"{pairs.query_ids[i] if pairs.query_ids is not None else i}->{pairs.positive_ids[i]}" for i in dropped[:5]]
        warnings.warn(f"{len(dropped)} of {len(pairs)} examples dropped (anchor->positive: {', '.join(named)}"
                      f"{', ...' if len(dropped) > 5 else ''}): the teacher ranks their positive so low that fewer than "
                      f"{negatives} unjudged documents lie below it. Ask for fewer negatives to keep them.", stacklevel=2)
    pick = lambda values: None if values is None else [values[i] for i in keep]  # noqa: E731
    return Pairs(f"{pairs.source}:distilled-below:{negatives}of{candidates}", pick(pairs.anchors), pick(pairs.positives),
                 negs, labels, pick(pairs.positive_ids), neg_ids, pairs.collection, pick(pairs.query_ids), pairs.split_seed)


def teacher_scores(dataset: Dataset, anchors: Sequence[str], teacher: str = "hybrid") -> np.ndarray:
    """(anchors x documents) scores of a teacher over ``dataset``'s documents, in [0, 1] per anchor.

    Introduced in notebook 06 (section 5, "Distillation: a teacher, hard negatives, and two losses").

    ``hybrid`` is the course's recommended hybrid (``fusion.RECOMMENDED_HYBRID``, built by
    :func:`~splade_helpers.retrievers.build_retrievers`: a weighted sum of min-max scores, in [0, 1]
    already), ``dense`` the MiniLM cosine and ``bm25`` BM25, min-max normalised.
    """
    from ..fusion import normalize
    from ..retrievers import build_retrievers

    teacher = check_choice(teacher, "teacher", TEACHERS)
    anchors = check_texts(anchors, "anchors")
    retriever = build_retrievers([teacher])[teacher].index(dataset.doc_ids, dataset.doc_texts)
    scores = retriever.scores(anchors)
    return scores if teacher == "hybrid" else normalize(scores, "minmax")
