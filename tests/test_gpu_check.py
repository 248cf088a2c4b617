"""``bench/gpu_check.py`` (the check for the day a GPU is lent) runs on the CPU in a small budget: it cannot rot."""

from __future__ import annotations

import importlib.util
import re

import pytest

from baseline_dub.config import PROJECT_ROOT


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu(capsys) -> None:
    spec = importlib.util.spec_from_file_location("gpu_check", PROJECT_ROOT / "bench" / "gpu_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--device", "cpu", "--budget-seconds", "150", "--clips", "1", "--batches", "1", "2",
                        "--large-layers", "1"]) == 0
    out = capsys.readouterr().out
    assert "skipped" not in out, out
    for stage in ("separate", "diarize", "translate", "synthesize", "remix"):
        assert re.search(rf"^  {stage} ", out, re.MULTILINE), (stage, out)
    # the CPU against itself: every stage agrees exactly (the check would show any nondeterminism)
    assert "translate   identical texts         1/1" in out or "identical texts         0/0" in out, out
    assert out.count(" inf dB") == 3, out
    for label in ("separate  ", "base     ", r"base-ct2 \(float32\)", "large-v2 "):
        for batch in (1, 2):
            assert re.search(rf"{label} --batch-clips +{batch}: .* peak RSS \d+ MiB", out), (label, batch, out)
    assert "random large-v2 dims (1 layers per stack)" in out
