"""Paper backend: a random tiny YourTTS-shaped Vits in Coqui's folder layout, through the real loading path.

The folder holds what Coqui's download of ``your_tts`` holds (``model_file.pth`` with
``{"model": state_dict}``, ``config.json`` with multilingual d-vector Vits settings, a speaker
encoder ``model_se.pth`` + ``config_se.json``, ``language_ids.json``, ``speakers.json``), with the
side-file paths in ``config.json`` pointing at a folder that no longer exists, as after moving a
models directory. It is loaded from a ``Store`` entry of kind ``coqui`` pinned in ``lock.json``.
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
from baseline_dub.store import ModelEntry, Store, load_registry, sha256_tree

D_VECTOR = 8


def build_tiny_yourtts(folder: Path, stale_root: Path) -> None:
    """Write a randomly initialised, tiny YourTTS-shaped Coqui model folder (a few MB)."""
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.encoder.configs.speaker_encoder_config import SpeakerEncoderConfig
    from TTS.encoder.utils.generic_utils import setup_encoder_model
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    folder.mkdir(parents=True)
    torch.manual_seed(0)
    se = SpeakerEncoderConfig(
        num_loader_workers=0, num_classes_in_batch=2, num_utter_per_class=2,
        model_params={"model_name": "lstm", "input_dim": 40, "proj_dim": D_VECTOR, "lstm_dim": 16,
                      "num_lstm_layers": 1, "use_torch_spec": False},
        audio=BaseAudioConfig(sample_rate=16000, num_mels=40, fft_size=512, win_length=400, hop_length=160))
    torch.save({"model": setup_encoder_model(se).state_dict()}, folder / "model_se.pth")
    se.save_json(str(folder / "config_se.json"))
    (folder / "language_ids.json").write_text(json.dumps({"en": 0, "fr-fr": 1, "pt-br": 2}))
    (folder / "speakers.json").write_text(json.dumps({
        "a.wav": {"name": "spk_a", "embedding": [0.1] * D_VECTOR},
        "b.wav": {"name": "spk_b", "embedding": [-0.1] * D_VECTOR}}))
    # built against the real side files, then saved naming a stale folder (as after a move)
    args = VitsArgs(
        hidden_channels=8, hidden_channels_ffn_text_encoder=16, num_layers_text_encoder=1,
        num_layers_posterior_encoder=1, num_layers_flow=1, resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]], upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=16, upsample_kernel_sizes_decoder=[16, 16, 8], out_channels=257,
        use_d_vector_file=True, d_vector_file=[str(folder / "speakers.json")], d_vector_dim=D_VECTOR,
        use_language_embedding=True, language_ids_file=str(folder / "language_ids.json"),
        speaker_encoder_model_path=str(folder / "model_se.pth"),
        speaker_encoder_config_path=str(folder / "config_se.json"),
        use_speaker_encoder_as_loss=True, init_discriminator=False)
    config = VitsConfig(
        model_args=args, audio=BaseAudioConfig(sample_rate=16000, fft_size=512, win_length=512, hop_length=256),
        use_phonemes=False, text_cleaner="multilingual_cleaners", test_sentences=[],
        characters=CharactersConfig(characters_class="TTS.tts.models.vits.VitsCharacters", pad="_", eos="&",
                                    bos="*", blank=None, characters="abcdefghijklmnopqrstuvwxyz ",
                                    punctuations="!'(),-.:;? ", phonemes=""),
        use_d_vector_file=True, d_vector_file=[str(folder / "speakers.json")], d_vector_dim=D_VECTOR)
    args.use_speaker_encoder_as_loss = False
    model = Vits(config)
    torch.save({"model": model.state_dict()}, folder / "model_file.pth")
    args.use_speaker_encoder_as_loss = True
    text = json.dumps(config.to_dict()).replace(str(folder), str(stale_root / "tts_models--your_tts"))
    (folder / "config.json").write_text(text)


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("models")
    build_tiny_yourtts(root / "coqui" / "your_tts", stale_root=root / "elsewhere")
    real = load_registry()
    registry = {"yourtts": real["yourtts"], "resemblyzer-ge2e": real["resemblyzer-ge2e"]}
    (root / "lock.json").write_text(json.dumps({"yourtts": sha256_tree(root / "coqui" / "your_tts")}))
    (root / "resemblyzer").mkdir()
    (root / "resemblyzer" / "pretrained.pt").symlink_to(Store().path("resemblyzer-ge2e"))
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
