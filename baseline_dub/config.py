"""Configuration: ``configs/<profile>.yaml`` -> frozen dataclasses, validated with clear errors.

A profile file names every model its stages use (entries of ``configs/models.yaml``) and states every
setting of each stage (``tests/test_profiles_complete.py`` holds both profiles to that): the dataclass
defaults below name no model and no profile's choice (models default to ``""``, none; the rest to the
reference packages' own defaults), so a profile never inherits a value silently. Unknown keys and wrong
types are errors that name the file and the key, so a typo never falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baseline_dub.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
PROFILES = ("paper", "offline")
TRANSLATE_ENGINES = ("openai-whisper", "ctranslate2")
CT2_COMPUTE_TYPES = ("auto", "default", "int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16",
                     "float16", "bfloat16", "float32")


def _source_checkout() -> Path | None:
    """The source tree this package runs from, or ``None`` when it is an installed wheel.

    A wheel carries the repository's ``configs/`` (and the sample) inside the package, mapped there at build
    time (``setup.py``); a checkout, editable install included, has them beside the package instead. A wheel
    is recognised by its package data first, so that an unrelated ``configs/`` folder in ``site-packages``
    is never taken for ours.
    """
    if (PACKAGE_ROOT / "configs" / "models.yaml").is_file():
        return None
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "configs" / "models.yaml").is_file():
        return PROJECT_ROOT
    return None


SOURCE_CHECKOUT = _source_checkout()
# The profiles and the model registry: the checkout's configs/, or the wheel's baseline_dub/configs/.
CONFIG_DIR = (SOURCE_CHECKOUT or PACKAGE_ROOT) / "configs"
# The bundled sample dataset: the checkout's data/sample/, or the wheel's baseline_dub/sample/.
SAMPLE_DIR = SOURCE_CHECKOUT / "data" / "sample" if SOURCE_CHECKOUT else PACKAGE_ROOT / "sample"


@dataclass(frozen=True)
class SeparateConfig:
    """Spleeter 2-stem separation (``baseline_dub/stages/separate/``): the two U-Nets' registry entries."""

    vocals_model: str = ""
    accompaniment_model: str = ""
    chunk_seconds: float = 30.0
    overlap_seconds: float = 2.0
    batch_size: int = 4


@dataclass(frozen=True)
class DiarizeConfig:
    """Speaker diarization into single-speaker segments (rules: baseline_dub/stages/diarize/__init__.py).

    ``backend``: ``offline`` (the ``segmentation_model`` ONNX + the profile's ``speaker_model`` + clustering)
    or ``pyannote`` (the ``pipeline_model`` pyannote.audio pipeline; empty for the offline profile).
    ``overlap``: ``drop`` (overlapped speech belongs to nobody) or ``dominant`` (to the speaker whose turn is longer).
    ``clustering_threshold``: average-linkage cosine distance under which local speakers are merged (two
    local speakers of one segmentation window are never merged: the model heard two voices there).
    When a speaker count is given and the offline clustering finds fewer, the speech is cut into pieces
    of ``count_piece_seconds`` that are clustered into the count, unless two of those clusters are one
    voice (centroid cosine >= ``count_same_voice_cosine``); see stages/diarize/offline.py.
    ``max_utterance_seconds``: each single-speaker segment is cut at its pauses into utterances of at most
    this many seconds (stages/diarize/utterances.py); 0 keeps segments whole.
    """

    backend: str = ""
    pipeline_model: str = ""
    segmentation_model: str = ""
    vad_model: str = ""
    diarize_single_speaker_clips: bool = False
    min_segment_seconds: float = 0.5
    merge_gap_seconds: float = 0.3
    overlap: str = "drop"
    clustering_threshold: float = 0.4
    window_step_seconds: float = 2.0
    batch_size: int = 8
    min_embedding_seconds: float = 0.5
    vad_threshold: float = 0.5
    speech_pad_seconds: float = 0.1
    count_piece_seconds: float = 0.75
    count_same_voice_cosine: float = 0.8
    max_utterance_seconds: float = 0.0


@dataclass(frozen=True)
class TranslateConfig:
    """Whisper speech translation (see baseline_dub/stages/translate/).

    ``language``: source language (``auto`` detects it per segment). ``beam_size`` applies at
    temperature 0, ``best_of`` to the sampled fallbacks of ``temperatures``. A segment is skipped (empty
    text, reason recorded) below ``silence_dbfs`` RMS, on Whisper's no-speech rule, or when its text is
    too repetitive (``compression_ratio_threshold``, ``max_ngram_repeats``). ``fp16`` only on CUDA.
    ``batch_size`` segments share one encoder/decoder pass on CUDA; on the CPU batching gains nothing (beam
    search over a padded batch costs the sum of its members and more: bench/translation_quality.py), so
    ``cpu_batch_size`` (default 1) applies there.
    ``fallback_on_logprob``: Whisper retries at the next temperature when the text is repetitive or its
    average log-probability is under ``logprob_threshold``; off, only repetitive text is retried.
    ``max_tokens_per_second`` caps each decode at ``16 + seconds * max_tokens_per_second`` tokens (at most
    Whisper's 224; 0 = no cap): English speech rarely exceeds 5 tokens per second, and the cap stops a
    looping hallucination early instead of sampling 224 tokens five times per fallback temperature.
    ``engine``: ``openai-whisper`` (the paper's package, on the openai-whisper checkpoint ``model``) or
    ``ctranslate2`` (CTranslate2, faster-whisper's engine, on the CTranslate2 model ``ct2_model``; ``ct2_files``
    are the registry entries that lie beside its ``model.bin``: config.json, vocabulary). ``compute_type``
    (ctranslate2 only): ``auto`` is float32 on the CPU and float16 on CUDA (bench/translate_engines.py), or
    any CTranslate2 compute type the device supports (int8, int8_float32, float32, float16, ...).
    ``patience``: beam search's patience (openai-whisper's and CTranslate2's; 1.0 stops at ``beam_size``
    finished hypotheses, 2.0 waits for twice as many).
    ``stock_phrases``: a line that is one of the phrases Whisper invents on non-speech (the bag of
    ``stages/translate/stock_phrases.txt``: video outros, subtitle credits, ...) is re-decoded like a repetitive
    line and, when every attempt is still one, not spoken (``skipped: hallucination``); the bag's ``unsure``
    phrases ("Thank you.", "I'm sorry.") only when Whisper's evidence is weak: no-speech probability over
    ``stock_unsure_no_speech`` or average log-probability under ``stock_unsure_logprob``.
    ``deloop``: a line every decoding of which loops (repetitive, or a repeated n-gram) keeps each repeat once
    and is spoken when what remains passes the rules, instead of being dropped.
    The decoding defaults are openai-whisper's own (its package is the default engine); its package has no bag and
    no delooping, so both are off unless a profile turns them on.
    """

    model: str = ""
    engine: str = "openai-whisper"
    compute_type: str = "auto"
    ct2_model: str = ""
    ct2_files: tuple[str, ...] = ()
    language: str = "ja"
    task: str = "translate"
    beam_size: int = 5
    patience: float = 1.0
    best_of: int = 5
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    batch_size: int = 16
    cpu_batch_size: int = 1
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    max_ngram_repeats: int = 5
    silence_dbfs: float = -60.0
    max_tokens_per_second: float = 8.0
    fallback_on_logprob: bool = True
    stock_phrases: bool = False
    stock_unsure_no_speech: float = 0.6
    stock_unsure_logprob: float = -1.0
    deloop: bool = False
    fp16: bool = True

    def __post_init__(self) -> None:
        if self.patience <= 0:
            raise ConfigError(f"translate.patience: {self.patience} must be > 0 (1.0: plain beam search)")
        if self.engine not in TRANSLATE_ENGINES:
            raise ConfigError(f"translate.engine: {self.engine!r} is not one of {', '.join(TRANSLATE_ENGINES)}")
        if self.compute_type not in CT2_COMPUTE_TYPES:
            raise ConfigError(f"translate.compute_type: {self.compute_type!r} is not one of "
                              f"{', '.join(CT2_COMPUTE_TYPES)}")

    def model_names(self) -> list[str]:
        """The registry entries the active engine loads."""
        return [self.ct2_model, *self.ct2_files] if self.engine == "ctranslate2" else [self.model]


@dataclass(frozen=True)
class SynthesizeConfig:
    """Text to speech with the segment's voice (paper: YourTTS cloning; offline: nearest Kokoro voice).

    ``backend``: ``yourtts`` or ``kokoro`` (rules: baseline_dub/stages/synthesize/). The reference is
    extended past ``min_reference_seconds`` with the speaker's other segments, then the clip's vocals,
    and cut at ``max_reference_seconds``. Text is cut into pieces of ``max_chars_per_chunk`` joined with
    ``chunk_pause_seconds`` of silence. Kokoro's voice search (stages/synthesize/voice_search.py): one
    voice per speaker, chosen from up to ``voice_choice_seconds`` of the speaker's vocals among the
    voices whose names start with ``voice_prefixes`` (e.g. the English ``af am bf bm``; ``jf jm`` adds
    the Japanese ones; empty: every voice), of the reference's gender when its median F0 is
    under ``male_f0_below`` or over ``female_f0_above`` Hz; the ``voice_search_k`` nearest and, with
    ``blend_voices``, their blends. A speaker whose voice another speaker of the clip holds takes its
    best distinct one when that scores at most ``distinct_voice_margin`` lower (voices whose calibration
    embeddings have a cosine of ``same_voice_cosine`` or more count as one). ``language``: ``en``
    phonemizes each voice's English in its own accent (British voices en-gb, others en-us); ``en-us``
    or ``en-gb`` forces one. Sampling (YourTTS) is seeded by the profile's ``seed``.
    """

    backend: str = ""
    model: str = ""
    voices_model: str = ""
    language: str = "en"
    min_reference_seconds: float = 3.0
    max_reference_seconds: float = 12.0
    max_chars_per_chunk: int = 200
    chunk_pause_seconds: float = 0.2
    speed: float = 1.0
    blend_voices: bool = False
    voice_prefixes: tuple[str, ...] = ()
    voice_search_k: int = 3
    voice_choice_seconds: float = 30.0
    male_f0_below: float = 150.0
    female_f0_above: float = 175.0
    distinct_voice_margin: float = 0.05
    same_voice_cosine: float = 0.9

    def __post_init__(self) -> None:
        if self.voice_search_k < 1 or self.voice_choice_seconds <= 0:
            raise ConfigError("synthesize.voice_search_k must be >= 1 and voice_choice_seconds > 0")
        if self.male_f0_below > self.female_f0_above:
            raise ConfigError(f"synthesize.male_f0_below ({self.male_f0_below} Hz) is above "
                              f"female_f0_above ({self.female_f0_above} Hz)")


@dataclass(frozen=True)
class RemixConfig:
    """Placing syntheses on the backing track at the clip's mixing ratio (see baseline_dub/stages/remix/).

    ``overlong``: what to do with a synthesis longer than its slot: ``keep`` (the paper: left as is,
    overlapping the next, cut at the clip end), ``cut`` (cut at the slot end with a ``cut_fade_seconds``
    fade) or ``fit`` (sped up toward the slot, at most ``max_stretch``; what still overruns is kept).
    ``fit_duration`` stretches every synthesis toward its slot. Stretch factors are speed factors
    (synthesis seconds / placed seconds) bounded by ``[min_stretch, max_stretch]``.
    """

    target_lufs: float = -23.0
    overlong: str = "keep"
    fit_duration: bool = False
    max_stretch: float = 1.5
    min_stretch: float = 0.8
    limiter_ceiling_db: float = -1.0
    limiter_lookahead_seconds: float = 0.005
    limiter_release_seconds: float = 0.05
    cut_fade_seconds: float = 0.02

    def __post_init__(self) -> None:
        if self.overlong not in ("keep", "cut", "fit"):
            raise ConfigError(f"remix.overlong: {self.overlong!r} is not one of keep, cut, fit")
        if not 0.0 < self.min_stretch <= 1.0 <= self.max_stretch:
            raise ConfigError(f"remix: need 0 < min_stretch <= 1 <= max_stretch, got "
                              f"{self.min_stretch} and {self.max_stretch}")
        if self.limiter_ceiling_db > 0.0:
            raise ConfigError(f"remix.limiter_ceiling_db: {self.limiter_ceiling_db} dBFS is above full scale; use <= 0")


@dataclass(frozen=True)
class Config:
    """The whole configuration of one profile.

    ``speaker_model``: the speaker encoder (Resemblyzer) every stage that embeds voices shares: the offline
    diarizer's clustering, the Kokoro voice search, the similarity of syntheses and the report. ``seed``:
    the seed of every sampled decision: translation's sampled fallbacks (both engines) and synthesis
    (YourTTS's sampling noise).
    """

    profile: str
    device: str = "auto"
    seed: int = 0
    speaker_model: str = ""
    separate: SeparateConfig = field(default_factory=SeparateConfig)
    diarize: DiarizeConfig = field(default_factory=DiarizeConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    synthesize: SynthesizeConfig = field(default_factory=SynthesizeConfig)
    remix: RemixConfig = field(default_factory=RemixConfig)

    def with_device(self, device: str | None) -> Config:
        """A copy with another device option (``None`` keeps the configured one)."""
        return self if device is None else dataclasses.replace(self, device=device)

    def model_names(self) -> list[str]:
        """Every model-store entry the active backends of this configuration use, without repeats."""
        d, s = self.diarize, self.synthesize
        names = [self.speaker_model, self.separate.vocals_model, self.separate.accompaniment_model]
        if d.backend == "pyannote":
            names.append(d.pipeline_model)
        else:
            names.append(d.segmentation_model)
        names.append(d.vad_model)  # both backends trim single-speaker clips to speech with it
        names += self.translate.model_names()
        names += [s.model, s.voices_model] if s.backend == "kokoro" else [s.model]
        return list(dict.fromkeys(n for n in names if n))


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check ``value`` against a dataclass field annotation, building nested dataclasses."""
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation):
        return from_dict(annotation, value, where)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} is not a valid {annotation}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item_type, *_rest) = typing.get_args(annotation)
        return tuple(_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value))
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float, str, bool):
        if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
            raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
        return value
    return value


def from_dict(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrong types raise ``ConfigError``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def load_config(profile: str, path: str | Path | None = None, device: str | None = None) -> Config:
    """Load a profile's configuration (``configs/<profile>.yaml`` unless ``path`` is given)."""
    if path is None:
        if profile not in PROFILES:
            raise ConfigError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)} (or auto)")
        path = CONFIG_DIR / f"{profile}.yaml"
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data.setdefault("profile", profile)
    if data["profile"] != profile and profile in PROFILES:
        raise ConfigError(f"{path}: says profile {data['profile']!r} but {profile!r} was asked for")
    return from_dict(Config, data, str(path)).with_device(device)
