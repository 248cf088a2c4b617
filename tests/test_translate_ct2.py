"""The ctranslate2 engine: its settings, offline loading from the store with no network, the decoding loop's
options and rules (temperature fallback, the best attempt, skip reasons) on a scripted model, hostile audio."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import CONFIG_DIR, TranslateConfig, load_config
from baseline_dub.errors import ConfigError
from baseline_dub.stages.translate import load_translator
from baseline_dub.stages.translate.ct2 import CT2Translator, ct2_folder, resolve_compute_type
from support.english import looks_english


def test_engine_settings_are_checked(tmp_path: Path) -> None:
    assert load_config("offline").translate.engine == "ctranslate2"
    assert load_config("paper").translate.engine == "openai-whisper"
    names = load_config("offline").model_names()
    assert {"whisper-base-ct2", "whisper-base-ct2-config", "whisper-base-ct2-vocabulary"} <= set(names)
    assert "whisper-base" not in names and "whisper-large-v2" in load_config("paper").model_names()
    for key, value, match in (("engine", "faster", "translate.engine"), ("compute_type", "int4", "compute_type")):
        data = yaml.safe_load((CONFIG_DIR / "offline.yaml").read_text())
        data["translate"][key] = value
        path = tmp_path / f"{key}.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError, match=match):
            load_config("offline", path)
    assert resolve_compute_type("auto", "cpu") == "float32" and resolve_compute_type("int8", "cpu") == "int8"
    with pytest.raises(ConfigError, match="not supported by CTranslate2 on cpu"):
        resolve_compute_type("float16", "cpu")


@pytest.fixture()
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_loads_offline_from_the_store_with_no_network(store, real_dir: Path, no_network) -> None:
    config = load_config("offline", device="cpu")
    translator = load_translator(config, store)
    assert isinstance(translator, CT2Translator)
    assert translator.describe() == {"translate_engine": "ctranslate2", "translate_compute_type": "float32"}
    clip = load_audio(real_dir / "ja_speech" / "common_voice_ja_38853932_16k.wav")
    r = translator.translate(clip)
    assert r.skipped is None and r.language == "ja" and looks_english(r.text), r
    int8 = load_translator(dataclasses.replace(config, translate=dataclasses.replace(config.translate,
                                                                                   compute_type="int8")), store)
    assert int8.compute_type == "int8" and looks_english(int8.translate(clip).text)
    # the folder is complete for faster-whisper too (tokenizer.json beside model.bin: no hub download)
    from faster_whisper import WhisperModel

    folder = ct2_folder(store, config.translate)
    assert sorted(p.name for p in folder.iterdir()) >= ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    model = WhisperModel(str(folder), device="cpu", compute_type="int8", local_files_only=True)
    assert model.model.is_multilingual and model.hf_tokenizer.token_to_id("<|translate|>") == 50358


def test_hostile_audio_gives_empty_lines_with_reasons(store) -> None:
    translator = load_translator(load_config("offline", device="cpu"), store)
    rng = np.random.default_rng(0)
    out = translator.translate_batch([Audio.silence(4.0, 16000), Audio(np.zeros(0, np.float32), 16000),
                                      Audio(rng.normal(0, 0.1, 5 * 16000).astype(np.float32), 16000)])
    assert [r.skipped for r in out[:2]] == ["silence", "silence"]
    assert out[2].text == "" and out[2].skipped is not None, out[2]


def test_a_sampled_decode_does_not_depend_on_what_was_decoded_before(store, real_dir: Path) -> None:
    """CTranslate2 seeds a worker thread's generator once, at its first draw: without reopening the model for each
    call that samples, a clip's sampled fallback would depend on every sampled decode before it in the process."""
    config = load_config("offline", device="cpu")
    sampled_only = dataclasses.replace(config.translate, temperatures=(0.4,))  # every decode is a sampled one
    translator = load_translator(dataclasses.replace(config, translate=sampled_only), store)
    clip = load_audio(real_dir / "ja_speech" / "common_voice_ja_38853932_16k.wav")
    other = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav")
    first = translator.translate(clip)
    translator.translate_batch([other, other])
    again = translator.translate(clip)
    assert first.temperature == 0.4 and (first.text, first.avg_logprob) == (again.text, again.avg_logprob)


class Scripted:
    """A stand-in for ``ctranslate2.models.Whisper``: each ``generate`` call answers the next scripted
    ``(text, score, no_speech_prob)`` for every row, and records its options."""

    is_multilingual = True
    num_languages = 99
    n_mels = 80

    def __init__(self, script: list[tuple[str, float, float]]) -> None:
        from whisper.tokenizer import get_tokenizer

        self.tokenizer = get_tokenizer(True, num_languages=99, language="ja", task="translate")
        self.script = list(script)
        self.calls: list[dict] = []

    def encode(self, features, to_cpu: bool = False):  # noqa: ANN001
        return np.zeros((np.asarray(features).shape[0], 1500, 4), np.float32)

    def detect_language(self, features):  # noqa: ANN001
        return [[("<|ja|>", 0.9), ("<|en|>", 0.1)]] * np.asarray(features).shape[0]

    def generate(self, features, prompts, **options):  # noqa: ANN001
        self.calls.append({"rows": len(prompts), "prompt": prompts[0], **options})
        text, score, no_speech = self.script.pop(0)
        ids = self.tokenizer.encode(" " + text) + [self.tokenizer.eot]
        return [SimpleNamespace(sequences_ids=[ids], scores=[score], no_speech_prob=no_speech)] * len(prompts)


def _translator(script: list[tuple[str, float, float]], **changes) -> tuple[CT2Translator, Scripted]:
    config = dataclasses.replace(TranslateConfig(engine="ctranslate2"), **changes)
    model = Scripted(script)
    return CT2Translator(model, config, "cpu", compute_type="int8"), model


SPEECH = Audio(np.random.default_rng(1).normal(0, 0.1, 3 * 16000).astype(np.float32), 16000)
LOOP = "I am going to go to the store. " * 8


def test_the_loop_uses_the_configured_options_and_falls_back() -> None:
    translator, model = _translator([(LOOP, -0.2, 0.01), ("I am here.", -0.3, 0.01)], beam_size=5, best_of=4)
    r = translator.translate(SPEECH)
    assert (r.text, r.temperature, r.skipped) == ("I am here.", 0.2, None)
    first, second = model.calls
    tok = model.tokenizer
    assert first["prompt"] == [tok.sot, tok.to_language_token("ja"), tok.translate, tok.no_timestamps] \
        == [50258, 50266, 50358, 50363]
    assert (first["beam_size"], first["num_hypotheses"], first["sampling_topk"]) == (5, 1, 1)
    assert (second["beam_size"], second["num_hypotheses"], second["sampling_topk"]) == (1, 4, 0)
    assert second["sampling_temperature"] == 0.2 and first["return_no_speech_prob"]
    assert first["max_length"] == 4 + 16 + 24  # prompt + 16 + 3 s * 8 tokens per second
    assert r.avg_logprob == pytest.approx(-0.3 * 4 / 5)  # CT2's length-normalised score -> sum / (tokens + 1)


def test_when_every_temperature_fails_the_best_attempt_is_judged() -> None:
    script = [(LOOP, -0.1, 0.01)] * 5 + [("Zebra.", -0.9, 0.01)]
    translator, model = _translator(script, temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0))
    r = translator.translate(SPEECH)
    assert len(model.calls) == 6 and (r.text, r.temperature) == ("Zebra.", 1.0)  # the only non-repetitive one
    translator, model = _translator([(LOOP, -0.1, 0.01)] * 2, temperatures=(0.0, 0.5))
    r = translator.translate(SPEECH)
    assert r.text == "" and r.skipped == "repetitive" and len(model.calls) == 2


@pytest.mark.parametrize(("script", "reason"), [
    ([("Thank you.", -1.5, 0.9)], "no_speech"),
    ([("♪ ♪ ♪", -0.3, 0.1)], "non_verbal"),
    ([("", -0.3, 0.1)], "empty"),
    ([("Okay. Okay. Okay. Okay. Okay.", -0.3, 0.1)], "repeated_ngram"),
    ([("Thank you for watching.", -0.2, 0.9)], None),
])
def test_skip_reasons_are_the_projects(script, reason) -> None:
    translator, _ = _translator(script, temperatures=(0.0,))
    assert translator.translate(SPEECH).skipped == reason


def test_fallback_on_logprob_switch() -> None:
    unlikely = ("I am a lawyer.", -1.4, 0.05)
    translator, model = _translator([unlikely, ("I am a pilot.", -0.5, 0.05)], temperatures=(0.0, 0.2))
    assert translator.translate(SPEECH).text == "I am a pilot." and len(model.calls) == 2
    translator, model = _translator([unlikely], temperatures=(0.0, 0.2), fallback_on_logprob=False)
    assert translator.translate(SPEECH).text == "I am a lawyer." and len(model.calls) == 1


def test_long_segments_are_windowed_and_joined() -> None:
    long = Audio(np.random.default_rng(2).normal(0, 0.1, 65 * 16000).astype(np.float32), 16000)
    translator, model = _translator([("One two three.", -0.2, 0.01)], temperatures=(0.0,), cpu_batch_size=8)
    r = translator.translate(long)
    assert model.calls[0]["rows"] == 3 and r.text == "One two three. One two three. One two three."


def test_the_offline_profiles_decode_work_per_segment_is_bounded() -> None:
    """What the README promises of the offline profile: a segment whose text loops at every temperature costs one
    greedy decode and one sampled one (best of 5 at 0.4), each of at most 16 + 8 tokens per second: never
    Whisper's six-temperature ladder of 224 tokens (the 13 s clip that once took 42.5 s)."""
    offline = load_config("offline", device="cpu").translate
    model = Scripted([(LOOP, -0.1, 0.01)] * 6)
    clip = Audio(np.random.default_rng(3).normal(0, 0.1, 13 * 16000).astype(np.float32), 16000)
    r = CT2Translator(model, offline, "cpu", compute_type="float32").translate(clip)
    assert r.delooped and r.text == "I am going to go to the store."  # every attempt looped: cut, not dropped
    greedy, sampled = model.calls
    assert (greedy["sampling_topk"], greedy["num_hypotheses"]) == (1, 1)  # top-1: greedy whatever the temperature
    assert (sampled["sampling_topk"], sampled["sampling_temperature"], sampled["num_hypotheses"]) == (0, 0.4, 5)
    assert all(c["max_length"] == 4 + 16 + 8 * 13 for c in model.calls)  # prompt + 16 + 13 s * 8 tokens/s
