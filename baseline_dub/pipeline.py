"""The chain per clip: separate -> diarize -> translate -> synthesize -> remix, with models loaded once.

``DubPipeline`` loads every stage once and dubs clips one at a time (``dub``) or stage-wise over a
batch (``dub_batch``): one separation call for the batch (Spleeter's segments are independent, so a
clip's stems do not depend on its batch), then one Whisper batch per clip of all its segments. A clip
whose stage fails is returned as its error and the others go on; audio with NaN or infinite samples is
refused before any stage (``AudioError``).

The pipeline only orders the stages, batches clips and isolates a failing clip; each stage's rules live in
its package. A clip with nothing to speak is an outcome, not an error: each stage's result says when it leaves
nothing to speak (``Diarization.nothing_to_speak``: ``no_speech``; ``translate.no_usable_text``;
``synthesize.no_synthesis``), the first such reason is kept, and the clip still goes through the remix with no
synthesis placed, so its dub is its backing alone at the source's loudness, and ``Dub.nothing_spoken`` says why.
``dub_clip`` is the one-call Python API.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baseline_dub.audio import Audio, checked_samples, load_audio
from baseline_dub.config import Config
from baseline_dub.errors import BaselineDubError, StageError
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.profiles import resolve_config
from baseline_dub.models.store import Store
from baseline_dub.models.whispers import whisper_of, with_whisper
from baseline_dub.outputs.dub import Dub
from baseline_dub.stages.types import NothingToSpeak, Segment, Stems, Synthesis, Translation

if TYPE_CHECKING:
    from baseline_dub.data.dataset import Clip, Dataset
    from baseline_dub.stages.diarize import Diarization


@dataclass(frozen=True, eq=False)
class DubInput:
    """One clip to dub: its audio and what the annotation (or the caller) says about it."""

    audio: Audio
    clip_id: str | None = None
    multi_speaker: bool | None = None
    num_speakers: int | None = None
    mixing_ratio: float | None = None
    ratio_source: str | None = None
    backing: Audio | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Work:
    """Mutable per-clip state while a batch moves through the stages."""

    item: DubInput
    seconds: dict[str, float] = field(default_factory=dict)
    stems: Stems | None = None
    segments: list[Segment] = field(default_factory=list)
    diarization: Diarization | None = None
    translations: list[Translation] = field(default_factory=list)
    syntheses: list[Synthesis | None] = field(default_factory=list)
    error: BaselineDubError | None = None
    nothing_spoken: NothingToSpeak | None = None  # the first stage that left the clip nothing to speak says why

    def nothing_to_speak(self, why: NothingToSpeak | None) -> None:
        if self.nothing_spoken is None:
            self.nothing_spoken = why


def _as_error(stage: str, exc: Exception, clip: str | None) -> BaselineDubError:
    if isinstance(exc, BaselineDubError):
        return exc if exc.clip or not clip else type(exc)(str(exc), clip=clip)
    return StageError(f"{stage} failed: {type(exc).__name__}: {exc}", clip=clip)


class DubPipeline:
    """Every stage of one profile, loaded once; ``dub``/``dub_batch`` reuse them for many clips."""

    def __init__(self, profile: str = "auto", *, config: Config | None = None, store: Store | None = None,
                 device: str | None = None, config_path: str | None = None, announce: bool = True,
                 whisper: str | None = None) -> None:
        """Load every stage of ``profile`` (or of ``config``) once; ``whisper`` names a Whisper release to translate
        with instead of the profile's own (``baseline_dub.models.whispers``)."""
        from baseline_dub.stages.diarize import load_diarizer
        from baseline_dub.stages.separate import load_separator
        from baseline_dub.stages.synthesize import load_synthesizer
        from baseline_dub.stages.translate import load_translator

        self.store = store or Store()
        self.config = (with_whisper(config, self.store, whisper) if config is not None
                       else resolve_config(profile, self.store, config_path, device, announce, whisper=whisper))
        self.device = resolve_device(self.config.device)
        start = time.perf_counter()
        self.separator = load_separator(self.config, self.store)
        self.diarizer = load_diarizer(self.config, self.store)
        self.translator = load_translator(self.config, self.store)
        self.synthesizer = load_synthesizer(self.config, self.store)
        self.load_seconds = time.perf_counter() - start
        self.provenance = {
            "profile": self.config.profile,
            "whisper": whisper_of(self.config, self.store),
            "device": self.device,
            "models": {n: self.store.sha256(n) for n in self.config.model_names()},
            "separation_weights": self.separator.weights_note,
            **self.translator.describe(),
        }

    # -- stage helpers ----------------------------------------------------------------------
    def _run(self, stage: str, works: list[_Work], batch_fn: Callable[[list[_Work]], list[Any]],
             apply: Callable[[_Work, Any], None]) -> None:
        """Run a stage on the live clips in one batch; if the batch fails, retry clip by clip.

        Whatever a clip's result or its ``apply`` raises is that clip's error only: the others go on."""
        live = [w for w in works if w.error is None]
        if not live:
            return
        start = time.perf_counter()
        try:
            results = batch_fn(live)
            if len(results) != len(live):
                raise StageError(f"{stage} returned {len(results)} results for {len(live)} clips")
        except Exception:  # isolate the failing clip(s): the rest of the batch goes on
            results = None
        if results is not None:
            total = sum(w.item.audio.duration for w in live) or 1.0
            elapsed = time.perf_counter() - start
            for w, r in zip(live, results, strict=True):
                w.seconds[stage] = elapsed * w.item.audio.duration / total
                self._apply(stage, w, r, apply)
            return
        for w in live:
            t0 = time.perf_counter()
            try:
                result = batch_fn([w])[0]
            except Exception as exc:  # recorded per clip with its reason; the run goes on
                w.error = _as_error(stage, exc, w.item.clip_id)
            else:
                self._apply(stage, w, result, apply)
            w.seconds[stage] = time.perf_counter() - t0

    @staticmethod
    def _apply(stage: str, w: _Work, result: Any, apply: Callable[[_Work, Any], None]) -> None:
        try:
            apply(w, result)
        except Exception as exc:  # one clip's bad result never stops the batch
            w.error = _as_error(stage, exc, w.item.clip_id)

    def _separate(self, works: list[_Work]) -> list[Stems]:
        return self.separator.separate_batch([w.item.audio for w in works])

    def _diarize(self, works: list[_Work]) -> list[Diarization]:
        return [self.diarizer.diarize_detailed(w.stems.vocals, num_speakers=w.item.num_speakers,
                                               multi_speaker=w.item.multi_speaker) for w in works]

    @staticmethod
    def _set_segments(w: _Work, diarization: Diarization) -> None:
        w.nothing_to_speak(diarization.nothing_to_speak())
        w.diarization = diarization
        w.segments = list(diarization.segments)

    def _translate(self, works: list[_Work]) -> list[list[Translation]]:
        """One Whisper batch per clip, of that clip's segments: Whisper's seeded sampled fallbacks and its
        batched matrix products would otherwise make one clip's text depend on the clips batched with it."""
        return [self.translator.translate_batch([w.stems.vocals.slice(s.start, s.end) for s in w.segments])
                if w.segments else [] for w in works]

    @staticmethod
    def _set_translations(w: _Work, translations: list[Translation]) -> None:
        from baseline_dub.stages.translate import no_usable_text

        w.nothing_to_speak(no_usable_text(translations))
        w.translations = list(translations)

    @staticmethod
    def _set_syntheses(w: _Work, syntheses: list[Synthesis | None]) -> None:
        from baseline_dub.stages.synthesize import no_synthesis

        w.nothing_to_speak(no_synthesis(syntheses))
        w.syntheses = list(syntheses)

    def _synthesize(self, works: list[_Work]) -> list[list[Synthesis | None]]:
        return [self.synthesizer.synthesize_clip(w.segments, w.translations, w.stems.vocals) for w in works]

    def _remix(self, w: _Work) -> Dub:
        from baseline_dub.stages.remix import remix_segments
        from baseline_dub.stages.remix.inputs import backing_and_ratio

        t0 = time.perf_counter()
        item, stems, cfg = w.item, w.stems, self.config.remix
        backing, (ratio, source) = backing_and_ratio(item.audio, stems, cfg.target_lufs, item.backing,
                                                     item.mixing_ratio, item.ratio_source)
        result, placed = remix_segments(backing, w.segments, w.syntheses, item.audio, ratio, cfg)
        per_segment = list(placed)
        w.seconds["remix"] = time.perf_counter() - t0
        return Dub(
            audio=result.audio, source=item.audio, stems=stems, segments=tuple(w.segments),
            translations=tuple(w.translations), syntheses=tuple(w.syntheses), mixing_ratio=float(ratio),
            ratio_source=source, source_lufs=result.source_lufs, dub_lufs=result.output_lufs,
            stage_seconds=dict(w.seconds), provenance=self.provenance,
            placements=tuple(per_segment), clip_id=item.clip_id, diarization=w.diarization,
            notes=dict(item.notes), overlong_rule=cfg.overlong, fit_duration=cfg.fit_duration,
            limiter_reduction_db=round(result.limiter_reduction_db, 2),
            nothing_spoken=w.nothing_spoken.reason if w.nothing_spoken else None,
            note=w.nothing_spoken.note(item.clip_id) if w.nothing_spoken else None,
        )

    # -- public ------------------------------------------------------------------------------
    def dub_batch(self, items: Sequence[DubInput]) -> list[Dub | BaselineDubError]:
        """Dub several clips stage by stage; each result is a ``Dub`` (``nothing_spoken`` set when nothing was
        spoken) or the error that stopped that clip. No clip's result depends on the others in the batch."""
        works = [_Work(item) for item in items]
        for w in works:
            try:
                checked_samples(w.item.audio, f"clip {w.item.clip_id}" if w.item.clip_id else "the input")
            except BaselineDubError as exc:
                w.error = exc
        self._run("separate", works, self._separate, lambda w, r: setattr(w, "stems", r))
        self._run("diarize", works, self._diarize, self._set_segments)
        self._run("translate", works, self._translate, self._set_translations)
        self._run("synthesize", works, self._synthesize, self._set_syntheses)
        results: list[Dub | BaselineDubError] = []
        for w in works:
            if w.error is None:
                try:
                    results.append(self._remix(w))
                    continue
                except Exception as exc:  # recorded per clip; the others go on
                    w.error = _as_error("remix", exc, w.item.clip_id)
            results.append(w.error)
        return results

    def dub(self, source: Audio | str | Path | DubInput, *, mixing_ratio: float | None = None,
            multi_speaker: bool | None = None, num_speakers: int | None = None) -> Dub:
        """Dub one clip (an ``Audio``, a file path or a ``DubInput``); raises its error if it fails."""
        if isinstance(source, DubInput):
            item = source
        else:
            audio = source if isinstance(source, Audio) else load_audio(source)
            item = DubInput(audio=audio, clip_id=None if isinstance(source, Audio) else str(source),
                            mixing_ratio=mixing_ratio, multi_speaker=multi_speaker, num_speakers=num_speakers)
        result = self.dub_batch([item])[0]
        if isinstance(result, BaselineDubError):
            raise result
        return result


@functools.lru_cache(maxsize=2)
def _cached_pipeline(profile: str, device: str | None, whisper: str | None = None) -> DubPipeline:
    return DubPipeline(profile, device=device, whisper=whisper)


def dub_clip(source: Audio | str | Path | Clip, profile: str = "auto", mixing_ratio: float | None = None, *,
             dataset: Dataset | None = None, device: str | None = None, pipeline: DubPipeline | None = None,
             whisper: str | None = None) -> Dub:
    """Dub one clip: an audio path, an ``Audio`` or a dataset ``Clip`` (from ``dataset``, default the sample).

    Models are loaded on the first call and kept for later calls with the same profile, device and ``whisper``
    (a Whisper release instead of the profile's own, e.g. ``"small"``). A
    ``Clip`` brings its annotation: speaker count (single-speaker clips skip diarization, as the paper),
    and the sidecar's mixing ratio and backing track when the dataset has them.
    """
    from baseline_dub.data.dataset import Clip, Dataset

    pipe = pipeline or _cached_pipeline(profile, device, whisper)
    if isinstance(source, Clip):
        ds = dataset if dataset is not None else Dataset.open(None)
        return pipe.dub(clip_input(source, ds, mixing_ratio))
    return pipe.dub(source, mixing_ratio=mixing_ratio)


def clip_input(clip: Clip, dataset: Dataset, mixing_ratio: float | None = None, audio: Audio | None = None) -> DubInput:
    """A ``DubInput`` for a dataset clip: audio, speaker hints, sidecar ratio and backing, texts."""
    from baseline_dub.stages.remix.inputs import known_ratio

    ratio, source = known_ratio(mixing_ratio, clip.mixing_ratio)
    backing = load_audio(clip.backing_path) if clip.backing_path else None
    return DubInput(
        audio=audio if audio is not None else dataset.audio(clip.id),
        clip_id=clip.id,
        multi_speaker=clip.is_multi_speaker,
        num_speakers=clip.speaker_count,
        mixing_ratio=ratio,
        ratio_source=source,
        backing=backing,
        notes={"jp_text": clip.jp_text, "en_text": clip.en_text},
    )
