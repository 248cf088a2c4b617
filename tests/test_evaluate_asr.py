"""The WER path of ``baseline-dub evaluate`` on real English speech and the real offline Whisper weights.

The English speech is made here with Kokoro (``kokoro-onnx`` on the store's offline weights), since no
English recording ships with the test data; Whisper base must hear back what it was asked to say.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from baseline_dub import cli
from baseline_dub.audio import Audio, write_audio

SAID = "I am sure that something bad happened to my 2 friends."
NOT_SAID = "The weather in the mountains was cold and grey all week."


@pytest.fixture(scope="module")
def english_speech(store) -> Audio:
    from kokoro_onnx import Kokoro

    voices = store.path("kokoro-voices-ja")
    kokoro = Kokoro(str(store.path("kokoro-82m-int8")), str(voices))
    with np.load(voices, allow_pickle=False) as styles:
        style = np.asarray(styles["jf_alpha"], dtype=np.float32)
    samples, rate = kokoro.create(SAID, voice=style, speed=1.0, lang="en-us")
    return Audio(np.asarray(samples, dtype=np.float32), rate)


@pytest.mark.slow
def test_wer_of_a_real_synthesis_through_whisper(tmp_path, english_speech):
    run = tmp_path / "run"
    parts = run / "test" / "aa" / "parts"
    write_audio(parts / "seg-00.flac", english_speech)
    write_audio(parts / "seg-01.flac", english_speech)
    seconds = english_speech.duration
    row = {"clip_id": "aa/aa-1", "split": "test", "status": "done", "reason": None, "parts": "test/aa/parts",
           "duration": 2 * seconds + 1, "source_lufs": -23.0, "dub_lufs": -23.0, "en_text": SAID,
           "segments": [
               {"start": 0.0, "end": seconds, "text": SAID, "skipped": None, "synth_seconds": seconds,
                "file": "seg-00.flac"},
               {"start": seconds + 1, "end": 2 * seconds + 1, "text": NOT_SAID, "skipped": None,
                "synth_seconds": seconds, "file": "seg-01.flac"}],
           "stage_seconds": {"translate": 1.0}}
    (run / "test" / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    out = tmp_path / "report"
    assert cli.main(["evaluate", "--run", str(run), "--out", str(out), "--device", "cpu"]) == 0
    segments = list(csv.DictReader((out / "segments.csv").open()))
    said, not_said = segments
    assert said["asr_text"] and float(said["wer"]) <= 0.1, said["asr_text"]
    assert float(not_said["wer"]) >= 0.7, not_said["asr_text"]
    report = (out / "report.md").read_text()
    assert "Each synthesis transcribed by Whisper" in report and "Corpus WER" in report
    clip = next(csv.DictReader((out / "clips.csv").open()))
    assert float(clip["wer"]) == pytest.approx((float(said["wer"]) * 11 + float(not_said["wer"]) * 11) / 22,
                                               abs=0.05)
