"""Paper backend: a random YourTTS in Coqui's release layout and trainer format, through the real loading path.

The folder holds what Coqui's download of ``your_tts`` (release ``v0.10.1_models``) holds:
``model_file.pth`` saved the way Coqui's trainer saved it in 2022 (``config``, ``model``, ``optimizer``
(RAdam states of the generator and the discriminator), ``scaler``, ``step``, ``epoch``, ``date``,
``model_loss``; the ``model`` state with the discriminator's ``disc.*`` (its scale discriminator; the five
period discriminators left out for size) and the loss speaker encoder's
``speaker_encoder.*`` weights, in the pre-parametrization ``weight_g``/``weight_v`` naming), a
``config.json`` with the real YourTTS settings (512-d d-vectors from a file, language embedding, 10
text-encoder layers, HiFi-GAN resblock type 2, en/fr-fr/pt-br, 16 kHz; widths and depths scaled down
to keep the file small), the speaker encoder of YourTTS's kind (H/ASP ResNet on torch spectrograms,
``model_se.pth`` + ``config_se.json``; its config cannot shrink the ResNet, only its 64 mel bands, to 16 for
speed), ``language_ids.json`` and
``speakers.json``. Side-file paths in ``config.json`` point at a folder that no longer exists, as after
moving a models directory. It is loaded from a ``Store`` entry of kind ``coqui`` pinned in ``lock.json``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import load_config
from baseline_dub.errors import ChecksumError
from baseline_dub.models.store import ModelEntry, Store, load_registry, sha256_tree
from support.paper_models import YOURTTS_LANGUAGES, write_yourtts_release


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory, store: Store) -> Store:
    root = tmp_path_factory.mktemp("models")
    write_yourtts_release(root / "coqui" / "your_tts", stale_root=root / "elsewhere")
    real = load_registry()
    registry = {"yourtts": real["yourtts"], "resemblyzer-ge2e": real["resemblyzer-ge2e"]}
    (root / "lock.json").write_text(json.dumps({"yourtts": sha256_tree(root / "coqui" / "your_tts")}))
    (root / "resemblyzer").mkdir()
    (root / "resemblyzer" / "pretrained.pt").symlink_to(store.path("resemblyzer-ge2e"))
    return Store(root=root, registry=registry)


@pytest.fixture(scope="module")
def synthesizer(tiny_store: Store):
    from baseline_dub.stages.synthesize import load_synthesizer

    config = dataclasses.replace(load_config("paper"), device="cpu")
    return load_synthesizer(config, tiny_store)


def test_registry_entry_is_a_coqui_folder_pinned_at_download() -> None:
    entry: ModelEntry = load_registry()["yourtts"]
    assert entry.kind == "coqui" and entry.sha256 is None
    assert entry.source["name"] == "tts_models/multilingual/multi-dataset/your_tts"
    assert load_config("paper").synthesize.backend == "yourtts"
    assert load_config("paper").synthesize.model == "yourtts"


def test_coqui_loads_checkpoints_weights_only() -> None:
    from trainer import io as trainer_io

    assert trainer_io._WEIGHTS_ONLY is True


def test_fixture_is_saved_as_the_trainer_saved_your_tts(tiny_store: Store) -> None:
    """The checkpoint the backend loads carries the trainer's state and 2022's key naming."""
    folder = tiny_store.path("yourtts")
    state = torch.load(folder / "model_file.pth", weights_only=True)
    assert set(state) == {"config", "model", "optimizer", "scaler", "step", "epoch", "date", "model_loss"}
    assert len(state["optimizer"]) == 2 and state["optimizer"][0]["state"]  # generator, discriminator
    keys = set(state["model"])
    assert any(k.startswith("disc.") for k in keys) and any(k.startswith("speaker_encoder.") for k in keys)
    assert "waveform_decoder.ups.0.weight_g" in keys and not any("parametrizations" in k for k in keys)
    args = json.loads((folder / "config.json").read_text())["model_args"]
    assert (args["d_vector_dim"], args["num_layers_text_encoder"], args["resblock_type_decoder"]) == (512, 10, "2")
    assert args["use_d_vector_file"] and args["use_language_embedding"]
    assert json.loads((folder / "language_ids.json").read_text()) == YOURTTS_LANGUAGES
    assert json.loads((folder / "config_se.json").read_text())["model_params"]["use_torch_spec"] is True


def test_pickled_radam_optimizers_load_only_inside_the_loader(tiny_store: Store, tmp_path: Path) -> None:
    """A checkpoint whose ``optimizer`` holds pickled RAdam objects (a ``defaultdict`` state inside),
    which coqui-tts 0.26-0.27 allowed globally, loads through the backend's scoped allowance and
    nowhere else: torch's weights-only load refuses it outside, and the allowance does not outlive it."""
    import pickle
    import shutil

    from TTS.utils.radam import RAdam

    from baseline_dub.stages.synthesize.yourtts import YourTTSBackend, coqui_checkpoint_globals

    folder = tmp_path / "your_tts"
    shutil.copytree(tiny_store.path("yourtts"), folder)
    state = torch.load(folder / "model_file.pth", weights_only=True)
    params = [torch.nn.Parameter(torch.zeros(4))]
    optimizer = RAdam(params, lr=1e-3)
    params[0].grad = torch.ones(4)
    optimizer.step()
    torch.save({**state, "optimizer": [optimizer, RAdam([torch.nn.Parameter(torch.zeros(2))])]},
               folder / "model_file.pth")
    before = set(torch.serialization.get_safe_globals())  # a set in torch: its list's order is not stable
    with pytest.raises(pickle.UnpicklingError, match="RAdam"):
        torch.load(folder / "model_file.pth", weights_only=True)
    with coqui_checkpoint_globals():
        loaded = torch.load(folder / "model_file.pth", weights_only=True)["optimizer"][0]
    assert type(loaded).__name__ == "PickledOptimizer" and type(loaded.state) is dict  # inert stand-ins
    assert torch.equal(next(iter(loaded.state.values()))["exp_avg"], next(iter(optimizer.state.values()))["exp_avg"])
    backend = YourTTSBackend(folder)
    assert backend.rate == 16000
    assert set(torch.serialization.get_safe_globals()) == before


def test_clones_through_coqui_synthesizer(synthesizer, real_dir: Path) -> None:
    ref = load_audio(real_dir / "ja_speech" / "test_ja_1.wav")
    out = synthesizer.synthesize("Hello there, 2 friends.", ref, seed=3)
    assert out.skipped is None and out.voice_method == "clone"
    assert out.audio is not None and out.audio.rate == 16000 and out.audio.samples.dtype == np.float32
    assert out.audio.frames > 0 and np.all(np.isfinite(out.audio.samples))
    assert out.extra["spoken_text"] == "Hello there, two friends."
    assert out.reference_source == "segment" and out.reference_seconds > 3.0
    assert out.similarity is not None and -1.0 <= out.similarity <= 1.0
    again = synthesizer.synthesize("Hello there, 2 friends.", ref, seed=3)
    assert np.array_equal(again.audio.samples, out.audio.samples)
    other = synthesizer.synthesize("Hello there, 2 friends.", ref, seed=4)
    assert not np.array_equal(other.audio.samples, out.audio.samples)


def test_reference_voice_changes_the_output(synthesizer) -> None:
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 4) / 16000
    low = Audio(0.3 * np.sin(2 * np.pi * 120 * t) + 0.01 * rng.standard_normal(t.size), 16000)
    high = Audio(0.3 * np.sign(np.sin(2 * np.pi * 900 * t)), 16000)
    a = synthesizer.synthesize("Same words.", low, seed=0)
    b = synthesizer.synthesize("Same words.", high, seed=0)
    assert not np.array_equal(a.audio.samples, b.audio.samples)


def test_tampered_folder_is_refused(tiny_store: Store, tmp_path: Path) -> None:
    folder = tiny_store.path("yourtts")
    lock = json.loads((tiny_store.root / "lock.json").read_text())
    fake = Store(root=tiny_store.root, registry=tiny_store.entries)
    (tiny_store.root / "lock.json").write_text(json.dumps({"yourtts": "0" * 64}))
    try:
        with pytest.raises(ChecksumError):
            fake.path("yourtts")
    finally:
        (tiny_store.root / "lock.json").write_text(json.dumps(lock))
    assert folder.is_dir()


def test_checkpoint_with_pickled_objects_is_refused(tiny_store: Store, tmp_path: Path) -> None:
    import argparse
    import shutil

    from baseline_dub.stages.synthesize.yourtts import YourTTSBackend

    folder = tmp_path / "your_tts"
    shutil.copytree(tiny_store.path("yourtts"), folder)
    state = torch.load(folder / "model_file.pth", weights_only=True)
    torch.save({**state, "args": argparse.Namespace(run="code")}, folder / "model_file.pth")
    with pytest.raises(ChecksumError, match="weights_only"):
        YourTTSBackend(folder)
