import json
from pathlib import Path

import pytest

from splade_helpers import analyze, cranfield_gain, load_beir, load_dataset
from splade_helpers.datasets import DATA_DIR

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "cranfield"


def test_cranfield_sizes(cranfield):
    assert len(cranfield.doc_ids) == 1400 and len(cranfield.query_ids) == 225
    assert sum(len(v) for v in cranfield.qrels.values()) == 1837
    assert cranfield.query_ids == [str(i) for i in range(1, 226)]
    assert len(cranfield.judged_query_ids) == 225


def test_cranfield_query_ids_follow_file_order_not_the_dot_i_numbers(cranfield):
    # cran.qry numbers its queries 001, 002, 004, 008, ...; cranqrel numbers them 1, 2, 3, 4, ...
    # The third query in the file is ".I 004": its judgments are under query id "3".
    assert cranfield.query("3").startswith("what problems of heat conduction in composite slabs")
    assert set(cranfield.qrels["3"]) == {"5", "6", "90", "91", "119", "144", "181", "399", "485"}


def test_cranfield_codes_become_gains(cranfield):
    assert [cranfield_gain(c) for c in (1, 2, 3, 4, -1)] == [4, 3, 2, 1, 0]
    with pytest.raises(ValueError, match="unknown Cranfield relevance code 7"):
        cranfield_gain(7)
    # cranqrel line "1 184 2": code 2 (high relevance) -> gain 3; "1 51 3" -> gain 2
    assert cranfield.qrels["1"]["184"] == 3 and cranfield.qrels["1"]["51"] == 2
    gains = [g for q in cranfield.qrels.values() for g in q.values()]
    assert {g: gains.count(g) for g in range(5)} == {0: 225, 1: 363, 2: 734, 3: 387, 4: 128}


def test_unknown_dataset_lists_what_exists():
    with pytest.raises(ValueError, match=r"unknown dataset 'cranfeld'.*\['cranfield', 'mini'\]"):
        load_dataset("cranfeld")
    with pytest.raises(TypeError):
        load_dataset(None)


def write_beir(folder: Path, corpus, queries, qrels):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in corpus))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in qrels))


def test_beir_folder(tmp_path, monkeypatch):
    write_beir(
        tmp_path / "tiny",
        [{"_id": "a", "title": "Wings", "text": "lift"}, {"_id": "b", "title": "", "text": "drag"}],
        [{"_id": "q1", "text": "lift?"}, {"_id": "q2", "text": "unjudged"}],
        [("q1", "a", 1)],
    )
    ds = load_dataset(tmp_path / "tiny")
    assert ds.name == "tiny" and ds.doc_texts == ["Wings. lift", "drag"]
    assert ds.query_ids == ["q1"] and ds.qrels == {"q1": {"a": 1}}
    (tmp_path / "tiny" / "sub").mkdir()
    for spelled in (".", "sub/.."):  # the collection's name is its folder's, however the path is spelled
        with monkeypatch.context() as m:
            m.chdir(tmp_path / "tiny")
            assert load_dataset(spelled).name == "tiny"


def test_beir_duplicate_ids_are_refused_with_their_lines(tmp_path):
    write_beir(tmp_path / "dup", [{"_id": "a", "text": "x"}, {"_id": "b", "text": "y"}, {"_id": "a", "text": "z"}], [], [])
    with pytest.raises(ValueError, match=r"duplicate document id 'a'.*lines 1 and 3"):
        load_beir(tmp_path / "dup")


def test_beir_missing_files_are_named(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "corpus.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"queries.jsonl.*qrels/test.tsv"):
        load_beir(tmp_path / "half")


def test_beir_qrels_for_unknown_documents_are_refused(tmp_path):
    write_beir(tmp_path / "bad", [{"_id": "a", "text": "x"}], [{"_id": "q", "text": "x"}], [("q", "zz", 1)])
    with pytest.raises(ValueError, match="'zz', which is not in corpus.jsonl"):
        load_beir(tmp_path / "bad")


def test_mini_corpus_shows_vocabulary_mismatch(mini):
    assert 40 <= len(mini.doc_ids) <= 80 and len(mini.query_ids) == 20
    flags = {
        json.loads(line)["_id"]: json.loads(line)["metadata"]["mismatch"]
        for line in (DATA_DIR / "mini" / "queries.jsonl").read_text().splitlines()
    }
    mismatch = [q for q, f in flags.items() if f]
    assert len(mismatch) >= 8
    for q in mismatch:
        terms = set(analyze([mini.query(q)])[0])
        for doc_id, gain in mini.qrels[q].items():
            if gain == 2:
                shared = terms & set(analyze([mini.doc(doc_id)])[0])
                assert not shared, f"{q} shares {shared} with {doc_id}"
