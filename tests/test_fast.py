"""``pytest --fast`` (tests/support/fast.py) on a probe suite: what it leaves out, and that a test which reaches for
the weights or ../shared without the ``weights`` marker fails there, saying how to fix it, instead of passing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from baseline_dub.config import PROJECT_ROOT

PROBE = '''
import os
from pathlib import Path

import pytest

from baseline_dub.models.store import Store


@pytest.fixture
def store():
    return Store()


def test_uses_the_store_fixture(store):
    assert store.path("silero-vad-onnx")


@pytest.mark.slow
def test_slow():
    raise AssertionError("left out under --fast")


@pytest.mark.weights
def test_marked_by_hand():
    raise AssertionError("left out under --fast")


def test_unmarked_but_loads_a_weight():
    Store().path("silero-vad-onnx")


def test_nothing_is_found_and_nothing_can_be_made_there():
    for name in ("BASELINE_DUB_MODELS", "BASELINE_DUB_SHARED", "BASELINE_DUB_REAL_DATA"):
        assert not Path(os.environ[name]).exists(), name
    with pytest.raises(OSError):
        Path(os.environ["BASELINE_DUB_MODELS"]).mkdir(parents=True)
'''


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "tests"), str(PROJECT_ROOT),
                                                         os.environ.get("PYTHONPATH", "")])}
    for name in ("BASELINE_DUB_MODELS", "BASELINE_DUB_SHARED", "BASELINE_DUB_REAL_DATA"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "support.fast", "-p", "no:cacheprovider", "-q",
                           "-rfE", "-c", str(folder / "pytest.ini"), "--rootdir", str(folder), *args,
                           str(folder / "test_probe.py")], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)


def test_fast_leaves_out_weights_and_slow_and_fails_an_unmarked_test_that_needs_weights(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\nmarkers =\n    slow: slow\n"
                                         "    weights: weights\n")
    (tmp_path / "test_probe.py").write_text(PROBE)
    fast = _run(tmp_path, "--fast")
    out = fast.stdout
    assert fast.returncode == 1, out + fast.stderr
    assert "1 failed, 1 passed, 3 deselected" in out, out
    assert "FAILED test_probe.py::test_unmarked_but_loads_a_weight" in out, out
    assert "ModelMissingError" in out and "mark it `weights`" in out, out
    # Without --fast nothing is left out; a test using the store fixture is marked `weights` all the same.
    marked = _run(tmp_path, "-m", "weights", "--collect-only")
    assert "2/5 tests collected (3 deselected)" in marked.stdout, marked.stdout
    assert "test_uses_the_store_fixture" in marked.stdout and "test_marked_by_hand" in marked.stdout
