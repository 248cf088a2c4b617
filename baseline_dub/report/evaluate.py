"""The automatic quality report of a split run: reads ``<run>/<split>/manifest*.jsonl`` and measures it.

Per clip and per segment it gathers translation scores (BLEU, chrF against the clip's ``en_text``),
speaker similarity (the manifest's, recomputed from the kept ``vocals.wav`` when there is one), timing
(length ratio, overlap with the next synthesis, speech coverage of dub and source), loudness (dub vs
source LUFS, mixing ratio), intelligibility (WER of an English ASR of each ``seg-NN.flac``) and run cost
(per-stage seconds, real-time factor, failures by reason). ``clips.csv`` and ``segments.csv`` hold every
number; ``report.md`` summarises them with PNG plots in ``plots/`` (both written by :mod:`.markdown`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from baseline_dub.audio import Audio
from baseline_dub.errors import ConfigError, DataError
from baseline_dub.outputs.record import ClipRecord, Status
from baseline_dub.report import metrics
from baseline_dub.runner import manifest as run_manifest

if TYPE_CHECKING:
    from baseline_dub.config import Config
    from baseline_dub.models.store import Store
    from baseline_dub.stages.speaker import SpeakerEncoder

MANIFEST_GLOB = "manifest*.jsonl"


@dataclass(frozen=True)
class Manifest:
    """A split's manifest read back: the last record of each clip, in first-seen order."""

    split_dir: Path
    files: tuple[Path, ...]
    clips: dict[str, ClipRecord]

    @classmethod
    def open(cls, split_dir: str | Path) -> Manifest:
        """Every ``manifest*.jsonl`` of a split's output folder, read by the one reader
        (``baseline_dub.runner.manifest.read_manifest``): the last row of each ``clip_id`` wins, a line cut by a
        kill is ignored; ``DataError`` when the folder holds none."""
        split_dir = Path(split_dir)
        files = tuple(run_manifest.manifest_files(split_dir))
        if not files:
            raise DataError(f"{split_dir}: no manifest.jsonl here; run `baseline-dub run --split S --out DIR` "
                            "first, or point --run (and --split) at that run's --out folder")
        return cls(split_dir, files, run_manifest.read_manifest(split_dir))

    @property
    def done(self) -> list[ClipRecord]:
        return [r for r in self.clips.values() if r.status == Status.DONE]

    def outcomes(self) -> Counter[str]:
        """``done`` and, for the rest, their reason (else their status), counted over clips."""
        return Counter(r.outcome for r in self.clips.values())


def run_profile(manifest: Manifest) -> str | None:
    """The profile the run's clips were dubbed with, as their rows record it (``None`` when no row does: a run
    where every clip failed). Rows naming different profiles (shards run with different models folders) raise
    ``ConfigError``: the report's instruments must then be chosen."""
    profiles = run_manifest.recorded_models(manifest.clips.values())[0]
    if len(profiles) > 1:
        raise ConfigError(f"{manifest.split_dir}: the run's clips were dubbed with different profiles "
                          f"({', '.join(profiles)}); pass --profile to choose whose models measure them")
    return profiles[0] if profiles else None


def find_split(run_dir: Path, split: str | None) -> str:
    """The split to evaluate: the given one, else the only folder of ``run_dir`` holding a manifest."""
    if split:
        return split
    found = sorted({p.parent.name for p in run_dir.glob(f"*/{MANIFEST_GLOB}")})
    if len(found) == 1:
        return found[0]
    raise DataError(f"{run_dir}: {'no' if not found else 'several'} split manifests "
                    f"({', '.join(found) or 'none'}); pass --split")


# -- the whole run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """Every clip's and segment's numbers, the manifest they came from, and notes for the report."""

    manifest: Manifest
    split: str
    clips: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    notes: tuple[str, ...]
    asr: str | None
    similarity_recomputed: bool


def _source_reader(data_dir: str | Path | None, annotations: str | Path | None = None) -> Callable[[str], Audio]:
    """A clip id -> source audio reader over ``data_dir`` (and its ``annotations`` file, when given); the dataset
    is opened on first use only."""
    opened: list[Any] = []

    def read(clip_id: str) -> Audio:
        if not opened:
            from baseline_dub.data.dataset import Dataset

            opened.append(Dataset.open(data_dir, annotations=annotations))
        return opened[0].audio(clip_id)

    return read


def evaluate_run(run_dir: str | Path, split: str | None = None, *, data_dir: str | Path | None = None,
                 annotations: str | Path | None = None, transcribe: metrics.Transcriber | None = None,
                 asr_name: str | None = None, encoder: SpeakerEncoder | None = None) -> Evaluation:
    """Evaluate every clip of ``<run_dir>/<split>/manifest*.jsonl``. ``data_dir`` (and ``annotations``) name the
    dataset whose source audio is measured when a row lacks its loudness; ``transcribe`` (English ASR of a batch
    of syntheses) enables WER; ``encoder`` (a ``SpeakerEncoder``) enables similarity recomputed from kept
    ``vocals.wav`` files."""
    run_dir = Path(run_dir)
    split = find_split(run_dir, split)
    read = Manifest.open(run_dir / split)
    reader = _source_reader(data_dir, annotations) if data_dir or annotations else None
    inputs = metrics.ClipInputs(run_dir, reader, encoder, transcribe)
    clips: list[dict[str, Any]] = []
    segments: list[dict[str, Any]] = []
    for row in read.clips.values():
        clip, segs = metrics.evaluate_clip(row, inputs)
        clips.append(clip)
        segments.extend(segs)
    recomputed = any(s.get("similarity_recomputed") is not None for s in segments)
    return Evaluation(read, split, clips, segments, tuple(sorted(inputs.notes)), asr_name, recomputed)


# -- models -------------------------------------------------------------------------------------------


def load_english_asr(config: Config, store: Store) -> tuple[metrics.Transcriber, str]:
    """English ASR of syntheses, as ``(transcribe, description)``: the translation stage's Whisper
    (``config.translate.model``, loaded once) with ``task=transcribe``, ``language=en``, batched. A
    transcript that the stage judges silent or hallucinated counts as empty (every word deleted). The description
    names the Whisper release, its registry entry and engine."""
    from baseline_dub.models.whispers import whisper_of
    from baseline_dub.stages.translate import load_translator

    translator = load_translator(config, store)

    def transcribe(audios: list[Audio]) -> list[str]:
        return [t.text for t in translator.transcribe_batch(audios, language="en")]

    return transcribe, (f"Whisper {whisper_of(config, store)} (`{translator.model_name}`, {translator.engine}; "
                        f"task transcribe, language en, {translator.device})")
