import html

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from splade_helpers import exercises, plots
from splade_helpers.expansion import term_origins
from splade_helpers.widgets import expansion_box, expansion_report


def test_the_box_shows_the_expansion_of_what_is_typed(splade):
    box = expansion_box(splade)
    text, out = box.children
    assert "Type some text" in out.value
    text.value = "laptop battery"
    assert "laptop" in out.value and "non-zero terms" in out.value
    assert out.value == f"<pre>{html.escape(expansion_report(splade, 'laptop battery'))}</pre>"
    text.value = ""
    assert "Type some text" in out.value


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", "Type some text"),
        ("   ", "Type some text"),
        (None, "Please type text"),
        ("wing " * 2000, "the model reads the first 510"),
        ("x" * 30_000, "Only the first 20,000 of 30,000 characters"),
        ("🚀🚀 rocket", "unknown to this English vocabulary"),
        ("Турбулентность крыла", "non-zero terms"),
        ("湍流", "non-zero terms"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(splade, value, expected):
    assert expected in expansion_report(splade, value)


def test_figures_are_built_from_plain_data(splade):
    origins = term_origins(splade, "supersonic wing flutter")
    fig = plots.top_terms_figure(origins, k=10)
    assert isinstance(fig, go.Figure) and sum(len(t.y) for t in fig.data) == 10
    assert {t.name for t in fig.data} == {"in the text", "expansion"}
    wl = plots.win_loss_figure({"1": 0.5, "2": 0.1, "3": 0.2}, {"1": 0.2, "2": 0.3, "3": 0.2})
    assert "1 wins, 1 losses, 1 ties" in wl.layout.title.text
    with pytest.raises(ValueError, match="same queries"):
        plots.win_loss_figure({"1": 0.5}, {"2": 0.5})
    with pytest.raises(ValueError, match="expected"):
        plots.heatmap_figure(np.zeros((2, 3)), ["a"], ["x", "y", "z"])


def test_check_shared_terms(capsys):
    from splade_helpers import analyze

    assert not exercises.check_shared_terms(lambda q, d: (_ for _ in ()).throw(NotImplementedError()))
    assert "Not implemented yet" in capsys.readouterr().out
    assert not exercises.check_shared_terms(lambda q, d: set(q.lower().split()) & set(d.lower().split()))
    assert "Missing terms: ['turbul', 'wing']" in capsys.readouterr().out
    assert exercises.check_shared_terms(lambda q, d: set(analyze([q])[0]) & set(analyze([d])[0]))
    assert "Correct" in capsys.readouterr().out


def test_check_splade_pooling(capsys):
    def right(logits, mask):
        return torch.log1p(torch.relu(logits.masked_fill(mask.unsqueeze(-1) == 0, float("-inf")))).amax(dim=1)

    def no_mask(logits, mask):
        return torch.log1p(torch.relu(logits)).amax(dim=1)

    def mean(logits, mask):
        return (torch.log1p(torch.relu(logits)) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    assert exercises.check_splade_pooling(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(no_mask) and "not masked" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(mean) and "mean" in capsys.readouterr().out
    assert not exercises.check_splade_pooling(lambda l, m: l) and "shape" in capsys.readouterr().out


def test_check_prune(capsys):
    def right(indices, values, k):
        keep = np.sort(np.lexsort((indices, -values))[:k])
        return indices[keep], values[keep]

    assert exercises.check_prune(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_prune(lambda i, v, k: (i[:k], v[:k])) and "Not yet" in capsys.readouterr().out
    assert not exercises.check_prune(lambda i, v, k: None) and "pair" in capsys.readouterr().out


def test_check_minmax(capsys):
    def right(s):
        lo, hi = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
        return np.divide(s - lo, hi - lo, out=np.zeros_like(s), where=hi > lo)

    assert exercises.check_minmax(right) and "Correct" in capsys.readouterr().out
    assert not exercises.check_minmax(lambda s: (s - s.min()) / (s.max() - s.min())) and "whole matrix" in capsys.readouterr().out
    with np.errstate(all="ignore"):
        naive = lambda s: (s - s.min(1, keepdims=True)) / (s.max(1, keepdims=True) - s.min(1, keepdims=True))  # noqa: E731
        assert not exercises.check_minmax(naive) and "NaN" in capsys.readouterr().out


_IDS: dict = {}


def _python_hash(doc_id):
    return abs(hash(doc_id))


def _cached_uuid4(doc_id):
    import uuid

    return _IDS.setdefault(doc_id, str(uuid.uuid4()))


def _uuid_as_128_bit_int(doc_id):
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, doc_id).int


def _sha_as_64_bit_int(doc_id):
    import hashlib

    return int(hashlib.sha256(doc_id.encode()).hexdigest()[:16], 16)


def test_check_point_ids(capsys):
    import uuid

    from splade_helpers.qdrant import point_id

    assert exercises.check_point_ids(point_id) and "Correct" in capsys.readouterr().out
    assert exercises.check_point_ids(_sha_as_64_bit_int) and "Correct" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: d) and "neither an unsigned 64-bit int nor a UUID" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: str(uuid.uuid4())) and "calling it twice gave different ids" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: 7) and "different documents" in capsys.readouterr().out
    # the three wrong answers a learner is most likely to give
    assert not exercises.check_point_ids(_python_hash) and "a fresh Python process gives other ids" in capsys.readouterr().out
    assert not exercises.check_point_ids(_cached_uuid4) and "keeps ids in the variable '_IDS'" in capsys.readouterr().out
    assert not exercises.check_point_ids(_uuid_as_128_bit_int) and "outside 0 .. 2**64 - 1" in capsys.readouterr().out
    assert not exercises.check_point_ids(lambda d: True) and "is a bool" in capsys.readouterr().out


def test_the_other_figures():
    sp_parts = [("heat", 1.0, 2.0, 2.0), ("flow", 0.5, 1.0, 0.5)]
    fig = plots.contributions_figure(sp_parts, [("heat", 1.5), ("flow", 0.0)])
    assert list(fig.data[0].y) == ["flow", "heat"] and list(fig.data[1].y) == ["heat"]  # zero contributions dropped
    rows = [{"label": "top 8", "nDCG@10": 0.25, "mean_nnz": 8, "index_mb": 0.1}, {"label": "all", "nDCG@10": 0.35, "mean_nnz": 243, "index_mb": 2.7}]
    assert list(plots.pruning_figure(rows).data[0].text) == ["top 8", "all"]
    rows = [{"retriever": "a", "family": "single retriever", "nDCG@10": 0.36, "R@100": 0.7, "MRR@10": 0.5},
            {"retriever": "b", "family": "score fusion", "nDCG@10": 0.42, "R@100": 0.8, "MRR@10": 0.58}]
    comparison = plots.method_comparison(rows)
    assert len(comparison.data) == 6 and comparison.data[0].x == (0.36,)
    assert comparison.layout.xaxis.range[0] > 0.3  # the axis shows the differences, not 0..1
    curve = plots.alpha_curve_figure([0, 0.5, 1], [0.3, 0.4, 0.35], 0.5, 0.4)
    assert curve.data[1].x == (0.5,) and curve.data[1].y == (0.4,)
