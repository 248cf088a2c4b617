"""``baseline-dub translate`` on real files of any length, with the real offline weights (issue 29, part 4).

The command translates a file as the pipeline translates a clip annotated single-speaker (VAD, trimmed to speech,
cut at pauses into utterances of at most ``diarize.max_utterance_seconds``) and prints every usable line; when
nothing usable comes out it says why on stderr and exits 1. Long files are made here from the real recordings
(two of them joined with a pause), English speech with Kokoro (no English recording ships with the test data).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from baseline_dub.audio import Audio, load_audio, write_audio
from baseline_dub.cli import main
from baseline_dub.commands.translate import NOTHING_USABLE
from support.english import looks_english

SIX = ("common_voice_ja_38833628_16k.wav", "common_voice_ja_38843402_16k.wav", "common_voice_ja_38853932_16k.wav",
       "common_voice_ja_38898180_16k.wav", "test_ja_1.wav", "test_ja_2.wav")
OFFLINE = ["--profile", "offline", "--device", "cpu"]
SAID = ("The old lighthouse keeper climbed the stairs every evening to light the lamp for the ships at sea.",
        "When the storm finally passed, the whole village walked down to the harbour to count the boats.")


def translate(capsys, *args: str) -> tuple[int, list[str], str]:
    """``baseline-dub translate ARGS`` in this process: exit status, stdout lines, stderr."""
    code = main(["translate", *args, *OFFLINE])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def joined(first: Audio, second: Audio, pause: float) -> Audio:
    """``first``, ``pause`` seconds of silence, then ``second`` (at ``first``'s rate and channel count), cut to a
    whole number of 16 kHz samples so that the pipeline's 16 kHz copy lasts exactly as long as the file."""
    second = second.to(first.rate, first.channels)
    gap = Audio.silence(pause, first.rate, first.channels)
    audio = Audio(np.concatenate([first.samples, gap.samples, second.samples], axis=1), first.rate)
    step = first.rate // np.gcd(first.rate, 16000)
    return audio.fit_length(audio.frames - audio.frames % step)


@pytest.fixture(scope="module")
def long_file(real_dir: Path, tmp_path_factory) -> Path:
    """test_ja_2 (11.3 s, 44.1 kHz stereo: "this is a test sentence...") then, after 1 s, a 6.4 s Common Voice
    reader ("the king does not like this way either..."): 18.6 s of one file, over the 10 s utterance limit."""
    speech = real_dir / "ja_speech"
    audio = joined(load_audio(speech / "test_ja_2.wav"), load_audio(speech / "common_voice_ja_38853932_16k.wav"), 1.0)
    return write_audio(tmp_path_factory.mktemp("long") / "two readers.wav", audio)


@pytest.fixture(scope="module")
def long_json(long_file: Path) -> list[dict]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["translate", str(long_file), "--json", *OFFLINE]) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("name", SIX)
def test_each_real_file_prints_english(capsys, real_dir: Path, name: str) -> None:
    code, lines, err = translate(capsys, str(real_dir / "ja_speech" / name))
    assert code == 0, err
    assert lines, err
    for line in lines:
        assert looks_english(line), (name, line)


def test_a_dialogue_prints_its_lines(capsys, real_dir: Path) -> None:
    """A J-Moshi dialogue (two voices, one a channel) read as one speaker's file: its mono mix gives English."""
    code, lines, err = translate(capsys, str(real_dir / "ja_dialogue" / "jmoshi-ext-440-cont.wav"))
    assert code == 0, err
    assert lines and all(looks_english(line) for line in lines), lines


def test_a_long_file_gives_one_line_per_utterance_in_order(long_json: list[dict], long_file: Path) -> None:
    duration = load_audio(long_file).duration
    assert len(long_json) >= 2, long_json
    starts = [r["start"] for r in long_json]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for before, after in zip(long_json, long_json[1:], strict=False):
        assert before["end"] <= after["start"]  # utterances never overlap
    for r in long_json:
        assert 0.0 <= r["start"] < r["end"] <= duration
        assert r["end"] - r["start"] <= 10.0 + 2 * 0.1  # the offline limit, plus the pause padding each side
        assert r["profile"] == "offline" and r["model"] == "whisper-base-ct2" and len(r["sha256"]) == 64
        assert r["translate_engine"] == "ctranslate2" and r["input"] == str(long_file)
        assert set(r) >= {"text", "skipped", "language", "avg_logprob", "no_speech_prob", "compression_ratio"}
    texts = [r["text"] for r in long_json if r["text"]]
    assert len(texts) >= 2 and all(looks_english(t) for t in texts), texts
    assert "king" in texts[-1].lower() and "king" not in texts[0].lower(), texts  # the second reader comes last


def test_the_long_file_is_cut_as_the_pipeline_cuts_a_single_speaker_clip(long_json, long_file, diarizer) -> None:
    """The command's utterances are those the Diarizer gives a clip annotated single-speaker: one rule."""
    clip = diarizer.diarize_detailed(load_audio(long_file), multi_speaker=False)
    assert [(r["start"], r["end"]) for r in long_json] == [(s.start, s.end) for s in clip.segments]


def test_text_output_is_the_json_lines_usable_texts(capsys, long_json, long_file) -> None:
    code, lines, err = translate(capsys, str(long_file))
    assert code == 0, err
    assert lines == [r["text"] for r in long_json if r["text"]]
    skipped = [r for r in long_json if r["skipped"]]
    assert err.count("skipped (") == len(skipped)
    for r in skipped:
        assert f"{r['start']:.2f}-{r['end']:.2f} s skipped ({r['skipped']})" in err


@pytest.fixture(scope="module")
def english_file(store, tmp_path_factory) -> Path:
    """Two English sentences spoken by Kokoro (an English voice), 1.5 s apart: over 10 s in all."""
    from kokoro_onnx import Kokoro

    voices = store.path("kokoro-voices-v1.0")
    kokoro = Kokoro(str(store.path("kokoro-82m-int8")), str(voices))
    with np.load(voices, allow_pickle=False) as styles:
        style = np.asarray(styles["am_michael"], dtype=np.float32)
    parts = [Audio(np.asarray(s, dtype=np.float32), rate)
             for s, rate in (kokoro.create(text, voice=style, speed=1.0, lang="en-us") for text in SAID)]
    audio = joined(parts[0], parts[1], 1.5)
    assert audio.duration > 10.0
    return write_audio(tmp_path_factory.mktemp("english") / "english.wav", audio)


def test_language_en_transcribes_each_utterance(capsys, english_file: Path) -> None:
    import jiwer

    code, lines, err = translate(capsys, str(english_file), "--language", "en")
    assert code == 0, err
    assert len(lines) == 2, lines
    for line, said in zip(lines, SAID, strict=True):
        assert jiwer.wer(said.lower().rstrip("."), line.lower().replace(",", "").rstrip(".")) <= 0.2, line


@pytest.mark.weights
def test_silence_says_no_speech_and_exits_1(capsys, tmp_path: Path) -> None:
    wav = write_audio(tmp_path / "quiet.wav", Audio.silence(5.0, 16000))
    code, lines, err = translate(capsys, str(wav), "--json")
    assert code == NOTHING_USABLE == 1
    assert lines == []
    assert err.strip().count("\n") == 0 and err.startswith(f"{wav}: no speech heard"), err


def test_music_gives_no_line_and_says_why(capsys, real_dir: Path) -> None:
    """Vibe Ace (61 s of music, no voice): silero VAD hears 'speech' in two stretches, Whisper's no-speech rule
    refuses both; the output is empty, each stretch noted on stderr, and the closing sentence names the file."""
    music = real_dir / "music" / "Kevin_MacLeod_-_Vibe_Ace.hq.ogg"
    code, lines, err = translate(capsys, str(music))
    assert code == NOTHING_USABLE
    assert lines == []
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{music}: ") and ("no speech heard" in last or "no usable English text" in last), err


def test_brahms_gives_no_speech_heard(capsys, real_dir: Path) -> None:
    music = real_dir / "music" / "brahms_hungarian_dance_5.hq.ogg"
    code, lines, err = translate(capsys, str(music), "--json")
    assert (code, lines) == (NOTHING_USABLE, [])
    assert err.strip() == (f"{music}: no speech heard (silero VAD found none in its 45.8 s), nothing to translate; "
                           "if speech is buried under music, translate its vocals (baseline-dub separate)")


def test_a_bad_file_is_a_one_line_error(capsys, tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("these are notes, not audio\n")
    for path, says in ((text, "cannot decode audio"), (tmp_path / "gone.wav", "no such audio file")):
        code, lines, err = translate(capsys, str(path))
        assert code == 2 and lines == []
        assert err.startswith(f"error: {path}: ") and says in err and err.strip().count("\n") == 0, err


def test_help_says_what_comes_out(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["translate", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in ("utterances of at most diarize.max_utterance_seconds", "one line per usable utterance",
                   "JSON Lines, one object per utterance", "start, end", "exit status: 0", "1 when nothing usable",
                   "2 on an error", "--language", "--profile", "--device"):
        assert phrase in text, phrase
