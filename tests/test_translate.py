"""Offline Whisper base on real Japanese speech, on both engines (openai-whisper and ctranslate2): batching
equals one-by-one, English output, silence and noise give empty lines, long-form windowing, transcription
with detection, the CLI."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from baseline_dub.audio import Audio, load_audio
from baseline_dub.cli import main
from baseline_dub.config import CONFIG_DIR, load_config
from baseline_dub.stages.translate import EngineBase, load_translator
from support.english import looks_english

CLIPS = ("common_voice_ja_38853932_16k.wav", "common_voice_ja_38833628_16k.wav")
# deterministic and fast (beam 5 + fallback: bench/); cpu_batch_size > 1 so that batches really are decoded together
GREEDY = {"beam_size": 1, "temperatures": [0.0], "cpu_batch_size": 8}
ENGINES = ("openai-whisper", "ctranslate2")


@pytest.fixture(scope="module", params=ENGINES)
def translator(store, request) -> EngineBase:
    config = load_config("offline", device="cpu")
    fast = dataclasses.replace(config, translate=dataclasses.replace(
        config.translate, beam_size=GREEDY["beam_size"], temperatures=tuple(GREEDY["temperatures"]),
        cpu_batch_size=GREEDY["cpu_batch_size"], engine=request.param))
    translator = load_translator(fast, store)
    assert translator.engine == request.param
    return translator


@pytest.fixture(scope="module")
def clips(real_dir: Path) -> list[Audio]:
    return [load_audio(real_dir / "ja_speech" / name) for name in CLIPS]


@pytest.fixture(scope="module")
def batch(translator, clips):
    return translator.translate_batch(clips)


def test_batch_gives_the_same_text_as_one_by_one(translator, clips, batch) -> None:
    assert translator.batch_size == 8
    one_by_one = [translator.translate(c) for c in clips]
    assert [r.text for r in batch] == [r.text for r in one_by_one]
    assert np.allclose([r.avg_logprob for r in batch], [r.avg_logprob for r in one_by_one], atol=1e-3)


def test_real_japanese_speech_becomes_english(batch) -> None:
    for name, r in zip(CLIPS, batch, strict=True):
        assert r.skipped is None and r.language == "ja", (name, r)
        assert looks_english(r.text), (name, r.text)
        assert r.no_speech_prob < 0.5


def test_silence_and_white_noise_give_empty_lines(translator) -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, 5 * 16000).astype(np.float32)
    out = translator.translate_batch([Audio.silence(5.0, 16000), Audio(noise, 16000)])
    for r in out:
        assert r.text == "" and r.skipped is not None, r
    assert out[0].skipped == "silence"


def test_segments_over_30_s_use_long_form_windowing(translator, real_dir: Path) -> None:
    parts = [load_audio(p).to(16000, 1).samples[0] for p in sorted((real_dir / "ja_speech").glob("common_voice*.wav"))]
    gap = np.zeros(8000, np.float32)
    long = np.concatenate([x for p in parts for x in (p, gap)])
    assert len(long) / 16000 > 30
    r = translator.translate(Audio(long, 16000))
    assert r.skipped is None and looks_english(r.text) and len(r.text.split()) >= 12, r


def test_transcribe_with_language_detection(translator, real_dir: Path) -> None:
    audio = load_audio(real_dir / "ja_speech" / "test_ja_2.wav")
    r = translator.transcribe_batch([audio], language="auto")[0]
    assert r.language == "ja" and r.skipped is None
    reference = "これはテスト文ですこの機械が日本語をちゃんと聞き取れているかどうかを計ります"
    shared = sum(ch in r.text for ch in reference) / len(reference)
    assert shared > 0.6, r.text


@pytest.mark.parametrize(("engine", "model"), [("openai-whisper", "whisper-base"), ("ctranslate2", "whisper-base-ct2")])
def test_cli_prints_json(real_dir: Path, tmp_path: Path, capsys, engine: str, model: str) -> None:
    profile = yaml.safe_load((CONFIG_DIR / "offline.yaml").read_text())
    profile["translate"] = {**profile.get("translate", {}), **GREEDY, "engine": engine}
    config_path = tmp_path / "offline-greedy.yaml"
    config_path.write_text(yaml.safe_dump(profile))
    clip = str(real_dir / "ja_speech" / CLIPS[0])
    code = main(["translate", clip, "--profile", "offline", "--config", str(config_path), "--device", "cpu", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 0 and record["model"] == model and record["profile"] == "offline"
    assert record["translate_engine"] == engine and record["translate_compute_type"] == "float32"
    assert looks_english(record["text"]) and record["language"] == "ja" and record["skipped"] is None
    assert main(["translate", clip, "--profile", "offline", "--language", "xx"]) == 2
    assert "not a Whisper language" in capsys.readouterr().err
