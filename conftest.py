"""The tests' environment for every test path (tests/ and notebooks/ alike), before anything imports Hugging Face code.

``splade_helpers.course.TEST_ENV`` is read from its file: importing the package would import tqdm before
``TQDM_DISABLE`` is set. nbval's kernels inherit it, so a notebook runs under pytest as ``tools/nb.py`` stored it.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_course_settings", Path(__file__).parent / "splade_helpers" / "course.py")
_course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_course)
for _name, _value in _course.TEST_ENV.items():
    os.environ.setdefault(_name, _value)
