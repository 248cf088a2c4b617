"""Paper diarization backend: a ``pyannote.audio`` 4.x ``Pipeline`` loaded from a folder in ``models/``.

The folder (``pyannote/speaker-diarization-community-1`` by default, or ``-3.1``) is what
``baseline-dub models download`` fetched from the hub with ``HF_TOKEN``: a ``config.yaml`` whose
``$model/<subfolder>`` entries point at checkpoints inside the same folder. Nothing is downloaded
here. pyannote loads its own checkpoints with ``torch.load(weights_only=False)``; the store first
checks the whole folder against the sha256 pinned at download (``models/lock.json``), so only the
files that were fetched and pinned are ever unpickled. pyannote's usage telemetry is off unless the user
opts in (``baseline_dub/models/telemetry.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from baseline_dub.audio import Audio
from baseline_dub.config import Config
from baseline_dub.errors import ConfigError, ModelMissingError
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.store import Store
from baseline_dub.models.telemetry import pyannote_telemetry_off
from baseline_dub.stages.types import Segment

RATE = 16000


def _annotation(output: Any) -> Any:
    """The speaker annotation of a pipeline output (4.x ``DiarizeOutput`` or a bare ``Annotation``)."""
    return getattr(output, "speaker_diarization", output)


class PyannoteBackend:
    """pyannote.audio's ``SpeakerDiarization`` pipeline; implements ``diarize.Backend``."""

    def __init__(self, pipeline_dir: Path, device: str = "cpu") -> None:
        import torch

        pyannote_telemetry_off()  # again, should the environment have lost it since ``import baseline_dub``
        from pyannote.audio import Pipeline

        if not (Path(pipeline_dir) / "config.yaml").is_file():
            raise ModelMissingError(f"{pipeline_dir} has no config.yaml: it is not a pyannote pipeline folder; "
                                    "re-fetch it with `baseline-dub models download`")
        pipeline = Pipeline.from_pretrained(Path(pipeline_dir))
        if pipeline is None:
            raise ModelMissingError(f"pyannote could not load the pipeline in {pipeline_dir}")
        self.pipeline = pipeline.to(torch.device(device))

    def turns(self, vocals: Audio, num_speakers: int | None = None) -> list[Segment]:
        """Raw turns from the pipeline; ``num_speakers`` is passed on as pyannote's exact count."""
        import torch

        mono = vocals.mono().resample(RATE)
        file = {"waveform": torch.from_numpy(mono.samples.copy()), "sample_rate": RATE}
        kwargs = {"num_speakers": num_speakers} if num_speakers else {}
        annotation = _annotation(self.pipeline(file, **kwargs))
        turns = [Segment(float(span.start), float(span.end), str(label))
                 for span, _, label in annotation.itertracks(yield_label=True)]
        return sorted(turns, key=lambda s: (s.start, s.end, s.speaker))

    def split_into_voices(self, vocals: Audio, speech: list[Segment], num_speakers: int) -> list[Segment] | None:
        """No second attempt: pyannote was given the exact count, what it returned stands."""
        return None


def load_pyannote_backend(config: Config, store: Store) -> PyannoteBackend:
    """The pipeline folder ``diarize.pipeline_model`` (verified in the store) on ``config.device``."""
    name = config.diarize.pipeline_model
    if not name:
        raise ConfigError("diarize.backend is pyannote but diarize.pipeline_model is empty; name a pipeline "
                          "entry of configs/models.yaml (e.g. pyannote-speaker-diarization-community-1)")
    return PyannoteBackend(store.path(name), resolve_device(config.device))
