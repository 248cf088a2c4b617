"""Shared fixtures: the real audio in ../shared/data/real and the offline model store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baseline_dub.config import PROJECT_ROOT, load_config
from baseline_dub.store import Store

REAL_DIR = Path(os.environ.get("BASELINE_DUB_REAL_DATA", PROJECT_ROOT.parent / "shared" / "data" / "real"))
JA_SPEECH = sorted((REAL_DIR / "ja_speech").glob("*.wav"))
MUSIC = sorted((REAL_DIR / "music").glob("*.ogg"))


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL_DIR.is_dir():
        pytest.fail(f"real test audio not found at {REAL_DIR}; the tests need ../shared beside the checkout")
    return REAL_DIR


@pytest.fixture(scope="session")
def store() -> Store:
    """The project's model store, filled by `make models` (which `make test` runs first)."""
    return Store()


@pytest.fixture(scope="session")
def offline_config():
    return load_config("offline")
