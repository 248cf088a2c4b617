"""``bench/gpu_check.py`` (the check for the day a GPU is lent) runs on the CPU in a small budget: it cannot rot."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys

import pytest

from baseline_dub.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", PROJECT_ROOT / "bench" / "gpu_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_disagreement_beyond_the_stated_tolerance_fails_the_check(gpu_check) -> None:
    agree = gpu_check.Agreement(clips=3, dubbed_both=3, stems_snr_db=41.0, der=0.05, identical_texts=0.9,
                                speech_snr_db=30.0, dub_snr_db=float("inf"))
    assert gpu_check.disagreements(agree) == []  # at the limits: agrees
    nothing = gpu_check.Agreement(3, 3, 60.0, 0.0, None, None, None)  # no text, nothing synthesized
    assert gpu_check.disagreements(nothing) == []
    worse = {"stems_snr_db": 39.9, "der": 0.051, "identical_texts": 0.89, "speech_snr_db": 29.0, "dub_snr_db": 19.0,
             "dubbed_both": 2}
    for field, value in worse.items():
        found = gpu_check.disagreements(dataclasses.replace(agree, **{field: value}))
        assert len(found) == 1, (field, found)
    assert gpu_check.disagreements(dataclasses.replace(agree, der=0.2)) == [
        "diarize: DER 0.200 is over the tolerance 0.05"]
    assert gpu_check.disagreements(dataclasses.replace(agree, stems_snr_db=float("nan"))) == [
        "separate: stems SNR nan dB is under the tolerance 40 dB"]  # outputs of different shapes
    assert gpu_check.disagreements(gpu_check.Agreement(2, 0, None, None, None, None, None)) == [
        "2 of 2 clips dubbed on one side only"]
    # the tolerance stated in the script's docstring is the one it applies
    doc = " ".join(gpu_check.__doc__.split())
    tol = gpu_check.TOLERANCE
    assert (f"at least {tol.min_stems_snr_db:g} dB; DER of every clip at most {tol.max_der:g}; at least "
            f"{tol.min_identical_texts:.0%}".replace("%", " %") in doc)
    assert f"at least {tol.min_speech_snr_db:g} dB SNR" in doc and f"at least {tol.min_dub_snr_db:g} dB SNR" in doc


def test_main_exits_1_when_the_device_disagrees(gpu_check, monkeypatch, capsys) -> None:
    """main's exit code follows ``disagreements`` (the dubbing itself replaced: no model is loaded)."""

    class FakePipeline:
        device, store = "cpu", None

        def __init__(self, *args, **kwargs) -> None:
            pass

        def dub_batch(self, items):
            return items

    import baseline_dub.pipeline

    monkeypatch.setattr(baseline_dub.pipeline, "DubPipeline", FakePipeline)
    monkeypatch.setattr(gpu_check, "inputs", lambda n: [])
    monkeypatch.setattr(gpu_check, "base_engines", lambda store, device: {})
    monkeypatch.setattr(gpu_check.Budget, "run", lambda self, name, step: step() if name == "agreement" else None)
    for measured, code in ((gpu_check.Agreement(1, 1, 10.0, 0.0, 1.0, None, None), 1),
                           (gpu_check.Agreement(1, 1, 90.0, 0.0, 1.0, None, None), 0)):
        monkeypatch.setattr(gpu_check, "agreement", lambda cpu, dev, measured=measured: measured)
        assert gpu_check.main(["--device", "cpu"]) == code
        out = capsys.readouterr().out
        assert ("DISAGREES: separate: stems SNR 10.000 dB is under the tolerance 40 dB" in out) == bool(code)


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu(gpu_check, capsys) -> None:
    assert gpu_check.main(["--device", "cpu", "--budget-seconds", "150", "--clips", "1", "--batches", "1", "2",
                        "--large-layers", "1"]) == 0
    out = capsys.readouterr().out
    assert "skipped" not in out and "DISAGREES" not in out, out
    for stage in ("separate", "diarize", "translate", "synthesize", "remix"):
        assert re.search(rf"^  {stage} ", out, re.MULTILINE), (stage, out)
    # the CPU against itself: every stage agrees exactly (the check would show any nondeterminism)
    assert "translate   identical texts         1/1" in out or "identical texts         0/0" in out, out
    assert out.count(" inf dB") == 3, out
    for label in ("separate  ", "base     ", r"base-ct2 \(float32\)", "large-v2 "):
        for batch in (1, 2):
            assert re.search(rf"{label} --batch-clips +{batch}: .* peak RSS \d+ MiB", out), (label, batch, out)
    assert "random large-v2 dims (1 layers per stack)" in out


def test_require_cuda_turns_the_gpu_tests_skip_into_a_failure() -> None:
    """Where torch sees no GPU, the ``cuda`` tests skip; under ``REQUIRE_CUDA=1`` they fail, saying why."""
    import os
    import subprocess

    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the cuda tests run for real")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda",
           str(PROJECT_ROOT / "tests" / "test_cuda_batches.py")]
    env = {k: v for k, v in os.environ.items() if k != "REQUIRE_CUDA"}
    skipped = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout[-2000:]
    failed = subprocess.run(cmd, env={**env, "REQUIRE_CUDA": "1"}, capture_output=True, text=True, timeout=300,
                            cwd=PROJECT_ROOT)
    assert failed.returncode == 1 and "1 error" in failed.stdout, failed.stdout[-2000:]
    assert "REQUIRE_CUDA=1 but torch sees no CUDA GPU" in failed.stdout
