"""The README's figures are the course's: every interval it quotes is printed by a notebook (stored output).

The Cranfield table is checked against the evaluation command in tests/test_evaluate_cli.py.
"""

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = re.compile(r"[−+-]\d\.\d{3} \[[−+-]\d\.\d{3}, [−+-]\d\.\d{3}\]")


def printed() -> str:
    """Every notebook's stored text outputs, minus signs as the notebooks print them."""
    out = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for o in cell.get("outputs", []):
                out.append(o.get("text", "") if "text" in o else o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_every_interval_and_p_value_the_readme_quotes_is_printed_by_a_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("−", "-")
    quoted = INTERVAL.findall(readme) + re.findall(r"p = \d\.\d{3}", readme)
    assert len(quoted) >= 3  # the pattern still finds what the README quotes
    outputs = printed()
    missing = [q for q in quoted if q not in outputs]
    assert not missing, f"the README quotes {missing}, which no notebook prints (re-run, then copy the new figures)"
