"""Paper backend: pyannote.audio's real ``Pipeline.from_pretrained`` and call path on a random pipeline folder
laid out and saved as ``pyannote/speaker-diarization-community-1`` is released.

``config.yaml`` has community-1's values (``version: 4.0.0``, ``$model/segmentation``, ``$model/embedding``,
``$model/plda``, ``VBxClustering`` with ``threshold: 0.6, Fa: 0.07, Fb: 0.8``, batch sizes 32,
``embedding_exclude_overlap: true``); the segmentation (PyanNet, powerset of 3 speakers, at most 2 at
once) and embedding (WeSpeaker ResNet34) checkpoints are saved by pyannote's own model classes through
a Lightning ``Trainer`` (so they carry trainer state: loops, callbacks, optimizer states), the PLDA as
``xvec_transform.npz`` + ``plda.npz``. Scaled down for speed only: 2 s windows (10 s released), a 1-layer
32-unit LSTM (4 x 128), 16 mel bands into the ResNet (80). Weights are random, except that the
segmentation's classifier says "one speaker" everywhere, so who speaks when is decided by the embeddings
and the clustering; the input is two voices different enough for a random ResNet to tell apart.
"""

from __future__ import annotations

import dataclasses
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import load_config
from baseline_dub.errors import ChecksumError, ConfigError
from baseline_dub.models.store import ModelEntry, Store, load_registry, sha256_tree
from baseline_dub.stages.diarize import load_diarizer
from baseline_dub.stages.types import Segment
from support.paper_models import write_community1_pipeline

NAME = "tiny-pyannote-pipeline"
HALF = 4.0  # seconds of each voice in the test input


def two_voices(real_dir: Path) -> Audio:
    """``HALF`` s of a real Japanese female voice, then ``HALF`` s of a real male voice with its spectrum
    mirrored (every other sample negated), a second voice no random network mistakes for the first."""
    a = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav").to(16000, 1).samples[0]
    b = load_audio(real_dir / "ja_speech" / "test_ja_2.wav").to(16000, 1).samples[0]
    n = int(HALF * 16000)
    b = b[:n] * np.where(np.arange(n) % 2, -1.0, 1.0).astype(np.float32)
    return Audio(np.concatenate([a[:n], b])[None], 16000)


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory, store) -> Store:
    """A store whose registry pins the tiny pipeline folder; silero VAD linked from the real store."""
    root = tmp_path_factory.mktemp("models")
    folder = root / "pyannote" / "tiny"
    folder.mkdir(parents=True)
    write_community1_pipeline(folder)
    (root / "silero").symlink_to(store.location("silero-vad-onnx").parent, target_is_directory=True)
    registry = dict(load_registry())
    registry[NAME] = ModelEntry(NAME, "pyannote/tiny", {"kind": "hf", "repo": "none"}, sha256_tree(folder))
    return Store(root, registry)


@pytest.fixture(scope="module")
def paper_config():
    config = load_config("paper")
    return dataclasses.replace(config, device="cpu",
                               diarize=dataclasses.replace(config.diarize, pipeline_model=NAME))


def test_checkpoints_are_lightning_files_with_trainer_state(tiny_store) -> None:
    folder = tiny_store.location(NAME)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["version"] == "4.0.0" and config["params"]["clustering"] == {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}
    for part in ("segmentation", "embedding"):
        ckpt = torch.load(folder / part / "pytorch_model.bin", weights_only=False)  # our own fixture
        assert {"state_dict", "loops", "callbacks", "optimizer_states", "pytorch-lightning_version",
                "pyannote.audio"} <= set(ckpt), part


def test_pipeline_finds_the_two_voices(tiny_store, paper_config, real_dir) -> None:
    diarizer = load_diarizer(paper_config, tiny_store)
    audio = two_voices(real_dir)
    turns = diarizer.backend.turns(audio, num_speakers=2)
    assert all(isinstance(t, Segment) for t in turns) and len({t.speaker for t in turns}) == 2
    assert turns == sorted(turns, key=lambda s: (s.start, s.end, s.speaker))
    segments = diarizer.diarize(audio, num_speakers=2)
    assert all(isinstance(s, Segment) and isinstance(s.start, float) for s in segments)
    for a, b in pairwise(segments):
        assert a.end <= b.start
    assert all(0 <= s.start < s.end <= audio.duration + 1e-6 for s in segments)
    # one segment per voice, in order, the change within a second of the true one
    assert [s.speaker for s in segments] == ["SPEAKER_00", "SPEAKER_01"]
    first, second = segments
    assert first.start < 0.5 and abs(first.end - HALF) < 1.0 and second.end > 2 * HALF - 0.5


def test_modified_pipeline_folder_is_refused(tiny_store, paper_config) -> None:
    config_yaml = tiny_store.location(NAME) / "config.yaml"
    original = config_yaml.read_text()
    try:
        config_yaml.write_text(original + "\n# edited\n")
        with pytest.raises(ChecksumError):
            load_diarizer(paper_config, tiny_store)
    finally:
        config_yaml.write_text(original)


def test_pyannote_backend_needs_a_pipeline_entry(tiny_store, paper_config) -> None:
    empty = dataclasses.replace(paper_config, diarize=dataclasses.replace(paper_config.diarize, pipeline_model=""))
    with pytest.raises(ConfigError, match="pipeline_model"):
        load_diarizer(empty, tiny_store)


def _telemetry_state(env: dict[str, str]) -> str:
    """Whether pyannote.audio reports telemetry on, in a fresh interpreter that imported baseline_dub first."""
    import os
    import subprocess
    import sys

    code = ("import baseline_dub, pyannote.audio\n"
            "from pyannote.audio.telemetry.metrics import is_metrics_enabled\n"
            "print(is_metrics_enabled())")
    clean = {k: v for k, v in os.environ.items() if k != "PYANNOTE_METRICS_ENABLED"}
    proc = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


@pytest.mark.slow  # three Python processes import pyannote.audio
def test_pyannote_telemetry_is_off_unless_the_user_opts_in() -> None:
    assert _telemetry_state({}) == "False"  # pyannote's own default is on (its telemetry/config.yaml)
    assert _telemetry_state({"PYANNOTE_METRICS_ENABLED": "1"}) == "True"
    assert _telemetry_state({"PYANNOTE_METRICS_ENABLED": "false"}) == "False"


def test_the_pipeline_sends_no_telemetry(tiny_store, paper_config, real_dir, monkeypatch) -> None:
    """Loading and applying the pipeline makes no telemetry span, even when the switch was lost meanwhile."""
    from pyannote.audio.telemetry import metrics

    def refuse(*args, **kwargs):
        raise AssertionError("pyannote telemetry span started")

    monkeypatch.delenv("PYANNOTE_METRICS_ENABLED", raising=False)
    monkeypatch.setattr(metrics.tracer, "start_as_current_span", refuse)
    diarizer = load_diarizer(paper_config, tiny_store)
    assert diarizer.backend.turns(two_voices(real_dir), num_speakers=2)
    assert not metrics.is_metrics_enabled()
