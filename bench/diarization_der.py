"""Diarization error rate and speed of the diarize stage on conversations built from real speech.

Turns are Common Voice clips from ../shared/data/real/ja_speech (female 38843402, males 38853932 and
38898180, "unclear" 38833628), each trimmed to its first..last silero-VAD speech, so the reference
turn boundaries are known exactly. Cases: no overlap, 0.8 s overlaps, music under the speech
(../shared/data/real/music at 10 dB and 0 dB speech-to-music RMS ratio, diarized without separation), 3 vs 6
turns, and three speakers. DER is pyannote.metrics' DiarizationErrorRate with a 0.25 s collar on each
side of every reference boundary, overlap scored; "total" weights each case by its reference speech.
Each case runs without a speaker-count hint and with the true count. The "short" cases are two-person
exchanges of 1.5 / 2.5 s turns (male 38898180 + "unclear" 38833628, "unclear" + male test_ja_2), where
one local speaker of the segmentation model tends to cover both voices; "spk@n" is how many speakers
came back with the count given.

    OMP_NUM_THREADS=1 .venv/bin/python bench/diarization_der.py [--profile offline] [--device cpu]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from baseline_dub.audio import Audio, load_audio
from baseline_dub.config import PROJECT_ROOT
from baseline_dub.profiles import resolve_config
from baseline_dub.stages.diarize import Diarizer, build_conversation, diarization_error_rate, load_diarizer
from baseline_dub.stages.types import Segment
from baseline_dub.store import Store

REAL = PROJECT_ROOT.parent / "shared" / "data" / "real"
VOICES = {"F": "common_voice_ja_38843402_16k.wav", "M": "common_voice_ja_38853932_16k.wav",
          "M2": "common_voice_ja_38898180_16k.wav", "X": "common_voice_ja_38833628_16k.wav",
          "M3": "test_ja_2.wav"}
SPEAKER_OF = {"F": "female", "M": "male", "M2": "male", "X": "other", "M3": "male3"}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--device", default=None)
    parser.add_argument("--collar", type=float, default=0.25)
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
        n_true = len({s.speaker for s in reference})
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
        found = f"{len({s.speaker for s in plain})}/{n_true}"
        found_n = f"{len({s.speaker for s in hinted})}/{n_true}"
        print(f"{name:24s} {audio.duration:7.1f} {der:7.1%} {der_n:7.1%} {found:>5s} {found_n:>5s} {elapsed:6.2f} "
              f"{elapsed / audio.duration:6.3f}")
    print(f"{'total':24s} {totals['audio']:7.1f} {totals['plain'] / totals['speech']:7.1%} "
          f"{totals['hint'] / totals['speech']:7.1%} {'':>5s} {'':>5s} {totals['sec']:6.2f} "
          f"{totals['sec'] / totals['audio']:6.3f}")
    print(f"(DER: no hint; DER@n: num_speakers = true count; spk: speakers found without hint / true; "
          f"sec/RTF: the no-hint call; collar {args.collar} s each side; {Path(__file__).name})")


if __name__ == "__main__":
    main()
