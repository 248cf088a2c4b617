"""On a CUDA GPU: ``run --device cuda`` with ``--batch-clips 1`` and ``8`` on the hostile split
(``tests/support/hostile_split.py``, every kind of clip in one batch of 8) write the same manifest rows and the same
bytes. Marked ``cuda``: skipped where no GPU is visible, a failure there under ``REQUIRE_CUDA=1``
(``tests/conftest.py``), so that a run meant for the GPU cannot pass by skipping.

    REQUIRE_CUDA=1 .venv/bin/python -m pytest -m cuda tests/
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support import hostile_split

pytestmark = [pytest.mark.cuda, pytest.mark.weights]
BIN = Path(sys.executable).parent


def _run(data: Path, out: Path, batch: int) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "baseline-dub"), "run", "--split", "test", "--data", str(data), "--out", str(out),
                           "--profile", "offline", "--device", "cuda", "--no-progress", "--batch-clips", str(batch)],
                          capture_output=True, text=True, timeout=1800)


def test_batch_clips_1_and_8_write_the_same_bytes_on_cuda(tmp_path) -> None:
    data = tmp_path / "hostile"
    data.mkdir()
    hostile_split.build(data)
    runs = {batch: tmp_path / f"batch{batch}" for batch in (1, 8)}
    for batch, out in runs.items():
        proc = _run(data, out, batch)
        assert proc.returncode == 1, proc.stderr[-3000:]  # the NaN clip fails, every other one is dubbed
        assert "profile          offline" in proc.stdout
    hostile_split.assert_same_runs(runs[1], runs[8])
