"""The expansion box (notebook 03): any input gets an answer or a message; the alpha slider and explorer are in test_lab."""

import html

import pytest

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
        ("wing " * 2000, "The text makes 2,000 word pieces; the model reads the first 510"),
        ("wing " * 5000, "What was read makes 4,000 word pieces"),  # counted on the first 20,000 characters only
        ("x" * 30_000, "Only the first 20,000 of 30,000 characters"),
        ("🚀🚀 rocket", "unknown to this English vocabulary"),
        ("Турбулентность крыла", "non-zero terms"),
        ("湍流", "non-zero terms"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(splade, value, expected):
    assert expected in expansion_report(splade, value)
