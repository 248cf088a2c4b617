"""``pytest --fast`` (``make test-fast``): only the tests that need neither weights nor ``../shared``.

A test needs the weights of ``make models`` or the files of ``../shared`` (real audio, webMUSHRA) when it uses
the ``store`` or ``real_dir`` fixture, directly or through another fixture: such a test is marked ``weights``
here, at collection, so no list has to be kept. A test that reaches them another way (a CLI run, ``Store()``,
a support module's dataset) carries ``pytestmark = pytest.mark.weights`` or ``@pytest.mark.weights`` itself.

``--fast`` leaves out the tests marked ``weights`` or ``slow`` and, before any test module is imported, points
``$BASELINE_DUB_MODELS``, ``$BASELINE_DUB_SHARED`` and ``$BASELINE_DUB_REAL_DATA`` under a plain file, where
nothing is found and nothing can be made (subprocesses inherit them). So a test that needs them without the
marker fails under ``--fast`` (a missing model or file, with a hint to mark it) rather than passing on what the
machine happens to hold: the selection cannot drift silently. ``tests/test_fast.py`` checks all of this.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# A fixture that stands for the weights or ../shared; every fixture built on one (diarizer, mushra_inputs,
# deezer_release_tarball, ...) is covered too, since ``item.fixturenames`` is the closure of what a test uses.
WEIGHT_FIXTURES = frozenset({"store", "real_dir"})
OUT_OF_REACH = "out-of-reach-under-fast"  # in the paths ``--fast`` sets: recognised in a failure's text
HINT = ("under `pytest --fast` the model weights and ../shared are out of reach ({where}): if this test needs "
        "them, mark it `weights` (tests/support/fast.py)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fast", action="store_true",
                     help="only the tests that need no model weights and no ../shared and are not slow "
                          "(make test-fast); weights and ../shared are put out of reach")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("fast"):
        return
    where = Path(tempfile.mkdtemp(prefix=f"baseline-dub-{OUT_OF_REACH}-"))
    # Under a plain file nothing can be made, not even by root: `models download` (or `make models`, which
    # `make baseline` runs) fails there instead of filling the folder for the tests that come after.
    wall = where / "a-file"
    wall.write_text("`pytest --fast` points the models folder and ../shared under this file\n")
    os.environ["BASELINE_DUB_MODELS"] = str(wall / "models")
    os.environ["BASELINE_DUB_SHARED"] = str(wall / "shared")
    os.environ["BASELINE_DUB_REAL_DATA"] = str(wall / "shared" / "data" / "real")
    config.stash[_WHERE] = where


def pytest_unconfigure(config: pytest.Config) -> None:
    where = config.stash.get(_WHERE, None)
    if where is not None:
        shutil.rmtree(where, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``weights`` every test that uses a weight fixture; under ``--fast``, deselect ``weights`` and ``slow``."""
    for item in items:
        if WEIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.weights)
    if not config.getoption("fast"):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("weights") or item.get_closest_marker("slow") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Under ``--fast``, a failure that names the out-of-reach folders says how to fix the marking."""
    report = yield
    where = item.config.stash.get(_WHERE, None)
    text = report.longreprtext if report.failed else ""
    if where is not None and (OUT_OF_REACH in text or "ModelMissingError" in text):
        report.sections.append(("--fast", HINT.format(where=where)))
    return report


_WHERE = pytest.StashKey[Path]()
