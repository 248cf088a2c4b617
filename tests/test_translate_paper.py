"""The paper backend's loading path: a tiny random checkpoint in openai-whisper's format
(``{"dims", "model_state_dict"}``) served by a Store entry of kind ``whisper``; turbo is refused."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from whisper.model import ModelDimensions, Whisper

from baseline_dub.audio import Audio
from baseline_dub.config import load_config
from baseline_dub.errors import ChecksumError, ConfigError
from baseline_dub.stages.translate import WhisperTranslator, load_translator, load_whisper
from baseline_dub.store import ModelEntry, Store, sha256_file

TINY = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=16, n_audio_head=2, n_audio_layer=1,
                       n_vocab=51865, n_text_ctx=12, n_text_state=16, n_text_head=2, n_text_layer=1)


def _store(tmp_path: Path, name: str, checkpoint: object, source_name: str = "large-v2",
           sha256: str | None = None) -> Store:
    path = tmp_path / "whisper" / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    entry = ModelEntry(name=name, file=f"whisper/{name}.pt", source={"kind": "whisper", "name": source_name},
                       sha256=sha256 or sha256_file(path), profiles=("paper",))
    return Store(root=tmp_path, registry={name: entry})


def _tiny_checkpoint() -> dict:
    generator = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=generator) * 0.05 for k, v in Whisper(TINY).state_dict().items()}
    return {"dims": dataclasses.asdict(TINY), "model_state_dict": state}


def test_paper_profile_loads_a_whisper_checkpoint_and_translates(tmp_path: Path) -> None:
    config = load_config("paper")
    assert config.translate.model == "whisper-large-v2" and config.translate.task == "translate"
    fast = dataclasses.replace(config, device="cpu", translate=dataclasses.replace(
        config.translate, beam_size=2, temperatures=(0.0,)))
    store = _store(tmp_path, config.translate.model, _tiny_checkpoint())
    translator = load_translator(fast, store)
    assert isinstance(translator, WhisperTranslator) and translator.model.dims == TINY
    rng = np.random.default_rng(0)
    audios = [Audio(rng.normal(0, 0.1, 16000).astype(np.float32), 16000),
              Audio(rng.normal(0, 0.1, (2, 44100)).astype(np.float32), 44100)]
    out = translator.translate_batch(audios)
    assert len(out) == 2 and all(r.language == "ja" and np.isfinite(r.no_speech_prob) for r in out)
    assert all((r.text == "") == (r.skipped is not None) for r in out)


def test_checkpoint_problems_are_refused(tmp_path: Path) -> None:
    ckpt = _tiny_checkpoint()
    del ckpt["model_state_dict"]["decoder.ln.weight"]
    with pytest.raises(ConfigError, match="missing"):
        load_whisper(_store(tmp_path / "a", "w", ckpt), "w", "cpu")
    wrong = _tiny_checkpoint()
    wrong["model_state_dict"]["decoder.ln.weight"] = torch.zeros(3)
    with pytest.raises(ConfigError, match="does not fit"):
        load_whisper(_store(tmp_path / "d", "w", wrong), "w", "cpu")
    with pytest.raises(ConfigError, match="dims"):
        load_whisper(_store(tmp_path / "b", "w", {"state_dict": {}}), "w", "cpu")
    with pytest.raises(ChecksumError):
        load_whisper(_store(tmp_path / "c", "w", _tiny_checkpoint(), sha256="0" * 64), "w", "cpu")


def test_turbo_cannot_translate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="turbo"):
        load_whisper(_store(tmp_path, "whisper-turbo", _tiny_checkpoint(), source_name="turbo"), "whisper-turbo", "cpu")
    turbo_store = _store(tmp_path / "x", "w", _tiny_checkpoint(), source_name="large-v3-turbo")
    with pytest.raises(ConfigError, match="turbo"):
        load_whisper(turbo_store, "w", "cpu")
    assert load_whisper(turbo_store, "w", "cpu", task="transcribe").dims == TINY  # turbo may transcribe
    config = load_config("paper")
    paper_turbo = dataclasses.replace(config, device="cpu", translate=dataclasses.replace(config.translate, model="w"))
    with pytest.raises(ConfigError, match="cannot translate|not trained to translate"):
        load_translator(paper_turbo, turbo_store)


def test_english_only_model_cannot_translate(tmp_path: Path) -> None:
    dims = dataclasses.replace(TINY, n_vocab=51864)
    model = Whisper(dims)
    with pytest.raises(ConfigError, match="English-only"):
        WhisperTranslator(model, load_config("paper").translate, "cpu")
