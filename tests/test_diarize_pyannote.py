"""Paper backend plumbing: pyannote.audio's real ``Pipeline.from_pretrained`` and call path on a tiny
random pipeline folder written in pyannote's own formats (community-1 layout: config.yaml, segmentation
and embedding Lightning checkpoints as ``pytorch_model.bin``, PLDA ``.npz``). Plumbing, not quality."""

from __future__ import annotations

import dataclasses
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from baseline_dub.audio import load_audio
from baseline_dub.config import load_config
from baseline_dub.errors import ChecksumError, ConfigError
from baseline_dub.stages.diarize import load_diarizer
from baseline_dub.stages.types import Segment
from baseline_dub.store import ModelEntry, Store, load_registry, sha256_tree

NAME = "tiny-pyannote-pipeline"


def _save_model(model, path: Path) -> None:
    """Save a pyannote Model as its own ``Model.from_pretrained`` reads it (a Lightning checkpoint)."""
    import pytorch_lightning as pl

    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                  "pytorch-lightning_version": pl.__version__}
    model.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, path)


def write_tiny_pipeline(root: Path) -> None:
    """A random PyanNet segmentation (powerset, 3 speakers), WeSpeakerResNet34 embedding and PLDA."""
    from pyannote.audio import __version__
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(0)
    seg = PyanNet(lstm={"hidden_size": 16, "num_layers": 1}, linear={"hidden_size": 16, "num_layers": 1})
    seg.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=5.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2, permutation_invariant=True)
    seg.build()
    _save_model(seg, root / "segmentation" / "pytorch_model.bin")
    emb = WeSpeakerResNet34()
    emb.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    _save_model(emb, root / "embedding" / "pytorch_model.bin")
    rng = np.random.default_rng(0)
    (root / "plda").mkdir()
    lda = np.linalg.qr(rng.standard_normal((256, 256)))[0][:, :128]
    np.savez(root / "plda" / "xvec_transform.npz", mean1=np.zeros(256), mean2=np.zeros(128), lda=lda)
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(128), tr=np.linalg.qr(rng.standard_normal((128, 128)))[0],
             psi=np.linspace(2.0, 0.1, 128))
    config = {
        "dependencies": {"pyannote.audio": __version__},
        "pipeline": {"name": "pyannote.audio.pipelines.SpeakerDiarization", "params": {
            "clustering": "VBxClustering", "embedding": "$model/embedding", "embedding_batch_size": 4,
            "embedding_exclude_overlap": True, "plda": "$model/plda", "segmentation": "$model/segmentation",
            "segmentation_batch_size": 4}},
        "params": {"clustering": {"threshold": 0.6, "Fa": 0.07, "Fb": 0.8}, "segmentation": {"min_duration_off": 0.0}},
    }
    (root / "config.yaml").write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory, store) -> Store:
    """A store whose registry pins the tiny pipeline folder; silero VAD linked from the real store."""
    root = tmp_path_factory.mktemp("models")
    folder = root / "pyannote" / "tiny"
    folder.mkdir(parents=True)
    write_tiny_pipeline(folder)
    (root / "silero").symlink_to(store.location("silero-vad-onnx").parent, target_is_directory=True)
    registry = dict(load_registry())
    registry[NAME] = ModelEntry(NAME, "pyannote/tiny", {"kind": "hf", "repo": "none"}, sha256_tree(folder))
    return Store(root, registry)


@pytest.fixture(scope="module")
def paper_config():
    config = load_config("paper")
    return dataclasses.replace(config, device="cpu",
                               diarize=dataclasses.replace(config.diarize, pipeline_model=NAME))


def test_pipeline_loads_and_returns_clean_typed_segments(tiny_store, paper_config, real_dir) -> None:
    diarizer = load_diarizer(paper_config, tiny_store)
    audio = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav").slice(0.8, 3.8)
    turns = diarizer.backend.turns(audio.resample(16000), num_speakers=2)
    assert all(isinstance(t, Segment) for t in turns)
    assert turns == sorted(turns, key=lambda s: (s.start, s.end, s.speaker))
    segments = diarizer.diarize(audio)
    assert all(isinstance(s, Segment) and isinstance(s.start, float) for s in segments)
    for a, b in pairwise(segments):
        assert a.end <= b.start
    assert all(0 <= s.start < s.end <= audio.duration + 1e-6 for s in segments)
    assert all(s.speaker.startswith("SPEAKER_") for s in segments)


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
