"""`baseline-dub run` on the dataset as really downloaded: a selection none of whose clips has audio is an error
(exit 2) before any model loads, naming where the audio was looked for and what was there; an archive that
breaks in the middle of a run keeps the finished clips, records the rest as failed, prints the summary, exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from baseline_dub import cli, pipeline
from baseline_dub.config import SAMPLE_DIR
from baseline_dub.outputs.dub import Dub
from baseline_dub.stages.types import Stems
from support.download_layouts import ANNOTATIONS, AUDIO, build, hf_download
from support.manifest import manifest_rows


class CopyPipeline:
    """Stands in for the models: each clip's "dub" is its own audio (no speech placed), made at once."""

    config = SimpleNamespace(profile="copy")
    load_seconds = 0.0
    provenance = {"profile": "copy", "whisper": None}

    def dub_batch(self, items: list) -> list[Dub]:
        return [Dub(audio=i.audio, source=i.audio, stems=Stems(i.audio, i.audio), segments=(), translations=(),
                    syntheses=(), mixing_ratio=0.5, ratio_source="copy", source_lufs=-20.0, dub_lufs=-20.0,
                    stage_seconds={}, provenance={"profile": "copy"}, clip_id=i.clip_id) for i in items]


@pytest.fixture
def no_models(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("models were loaded before the data was refused")
    monkeypatch.setattr(pipeline, "DubPipeline", refuse)


@pytest.fixture
def copy_models(monkeypatch):
    monkeypatch.setattr(pipeline, "DubPipeline", lambda *args, **kwargs: CopyPipeline())


def _run(capsys, data: Path, out: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["run", "--split", "test", "--data", str(data), "--out", str(out), "--profile", "offline",
                     "--no-progress", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_audio_folder_holding_no_clips_stops_before_models_load(tmp_path, capsys, no_models):
    root = hf_download(tmp_path / "anim400k")
    for part in (root / AUDIO).iterdir():  # renamed parts: nothing this folder holds is the archive
        part.rename(part.with_name(part.name.replace(AUDIO, "audio")))
    code, _, err = _run(capsys, root, tmp_path / "out")
    assert code == 2
    assert "error: none of the 5 selected clips of split 'test' has audio: looked in no audio found in" in err
    assert "a folder with 6 .part-* files and no .mp3 file in <id_folder>/ sub-folders" in err
    assert "huggingface-cli download davidchan/anim400k" in err
    assert not (tmp_path / "out" / "test" / "manifest.jsonl").exists()


def test_archive_without_the_selected_clips_stops_before_models_load(tmp_path, capsys, no_models):
    root = build(tmp_path / "anim400k", "cat inside the folder")
    data = json.loads((root / ANNOTATIONS).read_text())
    for show in data["test"]:
        for episode in show["episodes"].values():
            for clip in episode["clips"]:
                clip["jp_clip"] = "zz/" + clip["jp_clip"].split("/")[1]
    (root / ANNOTATIONS).write_text(json.dumps(data))
    code, _, err = _run(capsys, root, tmp_path / "out")
    assert code == 2
    assert f"none of the 5 selected clips of split 'test' has audio: looked in {root / AUDIO / AUDIO}.tar.gz, " \
           "which holds 14 other clips" in err and "--annotations FILE" in err
    assert not (tmp_path / "out" / "test" / "manifest.jsonl").exists()
    assert "data: reading" in err  # several sources: which one is read, and why
    shutil.rmtree(root / AUDIO)  # no audio at all
    code, _, err = _run(capsys, root, tmp_path / "out")
    assert code == 2 and f"holds no {AUDIO}/ folder, {AUDIO}.tar.gz or {AUDIO}.tar.gz.part-* files" in err


def test_extracted_folder_without_the_selected_clips_stops_before_models_load(tmp_path, capsys, no_models):
    root = build(tmp_path / "anim400k", "extracted beside, tarball kept")
    (root / f"{AUDIO}.tar.gz").unlink()
    for folder in (root / AUDIO).iterdir():  # keep only the train and val clips
        if folder.name not in ("ab", "b5", "f3", "fc"):
            shutil.rmtree(folder)
    code, _, err = _run(capsys, root, tmp_path / "out", "--limit", "2")
    assert code == 2 and "none of the 2 selected clips of split 'test' has audio" in err


def test_an_archive_breaking_mid_run_keeps_what_was_done(tmp_path, capsys, copy_models):
    root = hf_download(tmp_path / "anim400k")
    part = root / AUDIO / f"{AUDIO}.tar.gz.part-03"
    whole = part.read_bytes()
    part.write_bytes(whole[:60000])  # the stream breaks after three of the test clips
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, root, out, "--batch-clips", "2")
    assert code == 1, err
    assert "done             3" in stdout and "failed           2 (bad_data: 2)" in stdout
    assert f"{AUDIO}.tar.gz.part-03 is 60,000 bytes" in err and "(2 clip(s) not read)" in err
    rows = manifest_rows(out / "test")
    assert sorted(r["status"] for r in rows.values()) == ["done", "done", "done", "failed", "failed"]
    failed = [r for r in rows.values() if r["status"] == "failed"]
    assert all("not read, the audio archive broke before it" in r["error"] and "part-03" in r["error"]
               for r in failed)
    assert json.loads((out / "test" / "summary.json").read_text())["failed"] == {"bad_data": 2}
    part.write_bytes(whole)  # downloaded again: the rerun does only the two clips not read
    code, stdout, err = _run(capsys, root, out)
    assert code == 0, err
    assert "finished before this run: 3" in stdout and "done             1" in stdout
    assert "missing audio    1" in stdout


def test_a_rerun_whose_only_clips_left_are_missing_is_not_an_error(tmp_path, capsys, copy_models):
    root = build(tmp_path / "anim400k", "cat inside the folder, parts deleted")
    out = tmp_path / "out"
    assert _run(capsys, root, out)[0] == 0
    code, stdout, _ = _run(capsys, root, out)  # the missing clip is tried again: no audio, reported, exit 0
    assert code == 0 and "finished before this run: 4" in stdout and "missing audio    1" in stdout


def test_run_takes_the_annotations_option(tmp_path, capsys, copy_models):
    root = hf_download(tmp_path / "anim400k")
    shutil.copy(SAMPLE_DIR / "anim400k_annotations_sample.json", root / "anim400k_annotations_copy.json")
    code, _, err = _run(capsys, root, tmp_path / "out", "--limit", "1")
    assert code == 2 and "several annotation files" in err and "--annotations FILE" in err
    code, stdout, err = _run(capsys, root, tmp_path / "out", "--limit", "1", "--annotations", str(root / ANNOTATIONS))
    assert code == 0 and "done             1" in stdout, err


def test_mushra_build_without_audio_says_where_it_looked(tmp_path, capsys):
    root = hf_download(tmp_path / "anim400k")
    for part in (root / AUDIO).iterdir():
        part.rename(part.with_name(part.name.replace(AUDIO, "audio")))
    code = cli.main(["mushra", "build", "--data", str(root), "--dubs", str(tmp_path / "runs"),
                     "--out", str(tmp_path / "anim_test")])
    err = capsys.readouterr().err
    assert code == 2 and "none of the 5 selected clips of split 'test' has audio" in err
    assert "6 .part-* files and no .mp3" in err and not (tmp_path / "anim_test").exists()
