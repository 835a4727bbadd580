"""Test collections: Cranfield (through ir_datasets), any BEIR folder, and the course's own corpus.

Every loader returns a :class:`Dataset` whose ``qrels`` hold nDCG *gains* (0 = not relevant).

Cranfield's relevance codes (``cranqrel.readme``) run the other way round from gains: code 1 is
"a complete answer", 4 is "of minimum interest", -1 "of no interest". We map code c in 1..4 to
gain ``5 - c`` (1 -> 4, 2 -> 3, 3 -> 2, 4 -> 1) and -1 to 0. Query ids in ``cran.qry`` skip
numbers (001, 002, 004, ...) while ``cranqrel`` numbers the queries 1..225 in file order;
ir_datasets renumbers the queries in file order, which is what we use (tested).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .validation import check_int, check_texts, check_unique_ids

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
MINI = "mini"
CRANFIELD = "cranfield"
# files of the Cranfield tarball -> names ir_datasets caches them under
_CRANFIELD_FILES = {"cran.all.1400": "docs.txt", "cran.qry": "queries.txt", "cranqrel": "qrels.txt"}
# SHA-256 of the official files (cran.tar.gz, http://ir.dcs.gla.ac.uk/resources/test_collections/cran/,
# whose MD5 ir_datasets checks when it downloads it)
_CRANFIELD_SHA256 = {
    "cran.all.1400": "fbb8935a93263ab6c9fadefb507fd7cd5e101e7fbeb31c12e6bff6dd501315e8",
    "cran.qry": "99578ceb88941ef89c14faf7c63c23776a376d8fba319b990f01d0c601d8b03f",
    "cranqrel": "a90f56082cd44db70bf2c21ebca39a1a34e37c82ccb5ddf1bcc64f18795234c7",
}
CRANFIELD_SIZES = {"documents": 1400, "queries": 225, "judgments": 1837}
_CRANFIELD_SOURCE = "cran.tar.gz from http://ir.dcs.gla.ac.uk/resources/test_collections/cran/"


def _check_qrels(qrels: object, doc_ids: set[str]) -> None:
    """``{query id: {doc id: gain}}`` with integer gains (<= 0: judged not relevant), judged documents in the corpus."""
    if not isinstance(qrels, dict):
        raise TypeError(f"qrels must be a dict {{query id: {{doc id: gain}}}}, got {type(qrels).__name__}.")
    for qid, judged in qrels.items():
        if not isinstance(judged, dict):
            raise TypeError(f"qrels[{qid!r}] must be a dict {{doc id: gain}}, got {type(judged).__name__}.")
        for did, gain in judged.items():
            if did not in doc_ids:
                raise ValueError(f"qrels judge document {did!r} for query {qid!r}, and the corpus has no such document; "
                                 f"drop the judgment or add the document.")
            check_int(gain, f"qrels[{qid!r}][{did!r}]", hint="Gains are integers (0 or less = judged not relevant).")


@dataclass(frozen=True)
class Dataset:
    """A test collection held in memory, documents and queries in a fixed order.

    Not called by the notebooks; used by load_dataset, which returns it.
    """

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
        check_texts(self.doc_texts, "document texts")
        check_texts(self.query_texts, "query texts")
        if self.doc_titles and len(check_texts(self.doc_titles, "document titles")) != len(self.doc_ids):
            raise ValueError(f"{len(self.doc_ids)} documents but {len(self.doc_titles)} titles; give one per document, or none.")
        _check_qrels(self.qrels, set(self.doc_ids))

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
    """nDCG gain of a Cranfield relevance code: 1 (complete answer) -> 4 ... 4 -> 1; -1 -> 0.

    Introduced in notebook 00 (section 2, "The data is found").
    """
    code = check_int(code, "code", hint="cranqrel.readme defines the relevance codes 1-4 and -1.")
    if code in (1, 2, 3, 4):
        return 5 - code
    if code in (-1, 5):
        return 0
    raise ValueError(f"unknown Cranfield relevance code {code!r}; cranqrel.readme defines 1-4 and -1.")


def available_datasets() -> list[str]:
    """Names :func:`load_dataset` accepts besides a BEIR folder path.

    Not called by the notebooks; used by the commands (python -m splade_helpers.evaluation, .training, .qdrant).
    """
    return [CRANFIELD, MINI]


def load_dataset(name_or_path: str | os.PathLike) -> Dataset:
    """Load ``"cranfield"``, ``"mini"`` (the course's own corpus) or a BEIR-format folder.

    Introduced in notebook 00 (section "The reference article").
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"dataset must be a name or a folder path, got {type(name_or_path).__name__}.")
    name = os.fspath(name_or_path)
    if not name.strip():
        raise ValueError(f"dataset={name!r} is empty; use one of {available_datasets()} or a BEIR folder's path.")
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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cranfield_home() -> Path:
    import ir_datasets

    return Path(ir_datasets.util.home_path()) / CRANFIELD


def _seed_cranfield_cache() -> None:
    """Copy the raw Cranfield files from ``$CRANFIELD_DIR`` into ir_datasets' cache (no network).

    Each file must be the official one (its SHA-256); a cached copy that differs from it (an earlier
    damaged copy, say) is replaced. Copies are atomic: a crash never leaves half a file behind.
    """
    source = os.environ.get("CRANFIELD_DIR")
    if not source:
        return
    src = Path(source).expanduser()
    missing = [f for f in _CRANFIELD_FILES if not (src / f).is_file()]
    if missing:
        raise ValueError(f"CRANFIELD_DIR={source!r} lacks {missing}; it must hold {sorted(_CRANFIELD_FILES)}.")
    for raw in _CRANFIELD_FILES:
        if _sha256(src / raw) != _CRANFIELD_SHA256[raw]:
            raise ValueError(
                f"CRANFIELD_DIR={source!r}: {raw} is not the official file (its SHA-256 differs: truncated, edited or "
                f"another version). Restore it from {_CRANFIELD_SOURCE}, or unset CRANFIELD_DIR to let ir_datasets "
                f"download Cranfield.")
    target = _cranfield_home()
    target.mkdir(parents=True, exist_ok=True)
    for raw, cached in _CRANFIELD_FILES.items():
        if not (target / cached).is_file() or _sha256(target / cached) != _CRANFIELD_SHA256[raw]:
            fd, tmp = tempfile.mkstemp(dir=target, prefix=cached, suffix=".tmp")
            os.close(fd)
            try:
                shutil.copyfile(src / raw, tmp)
                os.replace(tmp, target / cached)
            finally:
                Path(tmp).unlink(missing_ok=True)


def load_cranfield() -> Dataset:
    """Cranfield 1400 through ir_datasets (downloaded on first use, or from ``$CRANFIELD_DIR``).

    Not called by the notebooks; used by load_dataset("cranfield").

    What is loaded is checked (1,400 documents, 225 queries, 1,837 judgments): a damaged copy is
    refused with the file to fix, never used. A cache folder that cannot be written (read-only, full)
    is a ``ValueError`` naming it and ``IR_DATASETS_HOME``.
    """
    try:
        return _load_cranfield()
    except OSError as exc:  # ir_datasets makes folders in its home even when it is imported
        home = os.environ.get("IR_DATASETS_HOME") or str(Path.home() / ".ir_datasets")
        raise ValueError(f"Cranfield cannot be read or written in ir_datasets' cache {home!r} "
                         f"({exc.strerror or exc}: {exc.filename or ''}). Make that folder writable or free space there, or "
                         f"set IR_DATASETS_HOME to a writable folder.") from None


def _load_cranfield() -> Dataset:
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
        judgments = list(ds.qrels_iter())
    sizes = {"documents": len(docs), "queries": len(queries), "judgments": len(judgments)}
    if sizes != CRANFIELD_SIZES:
        home = _cranfield_home()
        damaged = [c for r, c in _CRANFIELD_FILES.items() if (home / c).is_file() and _sha256(home / c) != _CRANFIELD_SHA256[r]]
        got = ", ".join(f"{n:,} {k}" for k, n in sizes.items())
        raise ValueError(
            f"the Cranfield copy in {home} is damaged ({', '.join(damaged) or 'its files'}: {got}; expected 1,400 documents, "
            f"225 queries, 1,837 judgments). Delete {home} and load again (ir_datasets downloads it), or set CRANFIELD_DIR "
            f"to a folder with the official files.")
    qrels: dict[str, dict[str, int]] = {}
    for q in judgments:
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


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a UTF-8 file (a byte order mark at its start is dropped, as editors add one); a byte that
    is not UTF-8 is a ``ValueError`` with its line."""
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
                yield line_no, (text[1:] if line_no == 1 and text.startswith("\ufeff") else text)
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}:{line_no} is not UTF-8 (byte {raw[exc.start]:#04x} at column {exc.start + 1}); "
                                 f"save the file as UTF-8.") from None


def _read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    for line_no, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{line_no} is not valid JSON ({exc.msg}).") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{line_no} is a JSON {type(record).__name__}, expected an object such as "
                             f'{{"_id": "...", "text": "..."}}.')
        missing = [k for k in required if k not in record or record[k] is None]
        if missing:
            raise ValueError(f"{path}:{line_no} has no {missing[0]!r}; every line needs {list(required)}.")
        if not isinstance(record.get("text", ""), str) or not isinstance(record.get("title") or "", str):
            raise ValueError(f"{path}:{line_no}: 'text' and 'title' must be strings.")
        record["_id"] = _record_id(record["_id"], path, line_no)
        yield line_no, record


def _record_id(value: object, path: Path, line_no: int) -> str:
    """A record's ``_id`` as a str: strings and whole numbers are ids; anything else, or padded text, is refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{path}:{line_no}: '_id' is {value!r} ({type(value).__name__}); ids are strings (or whole "
                         f"numbers), as the qrels file writes them.")
    if not value.strip() or value != value.strip():
        raise ValueError(f"{path}:{line_no}: '_id' {value!r} is empty or has spaces at its start or end; the qrels file "
                         f"cannot name it. Remove the spaces.")
    return value


def _read_qrels(path: Path) -> Iterator[tuple[int, str, str, int]]:
    """(line, query id, doc id, score) from BEIR's ``query-id corpus-id score`` (tab-separated, one header
    line) or TREC's ``query-id 0 doc-id score``."""
    for line_no, line in _lines(path):
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split("\t")
        if len(cells) == 1:
            cells = line.split()  # TREC files are separated by spaces
        if line_no == 1 and cells[0].strip().lower() in ("query-id", "query_id", "qid"):
            continue
        if len(cells) == 4:  # TREC: query-id, iteration (ignored), doc-id, relevance
            cells = [cells[0], cells[2], cells[3]]
        if len(cells) != 3:
            raise ValueError(f"{path}:{line_no} has {len(cells)} column(s): {line.strip()[:60]!r}; expected 3 tab-separated "
                             f"columns (query-id, corpus-id, score) or TREC's 4 (query-id 0 doc-id score).")
        qid, did, score = (c.strip() for c in cells)
        try:
            value = int(score)
        except ValueError:
            raise ValueError(f"{path}:{line_no}: score {score!r} is not a whole number; nDCG here uses integer gains "
                             f"(as trec_eval). Scale fractional gains to integers (e.g. 0.5 -> 1, 1 -> 2).") from None
        yield line_no, qid, did, value


def load_beir(folder: str | os.PathLike, name: str | None = None, split: str = "test") -> Dataset:
    """Load a BEIR-format folder: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``.

    Not called by the notebooks; used by load_dataset (BEIR folders and the mini corpus).

    Only queries that appear in the qrels file are kept (BEIR's convention). Qrels scores are used
    as gains as they are (BEIR stores graded relevance as gains already). Judgments of queries that
    ``queries.jsonl`` lacks are dropped with a warning that says how many.
    """
    folder = Path(folder).expanduser()
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    missing = [str(p.relative_to(folder)) for p in needed if not p.is_file()]
    if missing:
        raise ValueError(f"dataset folder {str(folder)!r} is not a BEIR folder: {missing} missing (expected corpus.jsonl, "
                         f"queries.jsonl, qrels/{split}.tsv).")
    doc_ids, doc_texts, doc_titles, where = [], [], [], {}
    for line_no, d in _read_jsonl(needed[0], ("_id", "text")):
        doc_id = d["_id"]
        if doc_id in where:
            raise ValueError(
                f"duplicate document id {doc_id!r} in {needed[0]} (lines {where[doc_id]} and {line_no}); "
                f"ids must be unique: fix the file."
            )
        where[doc_id] = line_no
        title, text = d.get("title") or "", d["text"]
        doc_ids.append(doc_id)
        doc_titles.append(title)
        doc_texts.append(f"{title}. {text}" if title else text)
    if not doc_ids:
        raise ValueError(f"{needed[0]} holds no document.")
    qrels: dict[str, dict[str, int]] = {}
    judged: dict[tuple[str, str], int] = {}  # (query, document) -> line
    for line_no, qid, did, score in _read_qrels(needed[2]):
        if did not in where:
            raise ValueError(f"{needed[2]}:{line_no} judges document {did!r}, which is not in corpus.jsonl.")
        if (qid, did) in judged and qrels[qid][did] != score:
            raise ValueError(f"{needed[2]}:{line_no} judges document {did!r} for query {qid!r} {score}, but line "
                             f"{judged[qid, did]} judges it {qrels[qid][did]}; keep one judgment per pair.")
        judged.setdefault((qid, did), line_no)
        qrels.setdefault(qid, {})[did] = score
    query_ids, query_texts, seen = [], [], {}
    for line_no, q in _read_jsonl(needed[1], ("_id", "text")):
        qid = q["_id"]
        if qid in seen:
            raise ValueError(f"duplicate query id {qid!r} in {needed[1]} (lines {seen[qid]} and {line_no}).")
        seen[qid] = line_no
        if qid in qrels:
            query_ids.append(qid)
            query_texts.append(q["text"])
    unknown = sorted(set(qrels) - set(seen))
    if unknown:
        n = sum(len(qrels[q]) for q in unknown)
        warnings.warn(f"{needed[2]}: {n} judgment(s) of {len(unknown)} query id(s) not in queries.jsonl (e.g. "
                      f"{unknown[:3]}) were dropped.", UserWarning, stacklevel=2)
        qrels = {q: v for q, v in qrels.items() if q in seen}
    # the folder's own name, also for '.' or 'data/..' (whose Path.name is '' or '..'): trained models record it
    return Dataset(name or folder.resolve().name, doc_ids, doc_texts, query_ids, query_texts, qrels, doc_titles)
