"""``baseline-dub evaluate``: the manifest reader and the whole report on a small fake run built here.

The fake run holds real Japanese speech from ``../shared/data/real``: one segment's "synthesis" is the
very slot of the kept ``vocals.wav`` (recomputed similarity must be 1), another is a different speaker.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from baseline_dub import cli
from baseline_dub.audio import load_audio, loudness, write_audio
from baseline_dub.errors import DataError
from baseline_dub.report import metrics
from baseline_dub.report.evaluate import Manifest, evaluate_run, find_split

FEMALE = "common_voice_ja_38843402_16k.wav"  # 6.8 s
MALE = "common_voice_ja_38853932_16k.wav"
HYP_A = ["I'm sure something bad happened to my 2 friends.", "The little devil thought so."]
LOOP = "Where are you going? Where are you going? Where are you going? Where are you"


def _row(clip_id: str, status: str, **extra) -> dict:
    return {"clip_id": clip_id, "split": "test", "status": status, "reason": None if status == "done" else status,
            "error": None, **extra}


def _write_rows(path: Path, rows: list[dict], tail: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory, real_dir) -> Path:
    """A split ``test`` with 4 clips: A done (stems kept), B failed then done, C missing audio, D no speech."""
    out = tmp_path_factory.mktemp("run")
    female = load_audio(real_dir / "ja_speech" / FEMALE)
    male = load_audio(real_dir / "ja_speech" / MALE)
    parts_a = out / "test" / "aa" / "aa-1" / "parts"
    write_audio(parts_a / "vocals.wav", female)
    write_audio(parts_a / "seg-00.flac", female.slice(0.5, 3.0))          # 2.5 s in a 2.5 s slot
    write_audio(parts_a / "seg-01.flac", male.slice(1.0, 5.0))            # 4.0 s in a 3.3 s slot
    write_audio(out / "test" / "aa" / "aa-1" / "aa-1.wav", female)
    segments_a = [
        {"start": 0.5, "end": 3.0, "speaker": "S0", "text": HYP_A[0], "skipped": None, "synth_seconds": 2.5,
         "placed_start": 0.5, "similarity": 0.81, "file": "seg-00.flac"},
        {"start": 3.2, "end": 6.5, "speaker": "S1", "text": HYP_A[1], "skipped": None, "synth_seconds": 4.0,
         "placed_start": 2.5, "similarity": 0.62, "file": "seg-01.flac"},
        {"start": 6.5, "end": 6.8, "speaker": "S1", "text": "", "skipped": "hallucination",
         "heard": "Thank you for watching.", "synth_seconds": 0.0, "similarity": None, "file": None},
    ]
    clip_a = _row("aa/aa-1", "done", output="test/aa/aa-1/aa-1.wav", parts="test/aa/aa-1/parts",
                  duration=6.8, source_lufs=-24.0, dub_lufs=-23.0, mixing_ratio=0.7, ratio_source="estimated",
                  profile="offline", models={"whisper-base": "c809f29c" * 8}, en_text=" ".join(HYP_A),
                  segments=segments_a, stage_seconds={"separate": 3.0, "translate": 1.0, "synthesize": 4.0},
                  started="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:00:09+00:00")
    # B: its dub is measured (no dub_lufs), its only synthesis has no synth_seconds (measured from the file)
    dub_b = male.slice(0.0, 4.0).scaled(0.5)
    write_audio(out / "test" / "bb" / "bb-2" / "bb-2.wav", dub_b)
    write_audio(out / "test" / "bb" / "bb-2" / "parts" / "seg-00.flac", male.slice(0.0, 1.5))
    clip_b = _row("bb/bb-2", "done", output="test/bb/bb-2/bb-2.wav", parts="test/bb/bb-2/parts", duration=4.0,
                  source_lufs=-20.0, mixing_ratio=0.5, ratio_source="sidecar", profile="offline",
                  en_text="Where are you going tonight?",
                  segments=[{"start": 1.0, "end": 3.0, "speaker": "S0", "text": "Where are you going?",
                             "skipped": None, "similarity": 0.7, "file": "seg-00.flac", "delooped": True,
                             "synth_seconds": 1.5, "heard": LOOP}],
                  stage_seconds={"separate": 1.0, "translate": 0.5, "synthesize": 0.5},
                  started="2026-01-01T00:00:10+00:00", finished="2026-01-01T00:00:12+00:00")
    failed_b = _row("bb/bb-2", "failed", reason="stage_error", error="clip bb/bb-2: synthesize failed")
    failed_b["reason"] = "stage_error"
    missing_c = _row("cc/cc-3", "missing_audio", error="clip cc/cc-3: no audio in the archive")
    no_speech_d = _row("dd/dd-4", "failed", error="clip dd/dd-4: no speech")
    no_speech_d["reason"] = "no_speech"
    _write_rows(out / "test" / "manifest.jsonl", [failed_b, clip_a, missing_c, clip_b, no_speech_d],
                tail='{"clip_id": "ee/ee-5", "status": "do')  # a line cut by a kill
    return out


def test_manifest_last_row_wins_and_outcomes_are_counted_by_reason(fake_run):
    read = Manifest.open(fake_run / "test")
    assert list(read.clips) == ["bb/bb-2", "aa/aa-1", "cc/cc-3", "dd/dd-4"]
    assert read.clips["bb/bb-2"].status == "done"
    assert read.outcomes() == {"done": 2, "missing_audio": 1, "no_speech": 1}
    assert [r.clip_id for r in read.done] == ["bb/bb-2", "aa/aa-1"]


def test_manifest_errors_name_what_to_do(tmp_path, fake_run):
    with pytest.raises(DataError, match="no manifest.jsonl here; run `baseline-dub run"):
        Manifest.open(tmp_path)
    assert find_split(fake_run, None) == "test"
    _write_rows(tmp_path / "val" / "manifest.jsonl", [])
    _write_rows(tmp_path / "test" / "manifest.jsonl", [])
    with pytest.raises(DataError, match="several split manifests"):
        find_split(tmp_path, None)


def test_clip_and_segment_metrics_without_models(fake_run):
    ev = evaluate_run(fake_run, "test")
    clips = {c["clip_id"]: c for c in ev.clips}
    a, b = clips["aa/aa-1"], clips["bb/bb-2"]
    assert a["bleu"] == pytest.approx(100.0) and a["chrf"] == pytest.approx(100.0)
    assert a["coverage_dub"] == pytest.approx((2.5 + 4.0) / 6.8)
    assert a["coverage_source"] == pytest.approx((2.5 + 3.3 + 0.3) / 6.8)
    assert a["n_synthesized"] == 2 and a["lufs_difference"] == pytest.approx(1.0)
    assert a["rtf"] == pytest.approx(8.0 / 6.8)
    seg = [s for s in ev.segments if s["clip_id"] == "aa/aa-1"]
    assert [s["length_ratio"] for s in seg[:2]] == [pytest.approx(1.0), pytest.approx(4.0 / 3.3)]
    assert seg[0]["overlap_next"] == pytest.approx(0.5) and seg[1]["overlap_next"] is None
    # B: synthesis length and dub loudness measured from the files
    assert [s for s in ev.segments if s["clip_id"] == "bb/bb-2"][0]["synth_seconds"] == pytest.approx(1.5)
    assert b["dub_lufs"] == pytest.approx(loudness(load_audio(fake_run / "test/bb/bb-2/bb-2.wav")))
    assert b["lufs_from"] == "measured" and 0 < b["bleu"] < 100
    assert clips["cc/cc-3"].get("bleu") is None and clips["dd/dd-4"]["reason"] == "no_speech"


def test_evaluate_command_writes_report_csvs_and_plots(fake_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["evaluate", "--run", str(fake_run), "--no-asr", "--out", str(out), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.md")
    report = (out / "report.md").read_text()
    sections = [line[3:] for line in report.splitlines() if line.startswith("## ")]
    assert sections == ["Summary", "Speech coverage", "Translation quality", "Speaker similarity", "Timing",
                        "Loudness and mixing", "Intelligibility", "Run cost", "Models", "Files"]
    assert "is the annotation's ASR transcript of the English dub, not a human reference" in report
    assert "--no-asr" in report and "| separate | 4.0 | 40.0% |" in report
    assert "| no_speech | 1 | clip dd/dd-4: no speech |" in report
    for name in ("bleu", "similarity", "length_ratio", "lufs_difference", "stages"):
        png = out / "plots" / f"{name}.png"
        assert f"(plots/{name}.png)" in report and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    clips = list(csv.DictReader((out / "clips.csv").open()))
    assert [c["status"] for c in clips] == ["done", "done", "missing_audio", "failed"]
    segments = list(csv.DictReader((out / "segments.csv").open()))
    assert len(segments) == 4
    # what Whisper invented is counted and kept as it heard it; a loop spoken delooped says so
    assert "| lines Whisper invented, not spoken / looping lines delooped | 1 / 1 (of 4 lines) |" in report
    assert sorted((s["skipped"], s["heard"], s["delooped"]) for s in segments if s["heard"]) == [
        ("", LOOP, "True"), ("hallucination", "Thank you for watching.", "False")]
    # recomputed from vocals.wav: seg-00 *is* its slot of the vocals, seg-01 is another speaker
    sims = [float(s["similarity_recomputed"]) for s in segments if s["clip_id"] == "aa/aa-1" and s["file"]]
    assert sims[0] == pytest.approx(1.0, abs=1e-3) and sims[1] < 0.9
    assert "recomputed" in report and float(clips[1]["similarity_recomputed"]) == pytest.approx(np.mean(sims))


def test_evaluate_command_rejects_a_folder_without_a_run(tmp_path, capsys):
    assert cli.main(["evaluate", "--run", str(tmp_path / "nothing"), "--no-asr"]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_wer_is_only_left_out_with_no_asr(fake_run):
    ev = evaluate_run(fake_run, "test")
    assert all("wer" not in s for s in ev.segments) and ev.asr is None
    assert metrics.word_errors([], []).wer is None


def test_a_run_where_every_clip_failed_still_gets_a_report(tmp_path):
    rows = [_row("aa/aa-1", "failed", error="clip aa/aa-1: remix failed"), _row("bb/bb-2", "missing_audio")]
    rows[0]["reason"] = "stage_error"
    _write_rows(tmp_path / "run" / "val" / "manifest.jsonl", rows)
    out = tmp_path / "report"
    assert cli.main(["evaluate", "--run", str(tmp_path / "run"), "--no-asr", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "| clips done / all | 0 / 2 |" in report and "No done clip has stage times." in report
    assert "| stage_error | 1 | clip aa/aa-1: remix failed |" in report
    assert (out / "segments.csv").read_text().startswith("clip_id,index,")


def test_evaluate_help_says_it_follows_the_run(capsys):
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default: the run's own, read from its manifest rows" in help_text


@pytest.fixture()
def asr_spy(monkeypatch):
    """Record the configuration ``evaluate`` loads its English ASR from (no Whisper is loaded)."""
    import baseline_dub.report.evaluate as report_evaluate

    seen = []

    def fake_asr(config, store):
        seen.append(config)
        return (lambda audios: ["" for _ in audios]), "spy"

    monkeypatch.setattr(report_evaluate, "load_english_asr", fake_asr)
    return seen


def _with_profiles(fake_run: Path, dest: Path, profiles: dict[str, str]) -> Path:
    """A copy of ``fake_run`` whose rows record ``profiles`` (clip id -> profile)."""
    import shutil

    shutil.copytree(fake_run, dest)
    manifest = dest / "test" / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()[:-1]]  # the cut line left out
    _write_rows(manifest, [{**r, "profile": profiles.get(r["clip_id"], r.get("profile"))} for r in rows])
    return dest


def test_evaluate_measures_with_the_runs_profile(fake_run, tmp_path, capsys, asr_spy):
    assert cli.main(["evaluate", "--run", str(fake_run), "--out", str(tmp_path / "a"), "--device", "cpu"]) == 0
    assert "measuring with the offline profile's models (the run's, from its manifest" in capsys.readouterr().err
    paper = _with_profiles(fake_run, tmp_path / "paper_run", {"aa/aa-1": "paper", "bb/bb-2": "paper"})
    assert cli.main(["evaluate", "--run", str(paper), "--device", "cpu"]) == 0
    assert "measuring with the paper profile's models" in capsys.readouterr().err
    assert [c.profile for c in asr_spy] == ["offline", "paper"] and asr_spy[1].translate.model == "whisper-large-v2"
    assert cli.main(["evaluate", "--run", str(paper), "--profile", "offline", "--device", "cpu"]) == 0
    assert asr_spy[2].profile == "offline" and "measuring with" not in capsys.readouterr().err


def test_evaluate_refuses_to_guess_between_profiles(fake_run, tmp_path, capsys, asr_spy):
    mixed = _with_profiles(fake_run, tmp_path / "mixed", {"aa/aa-1": "paper"})
    assert cli.main(["evaluate", "--run", str(mixed), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "dubbed with different profiles (offline, paper); pass --profile" in err and not asr_spy


@pytest.mark.weights  # the auto profile's ASR is loaded
def test_a_run_without_a_recorded_profile_is_measured_with_auto(tmp_path, capsys, asr_spy):
    rows = [_row("aa/aa-1", "failed", error="clip aa/aa-1: remix failed")]
    _write_rows(tmp_path / "run" / "test" / "manifest.jsonl", rows)
    assert cli.main(["evaluate", "--run", str(tmp_path / "run"), "--no-asr", "--out", str(tmp_path / "a")]) == 0
    assert not asr_spy and "measuring with" not in capsys.readouterr().err  # nothing to measure: nothing loaded
    assert cli.main(["evaluate", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "b"), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "measuring with the auto profile's models (no row of the run records a profile" in err
    assert len(asr_spy) == 1 and f"profile: {asr_spy[0].profile}" in err  # auto says what it picked
