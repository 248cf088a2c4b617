"""Real Japanese becomes the *right* English: on every real Japanese file in ../shared/data/real/ja_speech, the
offline profile's Whisper (its own default settings) says the words that the file's shared transcript makes
certain (README of ../shared/data/real: 王 king, 人間 human, 話す talk, 考えました thought, 聞こえ hear, マイク mic,
テスト test, 機械 machine, 日本語 Japanese). Each word is one Whisper base says with greedy and with beam-5 decoding,
so a pass means the translation carries the meaning, not that one decoding's wording was memorised."""

from __future__ import annotations

from pathlib import Path

import pytest

from baseline_dub.audio import load_audio
from baseline_dub.config import load_config
from baseline_dub.stages.translate import load_translator

WORDS = {
    "common_voice_ja_38833628_16k.wav": ("human",),
    "common_voice_ja_38843402_16k.wav": ("thought",),
    "common_voice_ja_38853932_16k.wav": ("king",),
    "common_voice_ja_38898180_16k.wav": ("talk",),
    "test_ja_1.wav": ("hear", "mic"),
    "test_ja_2.wav": ("test", "machine", "japanese"),
}


@pytest.fixture(scope="module")
def texts(store, real_dir: Path) -> dict[str, str]:
    files = sorted((real_dir / "ja_speech").glob("*.wav"))
    assert sorted(p.name for p in files) == sorted(WORDS), "every real Japanese file has its certain words"
    translator = load_translator(load_config("offline", device="cpu"), store)
    results = translator.translate_batch([load_audio(p) for p in files])
    return {p.name: r.text.lower() for p, r in zip(files, results, strict=True)}


@pytest.mark.parametrize("name", sorted(WORDS))
def test_the_transcripts_certain_words_are_said(texts: dict[str, str], name: str) -> None:
    missing = [w for w in WORDS[name] if w not in texts[name]]
    assert not missing, (name, texts[name])
