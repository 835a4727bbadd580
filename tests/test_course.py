"""setup_course: the course's settings, and the optional import it declines to start a notebook faster."""

import importlib.util
import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import splade_helpers as sh
before = "jsonschema" in sys.modules
{call}
import plotly.io as pio
pio.renderers.default  # what notebook figures use: it imports nbformat, which imports jsonschema
from jsonschema import FormatChecker
print(json.dumps({{"jsonschema_before": before, "declined": "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None,
                  "iri_checks": sorted(f for f in FormatChecker.checkers if "iri" in f), "renderer": pio.renderers.default}}))
"""


def probe(call: str) -> dict:
    """Run PROBE with ``call`` in a fresh interpreter (sys.modules is per process); its JSON line."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(call=call)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_setup_course_declines_the_iri_grammars_and_sets_the_renderer():
    out = probe("sh.setup_course()")
    assert not out["jsonschema_before"]  # importing the package does not import jsonschema, so the setting can apply
    assert out["declined"] and out["iri_checks"] == [] and out["renderer"] == "plotly_mimetype"


@pytest.mark.skipif(importlib.util.find_spec("rfc3987_syntax") is None, reason="rfc3987_syntax is not installed here")
def test_fast_start_false_keeps_jsonschema_s_iri_checks():
    out = probe("sh.setup_course(fast_start=False)")
    assert not out["declined"] and out["iri_checks"] == ["iri", "iri-reference"]


def test_a_jsonschema_already_imported_is_left_as_it_is():
    out = probe("import jsonschema; sh.setup_course()")
    assert not out["declined"]
