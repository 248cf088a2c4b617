"""What the dub says on audio this project did not make (tests/support/real_dataset.py, in the true release layout).

`baseline-dub run` over real Japanese speech (a 13 s reader, a 75 s monologue, three real speakers taking
turns, a J-Moshi dialogue), real music and noise, with the offline weights: every spoken clip gets English
over most of its speech (coverage >= 80 % single speaker, >= 70 % conversations), by as many voices as the
annotation lists speakers; music and noise get no line at all, in `run` and in `translate` alike; the rows,
summary.json and the report carry coverage, words per speech second and speaker counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support import real_dataset
from support.manifest import manifest_rows

pytestmark = pytest.mark.weights  # `baseline-dub run` on ../shared's audio
BIN = Path(sys.executable).parent
SPOKEN = ("single13", "single75", "conversation", "dialogue")
MIN_COVERAGE = {"single13": 0.8, "single75": 0.8, "conversation": 0.7, "dialogue": 0.7}


@pytest.fixture(scope="module")
def real_data(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("real_data")
    return folder, real_dataset.build(folder)


@pytest.fixture(scope="module")
def real_run(real_data, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, dict[str, dict]]:
    data, ids = real_data
    out = tmp_path_factory.mktemp("real_run")
    proc = subprocess.run([str(BIN / "baseline-dub"), "run", "--split", "test", "--data", str(data), "--out",
                           str(out), "--profile", "offline", "--no-progress"],
                          capture_output=True, text=True, timeout=1800)
    rows = manifest_rows(out / "test")
    return out, proc, {kind: rows[cid] for kind, cid in ids.items()}


def test_the_run_finishes_with_one_row_per_clip_and_exit_0(real_run):
    _, proc, rows = real_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(rows) == set(real_dataset.KINDS)


@pytest.mark.parametrize("kind", SPOKEN)
def test_spoken_clips_get_english_over_most_of_their_speech(real_run, kind):
    row = real_run[2][kind]
    assert row["status"] == "done", row.get("error")
    assert row["speech_seconds"] > 4.0
    assert row["coverage"] >= MIN_COVERAGE[kind], (row["coverage"], [s["skipped"] for s in row["segments"]])
    assert row["en_words_per_speech_second"] >= 1.0
    assert "low_coverage" not in row["quality_flags"]


def test_long_speech_is_dubbed_as_utterances_each_at_its_own_start(real_run):
    row = real_run[2]["single75"]
    spoken = [s for s in row["segments"] if s["text"]]
    assert len(spoken) >= 6  # about 60 s of speech, in utterances of at most 10 s
    assert all(s["end"] - s["start"] <= 15.0 for s in row["segments"])
    starts = [s["placed_start"] for s in spoken]
    assert starts == sorted(starts) and starts[-1] > 0.7 * row["duration"]  # the last line near the end, not at 0


@pytest.mark.parametrize("kind", SPOKEN)
def test_the_annotated_speakers_are_found_or_the_shortfall_recorded(real_run, kind):
    row = real_run[2][kind]
    assert row["speakers_expected"] == real_dataset.ANNOTATED[kind]
    if row["speakers_found"] < row["speakers_expected"]:
        assert "fewer_speakers" in row["quality_flags"]
    voices = {s["voice"] for s in row["segments"] if s["text"]}
    assert len(voices) == len({s["speaker"] for s in row["segments"] if s["text"]})  # one voice per speaker


def test_conversations_get_their_speakers_distinct_voices(real_run):
    rows = real_run[2]
    assert rows["dialogue"]["speakers_found"] == 2
    assert len({s["voice"] for s in rows["dialogue"]["segments"] if s["text"]}) == 2
    assert rows["conversation"]["speakers_found"] >= 2
    assert all(s["voice"].split("_")[0] in ("af", "am", "bf", "bm") for r in rows.values()
               for s in r["segments"] if s["text"])  # English voices only speak English


@pytest.mark.parametrize("kind", ["music", "noise"])
def test_music_and_noise_get_no_line(real_run, kind):
    row = real_run[2][kind]
    assert row["status"] == "no_speech", row
    assert not [s for s in row["segments"] if s["text"] and not s["skipped"]]
    assert not any(s["file"] for s in row["segments"])


def test_translate_and_run_agree_that_music_holds_no_speech(real_data, real_run, tmp_path):
    """`translate` on the clip's audio gives no line, as the run did: one no-speech rule. Nothing usable is exit
    status 1 and a sentence on stderr naming the file: no speech heard, or every utterance refused."""
    from baseline_dub.audio import write_audio
    from baseline_dub.data.dataset import Dataset

    data, ids = real_data
    wav = write_audio(tmp_path / "music.wav", Dataset.open(str(data)).audio(ids["music"]))
    proc = subprocess.run([str(BIN / "baseline-dub"), "translate", str(wav), "--json", "--profile", "offline"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-2000:]
    utterances = [json.loads(line) for line in proc.stdout.splitlines()]
    assert not [u for u in utterances if u["text"] or not u["skipped"]]
    why = "no usable English text" if utterances else "no speech heard"
    assert proc.stderr.strip().splitlines()[-1].startswith(f"{wav}: ") and why in proc.stderr, proc.stderr
    assert real_run[2]["music"]["reason"] in ("no_speech", "no_usable_text")


def test_summary_and_report_carry_speech_coverage(real_run, tmp_path):
    out, proc, rows = real_run
    summary = json.loads((out / "test" / "summary.json").read_text())
    spoken = [rows[k] for k in SPOKEN]
    assert summary["coverage"] >= 0.75
    assert summary["speech_seconds"] == pytest.approx(sum(r["speech_seconds"] for r in rows.values()), abs=0.01)
    assert summary["quality_flags"].get("low_coverage", 0) == 0
    assert "speech covered" in proc.stdout + proc.stderr
    assert all(r["en_words_per_speech_second"] > 0 for r in spoken)
    report = tmp_path / "report"
    done = subprocess.run([str(BIN / "baseline-dub"), "evaluate", "--run", str(out), "--split", "test", "--out",
                           str(report), "--no-asr", "--profile", "offline"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (report / "report.md").read_text()
    assert "## Speech coverage" in text and (report / "plots" / "speech_coverage.png").is_file()
    clips = (report / "clips.csv").read_text().splitlines()
    assert "speech_coverage" in clips[0].split(",")
    assert "speech dubbed" in (report / "report.html").read_text()
