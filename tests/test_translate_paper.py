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
from baseline_dub.models.store import ModelEntry, Store, sha256_file
from baseline_dub.stages.translate import WhisperTranslator, load_translator, read_whisper_checkpoint
from support.paper_models import TINY_WHISPER as TINY
from support.paper_models import tiny_whisper_checkpoint


def _store(tmp_path: Path, name: str, checkpoint: object, source_name: str = "large-v2",
           sha256: str | None = None) -> Store:
    path = tmp_path / "whisper" / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    entry = ModelEntry(name=name, file=f"whisper/{name}.pt", source={"kind": "whisper", "name": source_name},
                       sha256=sha256 or sha256_file(path), profiles=("paper",))
    return Store(root=tmp_path, registry={name: entry})


def test_paper_profile_loads_a_whisper_checkpoint_and_translates(tmp_path: Path) -> None:
    config = load_config("paper")
    assert config.translate.model == "whisper-large-v2" and config.translate.task == "translate"
    fast = dataclasses.replace(config, device="cpu", translate=dataclasses.replace(
        config.translate, beam_size=2, temperatures=(0.0,)))
    store = _store(tmp_path, config.translate.model, tiny_whisper_checkpoint())
    translator = load_translator(fast, store)
    assert isinstance(translator, WhisperTranslator) and translator.model.dims == TINY
    rng = np.random.default_rng(0)
    audios = [Audio(rng.normal(0, 0.1, 16000).astype(np.float32), 16000),
              Audio(rng.normal(0, 0.1, (2, 44100)).astype(np.float32), 44100)]
    out = translator.translate_batch(audios)
    assert len(out) == 2 and all(r.language == "ja" and np.isfinite(r.no_speech_prob) for r in out)
    assert all((r.text == "") == (r.skipped is not None) for r in out)


def test_checkpoint_problems_are_refused(tmp_path: Path) -> None:
    ckpt = tiny_whisper_checkpoint()
    del ckpt["model_state_dict"]["decoder.ln.weight"]
    with pytest.raises(ConfigError, match="missing"):
        read_whisper_checkpoint(_store(tmp_path / "a", "w", ckpt), "w", "cpu")
    wrong = tiny_whisper_checkpoint()
    wrong["model_state_dict"]["decoder.ln.weight"] = torch.zeros(3)
    with pytest.raises(ConfigError, match="does not fit"):
        read_whisper_checkpoint(_store(tmp_path / "d", "w", wrong), "w", "cpu")
    with pytest.raises(ConfigError, match="dims"):
        read_whisper_checkpoint(_store(tmp_path / "b", "w", {"state_dict": {}}), "w", "cpu")
    with pytest.raises(ChecksumError):
        read_whisper_checkpoint(_store(tmp_path / "c", "w", tiny_whisper_checkpoint(), sha256="0" * 64), "w", "cpu")


def test_turbo_cannot_translate(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="turbo"):
        read_whisper_checkpoint(_store(tmp_path, "whisper-turbo", tiny_whisper_checkpoint(), source_name="turbo"),
                                "whisper-turbo", "cpu")
    turbo_store = _store(tmp_path / "x", "w", tiny_whisper_checkpoint(), source_name="large-v3-turbo")
    with pytest.raises(ConfigError, match="turbo"):
        read_whisper_checkpoint(turbo_store, "w", "cpu")
    assert read_whisper_checkpoint(turbo_store, "w", "cpu", task="transcribe").dims == TINY  # turbo may transcribe
    config = load_config("paper")
    paper_turbo = dataclasses.replace(config, device="cpu", translate=dataclasses.replace(config.translate, model="w"))
    with pytest.raises(ConfigError, match="cannot translate|not trained to translate"):
        load_translator(paper_turbo, turbo_store)


def test_english_only_model_cannot_translate(tmp_path: Path) -> None:
    dims = dataclasses.replace(TINY, n_vocab=51864)
    model = Whisper(dims)
    with pytest.raises(ConfigError, match="English-only"):
        WhisperTranslator(model, load_config("paper").translate, "cpu")


# large-v2.pt's exact dims (openai-whisper's release); its model_state_dict is float16
LARGE_V2 = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=1280, n_audio_head=20, n_audio_layer=32,
                           n_vocab=51865, n_text_ctx=448, n_text_state=1280, n_text_head=20, n_text_layer=32)


def test_fp16_container_as_large_v2_is_saved(tmp_path: Path) -> None:
    """The real ``large-v2.pt`` holds float16 tensors: they load (weights_only) into the float32 model
    exactly, upcast, and the model translates; large-v2's dims get its alignment heads."""
    import whisper

    from baseline_dub.stages.translate import _dims_name

    ckpt = tiny_whisper_checkpoint()
    half = {k: v.half() for k, v in ckpt["model_state_dict"].items()}
    store = _store(tmp_path, "whisper-large-v2", {"dims": ckpt["dims"], "model_state_dict": half})
    assert all(v.dtype == torch.float16 for v in torch.load(store.path("whisper-large-v2"),
                                                            weights_only=True)["model_state_dict"].values())
    model = read_whisper_checkpoint(store, "whisper-large-v2", "cpu")
    state = model.state_dict()
    for name, value in half.items():
        assert state[name].dtype == torch.float32 and torch.equal(state[name], value.float()), name
    config = load_config("paper")
    fast = dataclasses.replace(config.translate, beam_size=1, temperatures=(0.0,))
    out = WhisperTranslator(model, fast, "cpu").translate(Audio(np.zeros(16000, np.float32) + 0.01, 16000))
    assert out.language == "ja" and np.isfinite(out.avg_logprob)
    assert _dims_name(LARGE_V2) == "large-v2" and "large-v2" in whisper._ALIGNMENT_HEADS


@pytest.fixture(scope="module")
def audio_aware_tiny() -> Whisper:
    """A tiny random Whisper whose decoder listens to the audio: its per-segment log-probabilities differ
    (a batch row paired with another segment's audio would show), while its logits are sharp enough
    that sampling at a low temperature always draws the same tokens."""
    model = Whisper(TINY)
    model.load_state_dict(tiny_whisper_checkpoint()["model_state_dict"])
    with torch.no_grad():
        model.decoder.ln.weight.mul_(300.0)
        for block in model.decoder.blocks:
            block.cross_attn.out.weight.mul_(40.0)
        model.encoder.ln_post.weight.mul_(5.0)
    return model.eval()


@pytest.mark.parametrize(("label", "temperature"), [("beam 5", 0.0), ("best_of 5", 0.01)])
def test_batched_beam_and_best_of_match_whisper_one_by_one(audio_aware_tiny, label: str, temperature: float) -> None:
    """The paper profile's beam 5 and ``best_of`` 5 (the CUDA batch path: ``GroupedTask`` repeats each
    segment's audio features for its beams or samples) give, batched, what openai-whisper's own
    ``decode`` gives for each segment alone."""
    import whisper

    from baseline_dub.stages.translate.batch import SkipRules, decode_batch, segment_mel

    rng = np.random.default_rng(1)
    segments = [(0.3 * np.sin(2 * np.pi * f * np.arange(int(16000 * d)) / 16000)
                 + rng.normal(0, 0.05, int(16000 * d))).astype(np.float32)
                for f, d in ((150, 1.0), (900, 1.5), (2000, 0.7))]
    options = {"task": "translate", "language": "ja", "without_timestamps": True, "fp16": False,
               "beam_size": 5, "best_of": 5}
    batched = decode_batch(audio_aware_tiny, segments, options, (temperature,), SkipRules())
    upstream_options = {k: v for k, v in options.items() if k != ("beam_size" if temperature else "best_of")}
    alone = [whisper.decode(audio_aware_tiny, segment_mel(s, TINY.n_mels),
                            whisper.DecodingOptions(temperature=temperature, **upstream_options)) for s in segments]
    assert [d.text for d in batched] == [a.text.strip() for a in alone], label
    logprobs = [d.avg_logprob for d in batched]
    np.testing.assert_allclose(logprobs, [a.avg_logprob for a in alone], atol=1e-4, rtol=0)
    assert min(abs(a - b) for i, a in enumerate(logprobs) for b in logprobs[i + 1:]) > 5e-3  # rows tell apart
