"""MUSHRA stimuli from a split run: hidden reference, dubs and BS.1534-3 anchors, webMUSHRA-ready.

Per chosen clip (a seeded shuffle of the split, first ``items`` clips that have gold EN audio and a
finished dub in every system), every condition is made like this, in this order:

1. **Rate and channels.** Everything is resampled to ``rate`` (48 kHz by default; one of
   webMUSHRA's rates) and given the reference's channel count, at most 2: webMUSHRA plays mono or
   stereo, so a 5.1 reference is down-mixed to stereo (ITU-R BS.775, the centre's dialogue kept);
   a mono dub is repeated, more channels are down-mixed.
2. **Length.** The reference is the gold EN clip. A dub follows the JP clip's timeline, and the JP and
   EN clips differ in duration, so each dub (and extra system) is cut at its end, or zero-padded at its
   end, to exactly the reference's number of samples: all conditions start at the clip start.
3. **Trim to at most ``max_seconds`` (12 s).** When the reference is longer, the window of
   ``max_seconds`` with the most speech energy is kept: speech-band (300-3400 Hz) energy per 10 ms
   hop, each of the reference and the systems normalised to its own total so that none dominates,
   summed, and the window (on the 10 ms grid) with the largest sum wins (the earliest on ties). The
   same window is cut from every condition.
4. **Fades.** 20 ms raised-cosine fade-in and fade-out on every condition (no clicks at cut edges).
5. **Anchors.** The low anchor is the reference low-passed at 3.5 kHz and the mid anchor at 7 kHz, as
   BS.1534-3 specifies, with a 24th-order Butterworth run forwards and backwards (``sosfiltfilt``:
   zero phase, 48th-order magnitude; more than 40 dB down 15 % above the cut-off).
6. **Loudness.** Every condition is scaled to ``target_lufs`` (BS.1770 integrated loudness), the gain
   found by re-measuring until it lands within 0.01 LU (one pass can miss at a gating edge; see
   :mod:`baseline_dub.mushra.loudness`). Peak guard: if any condition would then peak above -1 dBFS,
   the item's shared level is lowered until none does, so the item stays loudness-aligned (at a lower
   level, recorded) and nothing clips. A silent condition stays silent. Files are 24-bit PCM WAV (a
   16-bit floor would mask the anchors' stop band).

``build.json`` records the options, the items and, under ``provenance``, what made each system's dubs: the
profiles, Whisper releases and model sha256s its manifest rows record for the chosen clips (one of each is the
rule; more are reported as a warning).
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import signal

from baseline_dub.audio import SILENCE_LUFS, Audio, load_audio, loudness, write_audio
from baseline_dub.errors import BaselineDubError, ConfigError, DataError
from baseline_dub.mushra.loudness import PEAK_CEILING_DBFS, align_loudness
from baseline_dub.mushra.webmushra import (
    BASELINE,
    LOW_ANCHOR,
    MAX_SECONDS,
    MID_ANCHOR,
    REFERENCE,
    SUPPORTED_RATES,
    MushraItem,
    StimulusFile,
    check_condition_names,
    check_test_name,
    write_test_files,
    write_text_atomic,
)
from baseline_dub.runner.manifest import DONE, read_manifest, recorded_models, recorded_whispers
from baseline_dub.runner.split import output_paths

if TYPE_CHECKING:
    from baseline_dub.data.annotations import Clip
    from baseline_dub.data.dataset import Dataset

LOW_ANCHOR_HZ = 3500.0
MID_ANCHOR_HZ = 7000.0
FILTER_ORDER = 24
FADE_SECONDS = 0.02
SPEECH_BAND_HZ = (300.0, 3400.0)
MIN_REFERENCE_SECONDS = 1.0
MAX_CHANNELS = 2  # webMUSHRA's players take mono or stereo files
_HOP_SECONDS = 0.01


def lowpass(audio: Audio, cutoff_hz: float, order: int = FILTER_ORDER) -> Audio:
    """Zero-phase Butterworth low-pass (``order`` per pass, run forwards and backwards) at ``cutoff_hz``."""
    if not 0 < cutoff_hz < audio.rate / 2:
        raise ConfigError(f"low-pass cut-off {cutoff_hz} Hz must be below half the sample rate {audio.rate}")
    sos = signal.butter(order, cutoff_hz, btype="low", fs=audio.rate, output="sos")
    out = signal.sosfiltfilt(sos, audio.samples.astype(np.float64), axis=-1)
    return Audio(out.astype(np.float32), audio.rate)


def fade(audio: Audio, seconds: float = FADE_SECONDS) -> Audio:
    """Raised-cosine fade-in and fade-out of ``seconds`` (at most half the signal each)."""
    n = min(int(round(seconds * audio.rate)), audio.frames // 2)
    if n <= 0:
        return audio
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
    out = audio.samples.copy()
    out[:, :n] *= ramp
    out[:, -n:] *= ramp[::-1]
    return Audio(out, audio.rate)


def speech_window_start(signals: Sequence[Audio], frames: int) -> int:
    """First sample of the ``frames``-long window with the most speech-band energy (rule in the module doc).

    All ``signals`` share one rate and length; each one's speech-band energy is normalised to sum 1
    before they are added, so the window suits the reference and the dubs alike.
    """
    rate, length = signals[0].rate, signals[0].frames
    if frames >= length:
        return 0
    hop = max(1, int(round(_HOP_SECONDS * rate)))
    sos = signal.butter(4, SPEECH_BAND_HZ, btype="band", fs=rate, output="sos")
    n_hops = -(-length // hop)
    total = np.zeros(n_hops)
    for audio in signals:
        band = signal.sosfilt(sos, audio.mono().samples[0].astype(np.float64))
        band = np.pad(band, (0, n_hops * hop - length))
        energy = (band.reshape(n_hops, hop) ** 2).sum(axis=1)
        if energy.sum() > 0:
            total += energy / energy.sum()
    last = (length - frames) // hop  # latest start on the hop grid that still fits
    width = -(-frames // hop)
    cum = np.concatenate([[0.0], np.cumsum(total)])
    starts = np.arange(last + 1)
    sums = cum[np.minimum(starts + width, n_hops)] - cum[starts]
    return int(np.argmax(sums)) * hop


@dataclass(frozen=True)
class PreparedItem:
    """One item's conditions (reference first, anchors last), all the same rate, channels and length."""

    conditions: dict[str, Audio]
    start_seconds: float
    reference_seconds: float
    lufs: float


def prepare_item(reference: Audio, systems: Mapping[str, Audio], *, rate: int = 48000,
                 target_lufs: float = -23.0, max_seconds: float = MAX_SECONDS) -> PreparedItem:
    """Make one item's conditions from the gold reference and the systems' dubs (steps 1-6 of the module doc)."""
    ref = reference.to(rate, min(reference.channels, MAX_CHANNELS))
    length = ref.frames
    dubs = {name: audio.to(rate, ref.channels).fit_length(length) for name, audio in systems.items()}
    frames = min(length, int(round(max_seconds * rate)))
    start = speech_window_start([ref, *dubs.values()], frames)
    cut = {REFERENCE: ref, **dubs}
    cut = {n: fade(Audio(a.samples[:, start:start + frames], rate)) for n, a in cut.items()}
    cut[LOW_ANCHOR] = lowpass(cut[REFERENCE], LOW_ANCHOR_HZ)
    cut[MID_ANCHOR] = lowpass(cut[REFERENCE], MID_ANCHOR_HZ)
    aligned, lufs = align_loudness(cut, target_lufs)
    return PreparedItem(aligned, start / rate, reference.duration, lufs)


@dataclass(frozen=True)
class BuildOptions:
    """What to build: split, how many items, the seed of the choice, rate, loudness and length limit."""

    split: str = "test"
    items: int = 10
    seed: int = 0
    rate: int = 48000
    target_lufs: float = -23.0
    max_seconds: float = MAX_SECONDS

    def check(self) -> None:
        """Raise ``ConfigError`` for values webMUSHRA or BS.1534-3 would refuse."""
        if self.items < 1:
            raise ConfigError(f"--items must be at least 1, got {self.items}")
        if self.rate not in SUPPORTED_RATES:
            raise ConfigError(f"--rate {self.rate} is not one webMUSHRA supports; use one of "
                              f"{', '.join(map(str, SUPPORTED_RATES))}")
        if not 0 < self.max_seconds <= MAX_SECONDS:
            raise ConfigError(f"--max-seconds {self.max_seconds} must be in (0, {MAX_SECONDS:g}]: webMUSHRA "
                              f"refuses references over {MAX_SECONDS:g} s")
        if not -70.0 < self.target_lufs < 0.0:
            raise ConfigError(f"--lufs {self.target_lufs} must be between -70 and 0 LUFS")


@dataclass(frozen=True)
class SkippedClip:
    """A clip examined and left out of the test, and why."""

    clip_id: str
    reason: str


@dataclass(frozen=True)
class MushraBuild:
    """What ``build_mushra`` wrote: the config, the items, and the clips it skipped."""

    out: Path
    config: Path
    items: tuple[MushraItem, ...]
    skipped: tuple[SkippedClip, ...]
    details: tuple[dict[str, Any], ...] = field(default=())
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A short human summary for the command line."""
        out = [f"built {len(self.items)} MUSHRA item(s) in {self.out}; config {self.config.name}"]
        for system, made in self.provenance.items():
            profiles, models, whispers = made["profiles"], made["models"], made.get("whispers", [])
            whisper = f"Whisper {' + '.join(whispers)}, " if whispers else ""
            what = (f"{' + '.join(profiles)} profile, {whisper}{len(models)} model(s) (sha256s in build.json)"
                    if profiles else "no manifest records its profile")
            mixed = [n for n, digests in models.items() if len(digests) > 1]
            if len(profiles) > 1 or len(whispers) > 1 or mixed:
                what += "; warning: its items were dubbed with different " + (
                    "profiles" if len(profiles) > 1 else "Whispers" if len(whispers) > 1
                    else f"weights ({', '.join(mixed)})")
            out.append(f"  {system}: {what}")
        out += [f"  skipped {n} clip(s): {reason}" for reason, n in _reason_counts(self.skipped)]
        return out


def _reason_counts(skipped: Sequence[SkippedClip]) -> list[tuple[str, int]]:
    """Skip reasons grouped by kind (the text before any detail in parentheses), commonest first."""
    return Counter(s.reason.split(" (no ")[0].split(":")[0] for s in skipped).most_common()


class _System:
    """Where one system's dubs of a split are: its manifest rows and its folder layout."""

    def __init__(self, name: str, root: Path, split: str) -> None:
        if not (root / split).is_dir():
            raise DataError(f"{name}: no folder {root / split}; pass the --out folder of a `baseline-dub run "
                            f"--split {split}` (e.g. runs/baseline)")
        self.name, self.root, self.split = name, root, split
        self.rows = read_manifest(root / split)

    def dub(self, clip_id: str) -> Path | str:
        """The dub's path, or the reason there is none."""
        row = self.rows.get(clip_id)
        if row is not None and row.status != DONE:
            return f"{self.name} dub {row.status} ({row.reason or 'no reason recorded'})"
        candidates = [self.root / row.output] if row is not None and row.output else []
        candidates.append(output_paths(self.root, self.split, clip_id)[0])
        for path in candidates:
            if path.is_file():
                return path
        return f"{self.name} has no dub (no {candidates[-1]})"

    def provenance(self, clip_ids: Sequence[str]) -> dict[str, Any]:
        """The profiles, Whisper releases and model sha256s that the rows of ``clip_ids`` record (empty without a
        manifest)."""
        rows = [self.rows[c] for c in clip_ids if c in self.rows]
        profiles, models = recorded_models(rows)
        return {"profiles": profiles, "whispers": recorded_whispers(rows), "models": models}


def _candidate(dataset: Dataset, clip: Clip, systems: Sequence[_System]) -> dict[str, Path] | str:
    if not clip.en_clip:
        return "no EN clip id in the annotations"
    if not dataset.has_audio(clip.en_clip):
        return "no gold EN audio"
    paths: dict[str, Path] = {}
    for system in systems:
        found = system.dub(clip.id)
        if isinstance(found, str):
            return found
        paths[system.name] = found
    return paths


def _prepare_out(out: Path) -> None:
    """Create ``out``, or clear a previous build there; refuse a non-empty folder that is not one."""
    ours = {"build.json", "skipped.csv", "stimuli.csv", "README.txt", f"{out.name}.yaml"}
    if out.exists() and any(out.iterdir()):
        strays = [c.name for c in out.iterdir() if c.name not in ours and not c.name.startswith("item")]
        if strays:
            raise ConfigError(f"{out} holds files that are not from a MUSHRA build ({', '.join(sorted(strays)[:3])}); "
                              "choose an empty or new --out folder")
        for child in out.iterdir():
            if child.is_dir() and child.name.startswith("item"):
                shutil.rmtree(child)
    out.mkdir(parents=True, exist_ok=True)


def _skipped_csv(skipped: Sequence[SkippedClip]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["clip_id", "reason"])
    writer.writerows([s.clip_id, s.reason] for s in skipped)
    return buf.getvalue()


def build_mushra(dataset: Dataset, dubs: Path, out: Path, options: BuildOptions = BuildOptions(),
                 systems: Mapping[str, Path] | None = None) -> MushraBuild:
    """Build a webMUSHRA test in ``out`` from a split run (``dubs``) and optional extra systems.

    ``dataset`` is a :class:`baseline_dub.data.dataset.Dataset`. Clips are shuffled with ``options.seed``;
    those without gold EN audio or without a finished dub in every system are skipped with a reason
    (also written to ``skipped.csv``); the first ``options.items`` usable clips become items. Raises
    ``DataError`` when no clip is usable.
    """
    options.check()
    extra = dict(systems or {})
    check_condition_names(list(extra))
    name = check_test_name(out.name)
    sources = [_System(BASELINE, Path(dubs), options.split)]
    sources += [_System(n, Path(d), options.split) for n, d in extra.items()]
    clips = list(dataset.clips(options.split))
    random.Random(options.seed).shuffle(clips)
    _prepare_out(out)
    width = max(2, len(str(options.items)))
    items: list[MushraItem] = []
    details: list[dict[str, Any]] = []
    skipped: list[SkippedClip] = []
    for clip in clips:
        if len(items) == options.items:
            break
        found = _candidate(dataset, clip, sources)
        if isinstance(found, str):
            skipped.append(SkippedClip(clip.id, found))
            continue
        try:
            reference = dataset.audio(clip.en_clip)
            dubbed = {n: load_audio(p) for n, p in found.items()}
        except BaselineDubError as exc:
            skipped.append(SkippedClip(clip.id, f"{exc.reason}: {exc}"))
            continue
        if reference.duration < MIN_REFERENCE_SECONDS or loudness(reference) <= SILENCE_LUFS:
            skipped.append(SkippedClip(clip.id, f"gold EN audio silent or under {MIN_REFERENCE_SECONDS:g} s"))
            continue
        prepared = prepare_item(reference, dubbed, rate=options.rate, target_lufs=options.target_lufs,
                                max_seconds=options.max_seconds)
        item = f"item{len(items) + 1:0{width}d}"
        stimuli = []
        for condition, audio in prepared.conditions.items():
            rel = f"{item}/{condition}.wav"
            write_audio(out / rel, audio, subtype="PCM_24")
            stimuli.append(StimulusFile(condition, rel, audio.duration, loudness(audio)))
        items.append(MushraItem(item, clip.id, tuple(stimuli)))
        details.append({"item": item, "clip_id": clip.id, "en_clip": clip.en_clip,
                        "reference_seconds": round(prepared.reference_seconds, 4),
                        "dub_seconds": {n: round(a.duration, 4) for n, a in dubbed.items()},
                        "window_start_seconds": round(prepared.start_seconds, 4),
                        "aligned_lufs": round(prepared.lufs, 2)})
    write_text_atomic(out / "skipped.csv", _skipped_csv(skipped))
    if not items:
        why = "; ".join(f"{n} x {reason}" for reason, n in _reason_counts(skipped)) or "the split is empty"
        raise DataError(f"no clip of split {options.split!r} has both gold EN audio and a finished dub ({why}; "
                        f"details in {out / 'skipped.csv'}); run or finish the split first")
    title = f"Anim-400K dubbing MUSHRA ({options.split})"
    config = write_test_files(out, title, items, options.rate)
    chosen = [item.clip_id for item in items]
    provenance = {source.name: source.provenance(chosen) for source in sources}
    build_info = {"name": name, "options": asdict(options),
                  "systems": {BASELINE: str(dubs), **{n: str(d) for n, d in extra.items()}},
                  "provenance": provenance,
                  "anchors": {LOW_ANCHOR: LOW_ANCHOR_HZ, MID_ANCHOR: MID_ANCHOR_HZ},
                  "filter": f"butterworth order {FILTER_ORDER}, sosfiltfilt", "fade_seconds": FADE_SECONDS,
                  "peak_ceiling_dbfs": PEAK_CEILING_DBFS, "items": details,
                  "skipped": [asdict(s) for s in skipped]}
    write_text_atomic(out / "build.json", json.dumps(build_info, indent=2, ensure_ascii=False) + "\n")
    return MushraBuild(out, config, tuple(items), tuple(skipped), tuple(details), provenance)
