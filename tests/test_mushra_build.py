"""``baseline-dub mushra build``: stimuli, anchors, webMUSHRA YAML and CSV, on a tiny Anim-400K folder.

The fixture is an Anim-400K layout made in tmp_path (annotations JSON + extracted
``anim400k_audio_clips/``) whose gold EN audio is real speech (../shared/data/real) over real music, or
synthetic noise, and fake run folders (baseline with a manifest, one extra system without).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from baseline_dub.audio import Audio, load_audio, loudness, write_audio
from baseline_dub.cli import main
from baseline_dub.data.dataset import Dataset
from baseline_dub.mushra.stimuli import (
    LOW_ANCHOR_HZ,
    MID_ANCHOR_HZ,
    BuildOptions,
    align_loudness,
    build_mushra,
    lowpass,
    speech_window_start,
)
from baseline_dub.mushra.webmushra import MAX_CONDITIONS, mushra_pages

RATE = 48000
A, B, C, D, E = (f"aa/aa00000{i}-clip" for i in range(1, 6))


def _noise(seconds: float, rate: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * np.arange(n) / rate) ** 2  # syllable-rate modulation
    return (0.1 * rng.standard_normal((channels, n)) * env).astype(np.float32)


def _clip(jp: str, en: str) -> dict:
    return {"jp_clip": jp, "en_clip": en, "jp_text": "テスト", "en_text": "test",
            "jp_start_time": "00:00:01.000", "jp_end_time": "00:00:08.000",
            "en_start_time": "00:00:01.000", "en_end_time": "00:00:09.000", "speakers": ["s1"]}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory, real_dir) -> dict:
    root = tmp_path_factory.mktemp("mushra")
    data = root / "data"
    clips_dir = data / "anim400k_audio_clips"
    en = {c: c.replace("aa/aa", "bb/bb") for c in (A, B, C, D, E)}
    episode = {"clips": [_clip(c, en[c]) for c in (A, B, C, D, E)]}
    show = {"show": "Fixture Show", "season": "1", "episodes": {"1": episode}}
    annotations = {"train": [], "val": [], "test": [show]}
    data.mkdir()
    (data / "anim400k_annotations.json").write_text(json.dumps(annotations, ensure_ascii=False))
    # A: 3 s of music, then real speech over the music: 14.25 s of 44.1 kHz stereo (longer than 12 s).
    speech = load_audio(real_dir / "ja_speech" / "test_ja_2.wav")
    music = load_audio(real_dir / "music" / "brahms_hungarian_dance_5.hq.ogg").to(speech.rate, speech.channels)
    lead = int(3.0 * speech.rate)
    mix = music.samples[:, : lead + speech.frames] * 0.25
    mix[:, lead:] += speech.samples
    write_audio(clips_dir / f"{en[A]}.wav", Audio(mix, speech.rate))
    # B: 5 s of modulated noise, 48 kHz mono, as an mp3 (the dataset's own format).
    sf.write(clips_dir / f"{en[B]}.mp3", _noise(5.0, 48000, 1, 1).T, 48000, format="MP3")
    for c in (D, E):  # C has no EN audio at all
        write_audio(clips_dir / f"{en[c]}.wav", Audio(_noise(4.0, 16000, 1, 2), 16000))
    for c in (A, B, C, D, E):
        write_audio(clips_dir / f"{c}.wav", Audio(_noise(4.0, 16000, 1, 3), 16000))
    # Baseline run: A's dub is 3 s of silence then real Japanese speech, 9.8 s at 16 kHz mono (shorter
    # than the reference);
    # B's is 8 s of 24 kHz stereo noise (longer). D failed; E has no file.
    dubs = root / "runs" / "baseline"
    voice = load_audio(real_dir / "ja_speech" / "common_voice_ja_38843402_16k.wav")
    dub_a = Audio(np.concatenate([np.zeros((1, 3 * voice.rate), np.float32), voice.samples], axis=1), voice.rate)
    dub_b = Audio(_noise(8.0, 24000, 2, 4), 24000)
    write_audio(dubs / "test" / f"{A}.wav", dub_a)
    write_audio(dubs / "test" / f"{B}.wav", dub_b)
    rows = [{"clip_id": A, "status": "done", "output": f"test/{A}.wav"},
            {"clip_id": B, "status": "done", "output": f"test/{B}.wav"},
            {"clip_id": D, "status": "failed", "reason": "no_speech", "output": None}]
    (dubs / "test" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    other = root / "runs" / "other"
    for c in (A, B):
        lead_in = np.zeros((1, 3 * 22050), np.float32)  # like the baseline: nothing said in the first 3 s
        write_audio(other / "test" / f"{c}.wav", Audio(np.concatenate([lead_in, _noise(4.0, 22050, 1, 5)], 1), 22050))
    out = root / "anim_mushra"
    build = build_mushra(Dataset.open(data), dubs, out, BuildOptions(items=10, seed=7), {"other": other})
    return {"data": data, "dubs": dubs, "other": other, "out": out, "build": build,
            "dub_a": dub_a, "dub_b": dub_b, "root": root}


def _band_energy(x: np.ndarray, rate: int, low_hz: float) -> float:
    """Energy at and above ``low_hz`` (Hann-windowed, so that edge leakage does not hide the stop band)."""
    spectrum = np.abs(np.fft.rfft(x.mean(axis=0) * np.hanning(x.shape[1]))) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1.0 / rate)
    return float(spectrum[freqs >= low_hz].sum())


def test_items_chosen_and_skips_recorded(fixture):
    build = fixture["build"]
    assert sorted(i.clip_id for i in build.items) == [A, B]
    reasons = {s.clip_id: s.reason for s in build.skipped}
    assert reasons == {C: "no gold EN audio", D: "baseline dub failed (no_speech)",
                       E: reasons[E]} and reasons[E].startswith("baseline has no dub")
    with open(fixture["out"] / "skipped.csv") as fh:
        assert {r["clip_id"]: r["reason"] for r in csv.DictReader(fh)} == reasons


def test_every_stimulus_rate_length_channels_loudness(fixture):
    out = fixture["out"]
    for item in fixture["build"].items:
        ref = sf.info(str(out / item.file_of("reference")))
        assert ref.samplerate == RATE and ref.duration <= 12.0
        assert [s.condition for s in item.stimuli] == ["reference", "baseline", "other", "anchor35", "anchor70"]
        for stim in item.stimuli:
            audio = load_audio(out / stim.file)
            info = sf.info(str(out / stim.file))
            assert info.samplerate == RATE and info.subtype == "PCM_24"
            assert audio.frames == ref.frames and audio.channels == ref.channels
            assert loudness(audio) == pytest.approx(-23.0, abs=0.5), stim
            assert audio.peak() <= 10 ** (-1 / 20) + 1e-3
    by_clip = {i.clip_id: i for i in fixture["build"].items}
    # A: 14.25 s stereo reference, trimmed to 12 s; the window skips the speechless lead-in.
    assert sf.info(str(out / by_clip[A].file_of("reference"))).frames == 12 * RATE
    assert sf.info(str(out / by_clip[A].file_of("reference"))).channels == 2
    detail = {d["clip_id"]: d for d in fixture["build"].details}
    assert 1.0 <= detail[A]["window_start_seconds"] <= 2.25
    # B: 5 s mono reference; the 8 s stereo dub is down-mixed and cut at its end to the reference length.
    ref_b = sf.info(str(out / by_clip[B].file_of("reference")))
    assert ref_b.channels == 1 and ref_b.frames == 5 * RATE
    got = load_audio(out / by_clip[B].file_of("baseline")).samples[0]
    want = fixture["dub_b"].to(RATE, 1).fit_length(ref_b.frames).samples[0]
    core = slice(RATE // 10, -RATE // 10)  # away from the 20 ms fades
    assert np.corrcoef(got[core], want[core])[0, 1] > 0.999


def test_short_dub_is_padded_at_its_end(fixture):
    item = next(i for i in fixture["build"].items if i.clip_id == A)
    start = next(d for d in fixture["build"].details if d["clip_id"] == A)["window_start_seconds"]
    baseline = load_audio(fixture["out"] / item.file_of("baseline"))
    end = int((fixture["dub_a"].duration - start) * RATE)  # where the 9.8 s dub ends inside the window
    assert np.abs(baseline.samples[:, end + 100:]).max() == 0.0
    assert np.abs(baseline.samples[:, : end - 100]).max() > 0.01


def test_anchors_are_low_passed_reference(fixture):
    out = fixture["out"]
    for item in fixture["build"].items:
        ref = load_audio(out / item.file_of("reference")).samples
        for name, cutoff in (("anchor35", LOW_ANCHOR_HZ), ("anchor70", MID_ANCHOR_HZ)):
            anchor = load_audio(out / item.file_of(name)).samples
            ratio_db = 10 * np.log10(_band_energy(ref, RATE, 1.15 * cutoff) / _band_energy(anchor, RATE, 1.15 * cutoff))
            assert ratio_db > 40.0, (item.clip_id, name, ratio_db)
            # below the cut-off the anchor still is the reference (correlated, same loudness target)
            assert _band_energy(anchor, RATE, 0.0) > 0.5 * _band_energy(ref, RATE, 0.0) * 10 ** (-6 / 10)


def test_lowpass_attenuation_on_white_noise():
    noise = Audio(np.random.default_rng(0).standard_normal(RATE * 2).astype(np.float32), RATE)
    for cutoff in (LOW_ANCHOR_HZ, MID_ANCHOR_HZ):
        out = lowpass(noise, cutoff)
        stop = _band_energy(out.samples, RATE, 1.15 * cutoff) / _band_energy(noise.samples, RATE, 1.15 * cutoff)
        passed = (_band_energy(out.samples, RATE, 0.0) - _band_energy(out.samples, RATE, 0.8 * cutoff)) / (
            _band_energy(noise.samples, RATE, 0.0) - _band_energy(noise.samples, RATE, 0.8 * cutoff))
        assert 10 * np.log10(stop) < -60
        assert 10 * np.log10(passed) == pytest.approx(0.0, abs=0.5)


def test_speech_window_finds_the_speech():
    rate = 16000
    t = np.arange(20 * rate) / rate
    x = 0.001 * np.random.default_rng(1).standard_normal(t.size)
    speech = (t >= 8) & (t < 18)
    x[speech] += 0.3 * np.sin(2 * np.pi * 800 * t[speech])
    start = speech_window_start([Audio(x.astype(np.float32), rate)], 12 * rate) / rate
    assert 6.0 <= start <= 8.0


def test_peak_guard_keeps_alignment_and_does_not_clip():
    rate = 48000
    spiky = np.zeros(rate * 3, dtype=np.float32)
    spiky[:: rate // 4] = 1.0  # clicks: tiny loudness, large peaks
    spiky += 0.001 * np.random.default_rng(2).standard_normal(spiky.size).astype(np.float32)
    smooth = Audio(0.05 * np.sin(2 * np.pi * 440 * np.arange(rate * 3) / rate).astype(np.float32), rate)
    aligned, lufs = align_loudness({"spiky": Audio(spiky, rate), "smooth": smooth}, -14.0)
    assert lufs < -14.0
    assert max(a.peak() for a in aligned.values()) <= 10 ** (-1 / 20) + 1e-6
    assert loudness(aligned["spiky"]) == pytest.approx(lufs, abs=0.1)
    assert loudness(aligned["smooth"]) == pytest.approx(lufs, abs=0.1)
    same, target = align_loudness({"smooth": smooth}, -23.0)
    assert target == -23.0 and loudness(same["smooth"]) == pytest.approx(-23.0, abs=0.1)


def test_yaml_parses_back_and_follows_webmushra_rules(fixture):
    out, name = fixture["out"], fixture["out"].name
    config = yaml.safe_load((out / f"{name}.yaml").read_text())
    assert config["testname"] and config["testId"] == name
    assert config["bufferSize"] == 2048 and config["stopOnErrors"] is True
    assert config["showButtonPreviousPage"] is True and config["remoteService"] == "service/write.php"
    pages = config["pages"]
    assert pages[0]["type"] == "generic"
    assert pages[1][0] == "random" and len(pages[1]) == 1 + len(fixture["build"].items)
    assert pages[-1]["type"] == "finish" and pages[-1]["showResults"] and pages[-1]["writeResults"]
    mushra = mushra_pages(config)
    assert [p["id"] for p in mushra] == [i.item for i in fixture["build"].items]
    assert len({p["id"] for p in mushra}) == len(mushra)
    for page in mushra:
        assert page["type"] == "mushra" and page["name"] and page["content"]
        assert page["showWaveform"] is True and page["enableLooping"] is True and page["randomize"] is True
        assert page["createAnchor35"] is False and page["createAnchor70"] is False
        assert set(page["stimuli"]) == {"baseline", "other", "anchor35", "anchor70"}
        assert len(page["stimuli"]) <= MAX_CONDITIONS
        paths = [page["reference"], *page["stimuli"].values()]
        assert all(p.startswith(f"configs/{name}/{page['id']}/") for p in paths)
        infos = [sf.info(str(out / p.removeprefix(f"configs/{name}/"))) for p in paths]
        assert infos[0].duration <= 12.0
        assert {(i.samplerate, i.frames, i.channels) for i in infos} == {(infos[0].samplerate, infos[0].frames,
                                                                           infos[0].channels)}
    readme = (out / "README.txt").read_text()
    assert "webMUSHRA/configs/" in readme and f"?config={name}/{name}.yaml" in readme
    assert f"results/{name}/mushra.csv" in readme


def test_stimuli_csv(fixture):
    with open(fixture["out"] / "stimuli.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["item", "clip_id", "condition", "file", "seconds", "lufs"]
    assert len(rows) == 5 * len(fixture["build"].items)
    for row in rows:
        assert (fixture["out"] / row["file"]).is_file()
        assert float(row["seconds"]) == pytest.approx(sf.info(str(fixture["out"] / row["file"])).duration)
        assert float(row["lufs"]) == pytest.approx(-23.0, abs=0.5)


def test_cli_build_is_seeded_and_rebuilds_in_place(fixture, capsys):
    out = fixture["root"] / "cli_test"
    args = ["mushra", "build", "--data", str(fixture["data"]), "--dubs", str(fixture["dubs"]), "--items", "1",
            "--seed", "3", "--max-seconds", "4", "--rate", "44100", "--out", str(out)]
    assert main(args) == 0
    first = (out / "stimuli.csv").read_text()
    assert "?config=cli_test/cli_test.yaml" in capsys.readouterr().out
    assert sf.info(str(out / "item01" / "reference.wav")).duration == pytest.approx(4.0)
    assert sf.info(str(out / "item01" / "reference.wav")).samplerate == 44100
    assert main(args) == 0
    assert (out / "stimuli.csv").read_text() == first


@pytest.mark.parametrize("extra, message", [
    (["--max-seconds", "13"], "12"),
    (["--rate", "12345"], "webMUSHRA supports"),
    (["--system", "reference=x"], "reserved"),
    ([x for i in range(10) for x in ("--system", f"s{i}=x")], "limit of 12"),
])
def test_cli_refuses_what_webmushra_would_refuse(fixture, tmp_path, capsys, extra, message):
    args = ["mushra", "build", "--data", str(fixture["data"]), "--dubs", str(fixture["dubs"]),
            "--out", str(tmp_path / "t"), *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_refuses_a_foreign_output_folder(fixture, tmp_path, capsys):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "precious.txt").write_text("keep me")
    args = ["mushra", "build", "--data", str(fixture["data"]), "--dubs", str(fixture["dubs"]),
            "--out", str(tmp_path / "t")]
    assert main(args) == 2
    assert "not from a MUSHRA build" in capsys.readouterr().err
    assert (tmp_path / "t" / "precious.txt").read_text() == "keep me"


def test_no_usable_clip_is_an_error(fixture, tmp_path, capsys):
    empty = tmp_path / "run"
    (empty / "test").mkdir(parents=True)
    args = ["mushra", "build", "--data", str(fixture["data"]), "--dubs", str(empty), "--out", str(tmp_path / "t")]
    assert main(args) == 2
    assert "no clip of split 'test'" in capsys.readouterr().err


def test_missing_run_folder_is_an_error(fixture, tmp_path, capsys):
    args = ["mushra", "build", "--data", str(fixture["data"]), "--dubs", str(tmp_path / "nope"),
            "--out", str(tmp_path / "t")]
    assert main(args) == 2
    assert "baseline-dub run" in capsys.readouterr().err


def test_paths_are_relative_to_webmushra_root(fixture):
    """Copying the folder into a webMUSHRA tree makes every YAML path resolve from its root."""
    out, name = fixture["out"], fixture["out"].name
    webmushra = fixture["root"] / "webMUSHRA"
    (webmushra / "configs").mkdir(parents=True)
    import shutil

    shutil.copytree(out, webmushra / "configs" / name)
    config = yaml.safe_load((webmushra / "configs" / name / f"{name}.yaml").read_text())
    for page in mushra_pages(config):
        for path in [page["reference"], *page["stimuli"].values()]:
            assert (webmushra / Path(path)).is_file()


def test_builds_from_the_bundled_sample(tmp_path):
    """The sample dataset (tarball source) with stand-in dubs (each clip's own JP audio) builds a test."""
    dataset = Dataset.open(None)
    dubs = tmp_path / "run"
    rows = []
    for clip in dataset.clips("test"):
        if dataset.has_audio(clip.id):
            write_audio(dubs / "test" / f"{clip.id}.wav", dataset.audio(clip.id))
            rows.append({"clip_id": clip.id, "status": "done", "output": f"test/{clip.id}.wav"})
        else:
            rows.append({"clip_id": clip.id, "status": "missing_audio", "reason": "missing_audio", "output": None})
    (dubs / "test" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    build = build_mushra(dataset, dubs, tmp_path / "sample_mushra", BuildOptions(items=10))
    usable = [c.id for c in dataset.clips("test") if dataset.has_audio(c.id) and dataset.has_audio(c.en_clip)]
    assert sorted(i.clip_id for i in build.items) == sorted(usable) and usable
    assert len(build.items) + len(build.skipped) == len(dataset.clips("test"))
    for item in build.items:
        infos = [sf.info(str(build.out / s.file)) for s in item.stimuli]
        assert {(i.samplerate, i.frames, i.channels) for i in infos} == {(RATE, infos[0].frames, infos[0].channels)}
        assert all(s.lufs == pytest.approx(-23.0, abs=0.5) for s in item.stimuli)


def test_config_refuses_long_or_crowded_pages():
    from baseline_dub.errors import ConfigError
    from baseline_dub.mushra.webmushra import MushraItem, StimulusFile, webmushra_config

    ref = StimulusFile("reference", "item01/reference.wav", 12.5, -23.0)
    with pytest.raises(ConfigError, match="longer than 12 s"):
        webmushra_config("t", "T", [MushraItem("item01", "x/y", (ref,))])
    ref = StimulusFile("reference", "item01/reference.wav", 12.0, -23.0)
    many = tuple(StimulusFile(f"s{i}", f"item01/s{i}.wav", 12.0, -23.0) for i in range(13))
    with pytest.raises(ConfigError, match="at most 12"):
        webmushra_config("t", "T", [MushraItem("item01", "x/y", (ref, *many))])
    ok = webmushra_config("t", "T", [MushraItem("item01", "x/y", (ref, *many[:12]))])
    assert len(mushra_pages(ok)[0]["stimuli"]) == 12
