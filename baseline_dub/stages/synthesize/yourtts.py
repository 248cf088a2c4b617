"""Paper synthesis: Coqui YourTTS (``coqui-tts``) cloning the segment's voice from ``speaker_wav``.

The store entry is the folder Coqui's model manager downloads (``model_file.pth``, ``config.json``,
the speaker encoder's ``model_se.pth`` + ``config_se.json``, ``language_ids.json``,
``speakers.json``), hashed and pinned in ``models/lock.json`` at download. Coqui writes absolute paths
of those side files into ``config.json`` at download time; the loader points them back into the
store folder (so a moved models directory still works) in a temporary copy of the config, and turns
off ``use_speaker_encoder_as_loss`` (a training-time option). Weights: coqui-tts 0.28 reads every
checkpoint with ``trainer.io.load_fsspec``, which calls ``torch.load(weights_only=True)`` on
torch >= 2.4; the loader refuses to run if that ever stops being true, so no pickle code executes.
Coqui's trainer saved ``your_tts`` (2022) with its training state besides the weights (``config``,
``optimizer``, ``scaler``, ``step``, ``epoch``, ``date``, ``model_loss``). coqui-tts 0.26-0.27
allowed ``dict``, ``collections.defaultdict`` and ``TTS.utils.radam.RAdam`` globally for that;
0.28 dropped it. The loader allows exactly those three names, only while Coqui loads the model
(:func:`coqui_checkpoint_globals`), bound to inert stand-ins: a defaultdict is read as a plain dict
(torch 2.14's weights-only unpickler refuses to fill a real one) and a pickled RAdam optimizer as a
bare record of its state, so no optimizer code runs; anything else in a checkpoint is still refused.
Each text piece is one ``Synthesizer.tts(text, speaker_name=None, language_name=..., speaker_wav=...)``
call after ``torch.manual_seed(seed)``, which makes the sampling noise (and so the output) repeatable.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baseline_dub.audio import Audio, write_audio
from baseline_dub.config import Config
from baseline_dub.errors import ChecksumError, ModelMissingError
from baseline_dub.models.devices import resolve_device
from baseline_dub.models.store import Store
from baseline_dub.stages.synthesize.backend import Spoken

CHECKPOINT_NAMES = ("model_file.pth", "model.pth", "best_model.pth")
SIDE_FILES = {
    "d_vector_file": ("speakers.json", "speakers.pth"),
    "speakers_file": ("speaker_ids.json", "speaker_ids.pth"),
    "language_ids_file": ("language_ids.json",),
    "speaker_encoder_model_path": ("model_se.pth", "model_se.pth.tar"),
    "speaker_encoder_config_path": ("config_se.json",),
}
ENCODER_RATE = 16000


def _local_side_file(folder: Path, current: Any, defaults: tuple[str, ...]) -> str | None:
    """The file in ``folder`` that a config path means: same base name first, then Coqui's default names."""
    names = [Path(str(current[0] if isinstance(current, list) and current else current)).name] if current else []
    for name in [*names, *defaults]:
        if name and (folder / name).is_file():
            return str(folder / name)
    return None


def localized_config(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Coqui ``config.json`` whose side-file paths point into ``folder``.

    Every key of :data:`SIDE_FILES` (top level and ``model_args``) that names a file is pointed at
    the file of the same name in ``folder`` (or Coqui's default name); ``use_speaker_encoder_as_loss``
    is turned off since it only matters for training.
    """
    config = json.loads(json.dumps(config))
    for section in (config, config.get("model_args") or {}):
        for key, defaults in SIDE_FILES.items():
            if key in section and section[key]:
                local = _local_side_file(folder, section[key], defaults)
                if local is not None:
                    section[key] = [local] if isinstance(section[key], list) else local
        if "use_speaker_encoder_as_loss" in section:
            section["use_speaker_encoder_as_loss"] = False
    return config


class PickledOptimizer:
    """What a pickled ``TTS.utils.radam.RAdam`` is read as: a bare record of its attributes (never used)."""


def _plain_dict(*_default_factory: object) -> dict:
    """Stands in for ``collections.defaultdict`` while unpickling: a plain dict, filled by the pickle."""
    return {}


@contextlib.contextmanager
def coqui_checkpoint_globals() -> Iterator[None]:
    """Allow, for the duration of the block only, the globals Coqui's trainer pickled into its
    checkpoints (``builtins.dict``, ``collections.defaultdict``, ``TTS.utils.radam.RAdam``), each
    bound to an inert stand-in; ``torch.load(weights_only=True)`` still refuses every other global."""
    import torch

    names = [dict, (_plain_dict, "collections.defaultdict"), (PickledOptimizer, "TTS.utils.radam.RAdam")]
    with torch.serialization.safe_globals(names):
        yield


def _check_weights_only() -> None:
    """Refuse to load Coqui checkpoints unless coqui's loader uses ``torch.load(weights_only=True)``."""
    from trainer import io as trainer_io

    if not getattr(trainer_io, "_WEIGHTS_ONLY", False):
        raise ModelMissingError(
            "this coqui-tts/trainer build loads checkpoints with torch.load(weights_only=False), which can "
            "run code from the file; install the pinned versions (`make setup`) with torch >= 2.4"
        )


class YourTTSBackend:
    """Coqui YourTTS cloning the reference voice (``voice_method="clone"``)."""

    name = "yourtts"
    voice_method = "clone"
    reference_rate = ENCODER_RATE

    def __init__(self, folder: Path, *, language: str = "en", use_cuda: bool = False, model_name: str = "") -> None:
        from TTS.utils.synthesizer import Synthesizer as CoquiSynthesizer

        _check_weights_only()
        checkpoint = next((folder / n for n in CHECKPOINT_NAMES if (folder / n).is_file()), None)
        if checkpoint is None or not (folder / "config.json").is_file():
            raise ModelMissingError(
                f"{folder} is not a Coqui model folder (needs config.json and one of {', '.join(CHECKPOINT_NAMES)}); "
                f"re-fetch it with `baseline-dub models download --model {model_name or 'yourtts'}`"
            )
        config = localized_config(folder, json.loads((folder / "config.json").read_text()))
        args = config.get("model_args") or {}
        encoder_model = args.get("speaker_encoder_model_path") or config.get("speaker_encoder_model_path")
        encoder_config = args.get("speaker_encoder_config_path") or config.get("speaker_encoder_config_path")
        with tempfile.TemporaryDirectory(prefix="yourtts-config-") as tmp:
            config_path = Path(tmp) / "config.json"
            config_path.write_text(json.dumps(config, indent=1))
            try:
                with coqui_checkpoint_globals():
                    self.coqui = CoquiSynthesizer(tts_checkpoint=str(checkpoint), tts_config_path=str(config_path),
                                                  encoder_checkpoint=encoder_model or None,
                                                  encoder_config=encoder_config or None, use_cuda=use_cuda)
            except pickle.UnpicklingError as exc:
                raise ChecksumError(
                    f"{folder}: a checkpoint holds objects other than weights, which torch.load(weights_only=True) "
                    f"refuses to unpickle ({exc}); it is not loaded. Re-fetch it with "
                    f"`baseline-dub models download --model {model_name or 'yourtts'}`"
                ) from exc
        self.rate = int(self.coqui.output_sample_rate)
        self.language = language
        self.model_name = model_name

    def speak(self, chunks: Sequence[str], reference: Audio, reference_embedding: np.ndarray,
              seed: int) -> Spoken:
        """Clone ``reference`` (written to a temporary wav for ``speaker_wav``) for each text piece."""
        import torch

        pieces = []
        with tempfile.TemporaryDirectory(prefix="yourtts-ref-") as tmp:
            wav = write_audio(Path(tmp) / "reference.wav", reference, subtype="PCM_16")
            for chunk in chunks:
                torch.manual_seed(seed)
                out = self.coqui.tts(chunk, speaker_name=None, language_name=self.language,
                                     speaker_wav=str(wav), split_sentences=False)
                pieces.append(np.asarray(out, dtype=np.float32))
        return Spoken(tuple(pieces), "speaker_wav", {"model": self.model_name})


def load_yourtts(config: Config, store: Store) -> YourTTSBackend:
    """YourTTS from the store folder ``synthesize.model`` (verified against its lock pin) on ``config.device``."""
    cfg = config.synthesize
    return YourTTSBackend(store.path(cfg.model), language=cfg.language,
                          use_cuda=resolve_device(config.device).startswith("cuda"), model_name=cfg.model)
