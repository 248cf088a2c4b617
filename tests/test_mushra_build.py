"""``baseline-dub mushra build``: stimuli, anchors, webMUSHRA YAML and CSV, on a tiny Anim-400K folder.

The fixture is an Anim-400K layout made in tmp_path (``tests/support/mushra_inputs.py``: annotations JSON +
extracted ``anim400k_audio_clips/``) whose gold EN audio is real speech (../shared/data/real) over real
music, or synthetic noise, and fake run folders (baseline with a manifest, one extra system without).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from baseline_dub.audio import Audio, load_audio, loudness, normalize_loudness, write_audio
from baseline_dub.cli import main
from baseline_dub.data.dataset import Dataset
from baseline_dub.mushra.stimuli import (
    LOW_ANCHOR_HZ,
    MID_ANCHOR_HZ,
    BuildOptions,
    align_loudness,
    build_mushra,
    fade,
    lowpass,
    prepare_item,
    speech_window_start,
)
from baseline_dub.mushra.webmushra import MAX_CONDITIONS, mushra_pages
from support.mushra_inputs import BASELINE_MODELS, A, B, C, D, E, gating_edge_noise

RATE = 48000


@pytest.fixture(scope="module")
def fixture(mushra_inputs, mushra_build) -> dict:
    inputs = mushra_inputs
    return {"data": inputs.data, "dubs": inputs.dubs, "other": inputs.other, "out": mushra_build.out,
            "build": mushra_build, "dub_a": inputs.dub_a, "dub_b": inputs.dub_b, "root": mushra_build.out.parent}


def _spectrum(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed power spectrum of the channel mean (the window keeps edge leakage out of the stop band)."""
    spectrum = np.abs(np.fft.rfft(x.mean(axis=0).astype(np.float64) * np.hanning(x.shape[1]))) ** 2
    return spectrum, np.fft.rfftfreq(x.shape[1], 1.0 / rate)


def _band_gain_db(out: np.ndarray, ref: np.ndarray, rate: int, low_hz: float, high_hz: float) -> float:
    """Energy of ``out`` over that of ``ref`` between ``low_hz`` and ``high_hz``, in dB."""
    (s_out, freqs), (s_ref, _) = _spectrum(out, rate), _spectrum(ref, rate)
    band = (freqs >= low_hz) & (freqs < high_hz)
    return float(10 * np.log10(s_out[band].sum() / s_ref[band].sum()))


def test_items_chosen_and_skips_recorded(fixture):
    build = fixture["build"]
    assert sorted(i.clip_id for i in build.items) == [A, B]
    reasons = {s.clip_id: s.reason for s in build.skipped}
    assert reasons == {C: "no gold EN audio", D: "baseline dub failed (no_speech)",
                       E: reasons[E]} and reasons[E].startswith("baseline has no dub")
    with open(fixture["out"] / "skipped.csv") as fh:
        assert {r["clip_id"]: r["reason"] for r in csv.DictReader(fh)} == reasons


def test_build_records_what_made_each_system(fixture, tmp_path):
    """build.json names the profile, Whisper and model sha256s each system's manifest rows record for its items."""
    from baseline_dub.mushra.stimuli import MushraBuild

    info = json.loads((fixture["out"] / "build.json").read_text())
    assert info["provenance"] == {
        "baseline": {"profiles": ["offline"], "whispers": ["base"],
                     "models": {k: [v] for k, v in sorted(BASELINE_MODELS.items())}},
        "other": {"profiles": [], "whispers": [], "models": {}}}
    lines = fixture["build"].lines()
    assert "  baseline: offline profile, Whisper base, 2 model(s) (sha256s in build.json)" in lines
    assert "  other: no manifest records its profile" in lines
    mixed = MushraBuild(tmp_path, tmp_path / "t.yaml", (), (), (), {
        "baseline": {"profiles": ["offline", "paper"], "models": {}},
        "mine": {"profiles": ["paper"], "models": {"yourtts": ["a" * 64, "b" * 64]}},
        "sizes": {"profiles": ["offline"], "whispers": ["base", "tiny"], "models": {}}})
    assert mixed.lines()[1:] == [
        "  baseline: offline + paper profile, 0 model(s) (sha256s in build.json); warning: its items were dubbed "
        "with different profiles",
        "  mine: paper profile, 1 model(s) (sha256s in build.json); warning: its items were dubbed with different "
        "weights (yourtts)",
        "  sizes: offline profile, Whisper base + tiny, 0 model(s) (sha256s in build.json); warning: its items were "
        "dubbed with different Whispers"]


def test_every_stimulus_rate_length_channels_loudness(fixture):
    out = fixture["out"]
    detail = {d["clip_id"]: d for d in fixture["build"].details}
    for item in fixture["build"].items:
        assert detail[item.clip_id]["aligned_lufs"] == -23.0  # no item of the fixture needs the peak guard
        ref = sf.info(str(out / item.file_of("reference")))
        assert ref.samplerate == RATE and ref.duration <= 12.0
        assert [s.condition for s in item.stimuli] == ["reference", "baseline", "other", "anchor35", "anchor70"]
        for stim in item.stimuli:
            audio = load_audio(out / stim.file)
            info = sf.info(str(out / stim.file))
            assert info.samplerate == RATE and info.subtype == "PCM_24"
            assert audio.frames == ref.frames and audio.channels == ref.channels
            assert loudness(audio) == pytest.approx(-23.0, abs=0.05), stim
            assert stim.lufs == pytest.approx(loudness(audio), abs=1e-4)  # recorded before 24-bit rounding
            assert audio.peak() <= 10 ** (-1 / 20) + 1e-3
    by_clip = {i.clip_id: i for i in fixture["build"].items}
    # A: 14.25 s stereo reference, trimmed to 12 s; the window skips the speechless lead-in.
    assert sf.info(str(out / by_clip[A].file_of("reference"))).frames == 12 * RATE
    assert sf.info(str(out / by_clip[A].file_of("reference"))).channels == 2
    assert 1.0 <= detail[A]["window_start_seconds"] <= 2.25
    # B: 5 s mono reference; the 8 s stereo dub is down-mixed and cut at its end to the reference length.
    ref_b = sf.info(str(out / by_clip[B].file_of("reference")))
    assert ref_b.channels == 1 and ref_b.frames == 5 * RATE
    got = load_audio(out / by_clip[B].file_of("baseline")).samples[0]
    want = fixture["dub_b"].to(RATE, 1).fit_length(ref_b.frames).samples[0]
    core = slice(RATE // 10, -RATE // 10)  # away from the 20 ms fades
    assert np.corrcoef(got[core], want[core])[0, 1] > 0.999


def test_gating_edge_dub_lands_on_target(fixture):
    """B's baseline dub, which one measure-and-scale pass puts 1.9 LU off, lands within 0.05 LU of -23 LUFS."""
    item = next(i for i in fixture["build"].items if i.clip_id == B)
    frames = sf.info(str(fixture["out"] / item.file_of("reference"))).frames
    before_alignment = fade(fixture["dub_b"].to(RATE, 1).fit_length(frames))  # window start 0: B is under 12 s
    one_pass = loudness(normalize_loudness(before_alignment, -23.0))
    assert abs(one_pass + 23.0) > 0.5, one_pass  # the miss is reproduced
    built = load_audio(fixture["out"] / item.file_of("baseline"))
    assert loudness(built) == pytest.approx(-23.0, abs=0.05)
    assert np.corrcoef(built.samples[0], before_alignment.samples[0])[0, 1] > 0.9999  # the same signal, scaled


def test_short_dub_is_padded_at_its_end(fixture):
    item = next(i for i in fixture["build"].items if i.clip_id == A)
    start = next(d for d in fixture["build"].details if d["clip_id"] == A)["window_start_seconds"]
    baseline = load_audio(fixture["out"] / item.file_of("baseline"))
    end = int((fixture["dub_a"].duration - start) * RATE)  # where the 9.8 s dub ends inside the window
    assert np.abs(baseline.samples[:, end + 100:]).max() == 0.0
    assert np.abs(baseline.samples[:, : end - 100]).max() > 0.01


def test_anchors_are_low_passed_reference(fixture):
    """Each built anchor is the reference times one gain below 0.8 x cut-off, and nothing above it.

    Pass band: the anchor/reference energy ratio is the same (within 0.1 dB) in four bands from 100 Hz to
    0.8 x cut-off: the anchor is the reference, scaled by its loudness gain. Stop band, relative to that
    gain: above 1.15 x cut-off at least 60 dB down, around 2 x cut-off at least 70 dB down (there the
    24th-order filter is far below the 24-bit floor); and inside the anchor itself the energy above
    1.15 x cut-off is at least 60 dB under the energy below the cut-off.
    """
    out = fixture["out"]
    for item in fixture["build"].items:
        ref = load_audio(out / item.file_of("reference")).samples
        for name, cutoff in (("anchor35", LOW_ANCHOR_HZ), ("anchor70", MID_ANCHOR_HZ)):
            anchor = load_audio(out / item.file_of(name)).samples
            edges = [100.0, 0.2 * cutoff, 0.4 * cutoff, 0.6 * cutoff, 0.8 * cutoff]
            passband = [_band_gain_db(anchor, ref, RATE, lo, hi) for lo, hi in zip(edges, edges[1:], strict=False)]
            gain = float(np.mean(passband))
            assert max(passband) - min(passband) < 0.1, (item.clip_id, name, passband)
            stop = _band_gain_db(anchor, ref, RATE, 1.15 * cutoff, RATE / 2) - gain
            at_double = _band_gain_db(anchor, ref, RATE, 1.9 * cutoff, 2.1 * cutoff) - gain
            assert stop < -60.0 and at_double < -70.0, (item.clip_id, name, stop, at_double)
            spectrum, freqs = _spectrum(anchor, RATE)
            above_vs_below = 10 * np.log10(spectrum[freqs >= 1.15 * cutoff].sum() / spectrum[freqs < cutoff].sum())
            assert above_vs_below < -60.0, (item.clip_id, name, above_vs_below)


def test_lowpass_response_on_white_noise():
    """The filter itself: flat pass band, -6 dB at the cut-off (-3 dB per pass), > 60 dB down at 1.15 x cut-off,
    at the float32 floor (> 140 dB down) at 2 x cut-off."""
    noise = Audio(np.random.default_rng(0).standard_normal(RATE * 2).astype(np.float32), RATE)
    for cutoff in (LOW_ANCHOR_HZ, MID_ANCHOR_HZ):
        out = lowpass(noise, cutoff).samples
        for lo, hi in ((100.0, 0.4 * cutoff), (0.4 * cutoff, 0.8 * cutoff)):
            assert _band_gain_db(out, noise.samples, RATE, lo, hi) == pytest.approx(0.0, abs=0.05)
        assert _band_gain_db(out, noise.samples, RATE, 0.995 * cutoff, 1.005 * cutoff) == pytest.approx(-6.02, abs=0.5)
        assert _band_gain_db(out, noise.samples, RATE, 1.15 * cutoff, 1.2 * cutoff) < -60.0
        assert _band_gain_db(out, noise.samples, RATE, 1.95 * cutoff, 2.05 * cutoff) < -140.0


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
    edge = fade(Audio(gating_edge_noise(rate, 1)[:, : rate * 5], rate))
    assert abs(loudness(normalize_loudness(edge, -23.0)) + 23.0) > 0.5  # one pass misses -23 by far
    conditions = {"spiky": Audio(spiky, rate), "smooth": smooth, "edge": edge}
    aligned, lufs = align_loudness(conditions, -14.0)
    assert lufs < -14.0
    assert 10 ** (-1 / 20) * 0.99 < max(a.peak() for a in aligned.values()) <= 10 ** (-1 / 20)
    for name in conditions:
        assert loudness(aligned[name]) == pytest.approx(lufs, abs=0.05), name
    same, target = align_loudness({"smooth": smooth, "edge": edge}, -23.0)
    assert target == -23.0
    assert loudness(same["smooth"]) == pytest.approx(-23.0, abs=0.05)
    assert loudness(same["edge"]) == pytest.approx(-23.0, abs=0.05)
    silent = align_loudness({"silent": Audio.silence(3.0, rate), "smooth": smooth}, -23.0)[0]["silent"]
    assert silent.peak() == 0.0


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
        assert float(row["lufs"]) == pytest.approx(-23.0, abs=0.05)


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
        assert all(s.lufs == pytest.approx(-23.0, abs=0.05) for s in item.stimuli)


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


def test_a_five_one_reference_becomes_stereo_with_its_dialogue(real_dir):
    """webMUSHRA plays mono or stereo only: a 5.1 gold clip (real speech in the centre channel, as films
    carry dialogue) gives stereo conditions in which that speech is still there, in both channels."""
    speech = load_audio(sorted((real_dir / "ja_speech").glob("*.wav"))[0]).mono().resample(RATE)
    five_one = np.zeros((6, speech.frames), dtype=np.float32)
    five_one[2] = speech.samples[0]  # L R C LFE Ls Rs: dialogue in the centre only
    dub = Audio(speech.samples * np.float32(0.5), RATE)
    item = prepare_item(Audio(five_one, RATE), {"baseline": dub}, rate=RATE)
    assert {a.channels for a in item.conditions.values()} == {2}
    ref = item.conditions["reference"].samples
    cut = speech.samples[0, int(round(item.start_seconds * RATE)):][: ref.shape[1]]
    for channel in ref:
        assert abs(np.corrcoef(channel, cut)[0, 1]) > 0.99
