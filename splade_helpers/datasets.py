"""Test collections: Cranfield (through ir_datasets), any BEIR folder, and the course's own corpus.

Every loader returns a :class:`Dataset` whose ``qrels`` hold nDCG *gains* (0 = not relevant).

Cranfield's relevance codes (``cranqrel.readme``) run the other way round from gains: code 1 is
"a complete answer", 4 is "of minimum interest", -1 "of no interest". We map code c in 1..4 to
gain ``5 - c`` (1 -> 4, 2 -> 3, 3 -> 2, 4 -> 1) and -1 to 0. Query ids in ``cran.qry`` skip
numbers (001, 002, 004, ...) while ``cranqrel`` numbers the queries 1..225 in file order;
ir_datasets renumbers the queries in file order, which is what we use (tested).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .validation import check_unique_ids

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
MINI = "mini"
CRANFIELD = "cranfield"
# files of the Cranfield tarball -> names ir_datasets caches them under
_CRANFIELD_FILES = {"cran.all.1400": "docs.txt", "cran.qry": "queries.txt", "cranqrel": "qrels.txt"}


@dataclass(frozen=True)
class Dataset:
    """A test collection held in memory, documents and queries in a fixed order."""

    name: str
    doc_ids: list[str]
    doc_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: gain}, gain 0 = judged not relevant
    doc_titles: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_unique_ids(self.doc_ids, "document ids")
        check_unique_ids(self.query_ids, "query ids")
        if len(self.doc_ids) != len(self.doc_texts):
            raise ValueError(f"{len(self.doc_ids)} document ids but {len(self.doc_texts)} texts.")
        if len(self.query_ids) != len(self.query_texts):
            raise ValueError(f"{len(self.query_ids)} query ids but {len(self.query_texts)} texts.")

    def __repr__(self) -> str:
        judged = sum(len(v) for v in self.qrels.values())
        return (
            f"Dataset({self.name!r}: {len(self.doc_ids):,} documents, {len(self.query_ids):,} queries, "
            f"{judged:,} judgments)"
        )

    @property
    def judged_query_ids(self) -> list[str]:
        """Queries with at least one relevant document, in dataset order (the ones we evaluate)."""
        return [q for q in self.query_ids if any(g > 0 for g in self.qrels.get(q, {}).values())]

    def doc(self, doc_id: str) -> str:
        """The text of one document."""
        try:
            return self.doc_texts[self.doc_ids.index(doc_id)]
        except ValueError:
            raise KeyError(f"document {doc_id!r} is not in {self.name!r}.") from None

    def query(self, query_id: str) -> str:
        """The text of one query."""
        try:
            return self.query_texts[self.query_ids.index(query_id)]
        except ValueError:
            raise KeyError(f"query {query_id!r} is not in {self.name!r}.") from None


def cranfield_gain(code: int) -> int:
    """nDCG gain of a Cranfield relevance code: 1 (complete answer) -> 4 ... 4 -> 1; -1 -> 0."""
    if code in (1, 2, 3, 4):
        return 5 - code
    if code in (-1, 5):
        return 0
    raise ValueError(f"unknown Cranfield relevance code {code!r}; cranqrel.readme defines 1-4 and -1.")


def available_datasets() -> list[str]:
    """Names :func:`load_dataset` accepts besides a BEIR folder path."""
    return [CRANFIELD, MINI]


def load_dataset(name_or_path: str | os.PathLike) -> Dataset:
    """Load ``"cranfield"``, ``"mini"`` (the course's own corpus) or a BEIR-format folder."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"dataset must be a name or a folder path, got {type(name_or_path).__name__}.")
    name = os.fspath(name_or_path)
    if name == CRANFIELD:
        return load_cranfield()
    if name == MINI:
        return load_beir(DATA_DIR / "mini", name=MINI)
    path = Path(name).expanduser()
    if path.is_dir():
        return load_beir(path)
    raise ValueError(
        f"unknown dataset {name!r}: use one of {available_datasets()} or the path of a BEIR-format "
        f"folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)."
    )


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _seed_cranfield_cache() -> None:
    """Copy the raw Cranfield files from ``$CRANFIELD_DIR`` into ir_datasets' cache (no network)."""
    source = os.environ.get("CRANFIELD_DIR")
    if not source:
        return
    import ir_datasets

    src = Path(source).expanduser()
    missing = [f for f in _CRANFIELD_FILES if not (src / f).is_file()]
    if missing:
        raise ValueError(f"CRANFIELD_DIR={source!r} lacks {missing}; it must hold {sorted(_CRANFIELD_FILES)}.")
    target = Path(ir_datasets.util.home_path()) / CRANFIELD
    target.mkdir(parents=True, exist_ok=True)
    for raw, cached in _CRANFIELD_FILES.items():
        if not (target / cached).exists():
            shutil.copyfile(src / raw, target / cached)


def load_cranfield() -> Dataset:
    """Cranfield 1400 through ir_datasets (downloaded on first use, or from ``$CRANFIELD_DIR``)."""
    _seed_cranfield_cache()
    import ir_datasets

    with _quiet("ir_datasets"):
        ds = ir_datasets.load(CRANFIELD)
        try:
            docs = list(ds.docs_iter())
        except RuntimeError as exc:  # ir_datasets: "All download sources failed"
            raise ValueError(
                f"Cranfield is not in ir_datasets' cache ({ir_datasets.util.home_path()}) and could not "
                f"be downloaded ({str(exc)[:80]}...). Connect once to the internet, or set "
                f"CRANFIELD_DIR to a folder holding {sorted(_CRANFIELD_FILES)}."
            ) from None
        queries = list(ds.queries_iter())
        qrels: dict[str, dict[str, int]] = {}
        for q in ds.qrels_iter():
            qrels.setdefault(q.query_id, {})[q.doc_id] = cranfield_gain(q.relevance)
    return Dataset(
        name=CRANFIELD,
        doc_ids=[d.doc_id for d in docs],
        # the abstract (.W) starts with the title already, so the text alone is the document
        doc_texts=[d.text for d in docs],
        doc_titles=[d.title for d in docs],
        query_ids=[q.query_id for q in queries],
        query_texts=[q.text for q in queries],
        qrels=qrels,
    )


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield line_no, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{line_no} is not valid JSON ({exc.msg}).") from None


def load_beir(folder: str | os.PathLike, name: str | None = None, split: str = "test") -> Dataset:
    """Load a BEIR-format folder: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    Only queries that appear in the qrels file are kept (BEIR's convention). Qrels scores are used
    as gains as they are (BEIR stores graded relevance as gains already).
    """
    folder = Path(folder).expanduser()
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    missing = [str(p.relative_to(folder)) for p in needed if not p.is_file()]
    if missing:
        raise ValueError(f"{folder} is not a BEIR folder: {missing} missing (expected corpus.jsonl, queries.jsonl, qrels/{split}.tsv).")
    doc_ids, doc_texts, doc_titles, where = [], [], [], {}
    for line_no, d in _read_jsonl(needed[0]):
        doc_id = str(d["_id"])
        if doc_id in where:
            raise ValueError(
                f"duplicate document id {doc_id!r} in {needed[0]} (lines {where[doc_id]} and {line_no}); "
                f"ids must be unique: fix the file."
            )
        where[doc_id] = line_no
        title, text = d.get("title") or "", d.get("text") or ""
        doc_ids.append(doc_id)
        doc_titles.append(title)
        doc_texts.append(f"{title}. {text}" if title else text)
    qrels: dict[str, dict[str, int]] = {}
    with needed[2].open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if not row or row[0] == "query-id":
                continue
            qid, did, score = row[0], row[1], int(row[-1])
            if did not in where:
                raise ValueError(f"{needed[2]} judges document {did!r}, which is not in corpus.jsonl.")
            qrels.setdefault(qid, {})[did] = score
    query_ids, query_texts = [], []
    for _, q in _read_jsonl(needed[1]):
        if str(q["_id"]) in qrels:
            query_ids.append(str(q["_id"]))
            query_texts.append(q["text"])
    return Dataset(name or folder.name, doc_ids, doc_texts, query_ids, query_texts, qrels, doc_titles)
