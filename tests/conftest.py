"""Shared fixtures. Offline and quiet before anything imports Hugging Face code."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# splade_helpers.course.TEST_ENV, read from its file: importing the package would import tqdm before TQDM_DISABLE is set
_course_py = Path(__file__).resolve().parents[1] / "splade_helpers" / "course.py"
_spec = importlib.util.spec_from_file_location("_course_settings", _course_py)
_course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_course)
for _name, _value in _course.TEST_ENV.items():
    os.environ.setdefault(_name, _value)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def splade():
    from splade_helpers import SpladeEncoder

    return SpladeEncoder()


@pytest.fixture(scope="session")
def dense():
    from splade_helpers import DenseEncoder

    return DenseEncoder()


@pytest.fixture(scope="session")
def cranfield():
    from splade_helpers import load_dataset

    return load_dataset("cranfield")


@pytest.fixture(scope="session")
def mini():
    from splade_helpers import load_dataset

    return load_dataset("mini")


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    """A private, empty encoding cache."""
    monkeypatch.setenv("SPLADE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def pytest_collection_modifyitems(session, config, items):
    """Browser tests last: by then the notebooks have run under nbval and the encoding cache is warm."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
