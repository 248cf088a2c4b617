"""Diarization error rate and speed of the diarize stage on conversations built from real speech.

Turns are Common Voice clips from ../shared/data/real/ja_speech (female 38843402, males 38853932 and
38898180, "unclear" 38833628), each trimmed to its first..last silero-VAD speech, so the reference
turn boundaries are known exactly; each file is its own speaker (the two men are two speakers, so the
"4turns" cases F, M, F, M2 and "6turns" hold three). Cases: no overlap, 0.8 s overlaps, music under the speech
(../shared/data/real/music at 10 dB and 0 dB speech-to-music RMS ratio, diarized without separation), 3 vs 6
turns, and three speakers. DER is pyannote.metrics' DiarizationErrorRate with a 0.25 s collar on each
side of every reference boundary, overlap scored; "total" weights each case by its reference speech.
Each case runs without a speaker-count hint and with the true count. The "short" cases are two-person
exchanges of 1.5 / 2.5 s turns (male 38898180 + "unclear" 38833628, "unclear" + male test_ja_2), where
one local speaker of the segmentation model tends to cover both voices; "spk@n" is how many speakers
came back with the count given.

Then the ten real two-person J-Moshi dialogues of ../shared/data/real/ja_dialogue (10 s each, one speaker
per channel): the reference is each channel's energy (``channel_reference``: frames over -50 dBFS, gaps up
to 0.25 s joined), the diarized audio the mono mix (with ``--separated``: Spleeter's vocals of the mix
made 48 kHz stereo, as the pipeline diarizes them). "ch0_s/ch1_s" is each speaker's reference speech:
a speaker with well under a second of it has no speech of its own that a 0.5 s segment can hold.
"total" weights each dialogue by its reference speech. Last, the single-speaker real files of
../shared/data/real/ja_speech are diarized without a count (no ``multi_speaker=False`` shortcut): one
speaker each is right (test_ja_1 is an informal recording, probably with two or more voices).

    OMP_NUM_THREADS=1 .venv/bin/python bench/diarization_der.py [--profile offline] [--device cpu] [--separated]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store
from baseline_dub.stages.diarize import Diarizer, load_diarizer
from baseline_dub.stages.separate import Separator, load_separator
from baseline_dub.stages.types import Segment

sys.path.insert(0, str(PROJECT_ROOT / "tests"))  # tests/support: the DER and the reference turns
from support.diarization import build_conversation, channel_reference, diarization_error_rate  # noqa: E402

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
VOICES = {"F": "common_voice_ja_38843402_16k.wav", "M": "common_voice_ja_38853932_16k.wav",
          "M2": "common_voice_ja_38898180_16k.wav", "X": "common_voice_ja_38833628_16k.wav",
          "M3": "test_ja_2.wav"}
SPEAKER_OF = {"F": "female", "M": "male", "M2": "male2", "X": "other", "M3": "male3"}
MUSIC = "Kevin_MacLeod_-_Vibe_Ace.hq.ogg"
MUSIC_SNR_DB = (10.0, 0.0)


def trimmed_voices(diarizer: Diarizer) -> dict[str, Audio]:
    out = {}
    for key, name in VOICES.items():
        audio = load_audio(REAL / "ja_speech" / name).mono().resample(16000)
        regions = diarizer.vad.speech(audio)
        out[key] = audio.slice(regions[0][0], regions[-1][1])
    return out


def with_music(speech: Audio, snr_db: float) -> Audio:
    """``speech`` plus the music track scaled so that speech RMS / music RMS is ``snr_db``."""
    music = load_audio(REAL / "music" / MUSIC).mono().resample(16000).slice(5.0, 5.0 + speech.duration)
    music = music.fit_length(speech.frames)
    rms = lambda a: float(np.sqrt(np.mean(a.samples ** 2)))  # noqa: E731
    gain = rms(speech) / max(rms(music), 1e-9) / 10 ** (snr_db / 20)
    return Audio(speech.samples + gain * music.samples, 16000)


def cases(voices: dict[str, Audio]) -> dict[str, tuple[Audio, list[Segment]]]:
    def conv(keys: list[str], seconds: float | None = None, **kw) -> tuple[Audio, list[Segment]]:
        turns = [(voices[k] if seconds is None else voices[k].slice(0, seconds), SPEAKER_OF[k]) for k in keys]
        return build_conversation(turns, **kw)

    four = ["F", "M", "F", "M2"]
    clean, reference = conv(four, gap=0.5)
    return {
        "no_overlap_4turns": (clean, reference),
        "overlap_0.8s_4turns": conv(four, overlap=0.8),
        **{f"music_{snr:.0f}dB_4turns": (with_music(clean, snr), reference) for snr in MUSIC_SNR_DB},
        "3turns": conv(["F", "M", "F"], gap=0.5),
        "6turns": conv(["F", "M", "F", "M2", "F", "M"], gap=0.5),
        "3speakers_4turns": conv(["F", "M", "X", "F"], gap=0.5),
        "short_1.5s_M2+X": conv(["M2", "X"], 1.5, gap=0.3),
        "short_2.5s_X+M3": conv(["X", "M3"], 2.5, gap=0.3),
    }


def speakers(segments: list[Segment]) -> int:
    return len({s.speaker for s in segments})


def dialogues(diarizer: Diarizer, collar: float, separator: Separator | None) -> None:
    """Per J-Moshi dialogue and overall: DER and speakers found without and with the count (2)."""
    print(f"\n{'dialogue':24s} {'ch0_s':>5s} {'ch1_s':>5s} {'DER':>7s} {'DER@2':>7s} {'spk':>4s} {'spk@2':>5s}")
    totals = {"plain": 0.0, "hint": 0.0, "speech": 0.0, "two": 0, "two@2": 0}
    paths = sorted((REAL / "ja_dialogue").glob("*.wav"))
    for path in paths:
        stereo = load_audio(path)
        reference = channel_reference(stereo)
        audio = stereo.mono()
        if separator is not None:
            mix = Audio(np.repeat(audio.samples, 2, axis=0), audio.rate).resample(48000)
            audio = separator.separate_batch([mix])[0].vocals
        plain = diarizer.diarize_detailed(audio, multi_speaker=True)
        hinted = diarizer.diarize_detailed(audio, num_speakers=2, multi_speaker=True)
        der = diarization_error_rate(reference, list(plain.segments), collar, stereo.duration)
        der_n = diarization_error_rate(reference, list(hinted.segments), collar, stereo.duration)
        own = [sum(s.duration for s in reference if s.speaker == f"ch{c}") for c in (0, 1)]
        for key, value in (("plain", der * sum(own)), ("hint", der_n * sum(own)), ("speech", sum(own)),
                           ("two", plain.speakers_found == 2), ("two@2", hinted.speakers_found == 2)):
            totals[key] += value
        print(f"{path.name:24s} {own[0]:5.1f} {own[1]:5.1f} {der:7.1%} {der_n:7.1%} {plain.speakers_found:4d} "
              f"{hinted.speakers_found:5d}")
    print(f"{'total':24s} {'':5s} {'':5s} {totals['plain'] / totals['speech']:7.1%} "
          f"{totals['hint'] / totals['speech']:7.1%} {totals['two']:2d}/{len(paths)} {totals['two@2']:3d}/{len(paths)}")
    print(f"(spk: speakers found without a count, spk@2: with num_speakers=2; total spk: dialogues with 2 found; "
          f"audio: {'separated vocals' if separator is not None else 'mono mix'})")
    print("\nsingle-speaker file                 speakers found (no count)")
    for path in sorted((REAL / "ja_speech").glob("*.wav")):
        found = diarizer.diarize_detailed(load_audio(path), multi_speaker=True).speakers_found
        print(f"{path.name:36s} {found}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--device", default=None)
    parser.add_argument("--collar", type=float, default=0.25)
    parser.add_argument("--separated", action="store_true",
                        help="diarize the J-Moshi dialogues' Spleeter vocals (as `run` does), not the mix")
    args = parser.parse_args()
    store = Store()
    config = resolve_config(args.profile, store, device=args.device)
    t0 = time.perf_counter()
    diarizer = load_diarizer(config, store)
    print(f"profile {config.profile}, backend {config.diarize.backend}, load {time.perf_counter() - t0:.2f} s")
    voices = trimmed_voices(diarizer)
    print(f"{'case':24s} {'audio_s':>7s} {'DER':>7s} {'DER@n':>7s} {'spk':>5s} {'spk@n':>5s} {'sec':>6s} "
          f"{'RTF':>6s}")
    totals = {"plain": 0.0, "hint": 0.0, "speech": 0.0, "audio": 0.0, "sec": 0.0}
    for name, (audio, reference) in cases(voices).items():
        n_true = speakers(reference)
        t = time.perf_counter()
        plain = diarizer.diarize(audio)
        elapsed = time.perf_counter() - t
        hinted = diarizer.diarize(audio, num_speakers=n_true)
        der = diarization_error_rate(reference, plain, args.collar, audio.duration)
        der_n = diarization_error_rate(reference, hinted, args.collar, audio.duration)
        speech = sum(s.duration for s in reference)
        for key, value in (("plain", der * speech), ("hint", der_n * speech), ("speech", speech),
                           ("audio", audio.duration), ("sec", elapsed)):
            totals[key] += value
        found = f"{speakers(plain)}/{n_true}"
        found_n = f"{speakers(hinted)}/{n_true}"
        print(f"{name:24s} {audio.duration:7.1f} {der:7.1%} {der_n:7.1%} {found:>5s} {found_n:>5s} {elapsed:6.2f} "
              f"{elapsed / audio.duration:6.3f}")
    print(f"{'total':24s} {totals['audio']:7.1f} {totals['plain'] / totals['speech']:7.1%} "
          f"{totals['hint'] / totals['speech']:7.1%} {'':>5s} {'':>5s} {totals['sec']:6.2f} "
          f"{totals['sec'] / totals['audio']:6.3f}")
    print(f"(DER: no hint; DER@n: num_speakers = true count; spk: speakers found without hint / true; "
          f"sec/RTF: the no-hint call; collar {args.collar} s each side; {Path(__file__).name})")
    separator = load_separator(config, store) if args.separated else None
    dialogues(diarizer, args.collar, separator)


if __name__ == "__main__":
    main()
