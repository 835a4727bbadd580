"""Shared fixtures (the environment is set by the project's root conftest.py, for notebooks too)."""

from __future__ import annotations

import pytest


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
