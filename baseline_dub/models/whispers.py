"""The Whisper a user chooses: ``--whisper NAME`` (every multilingual openai-whisper release) in either profile.

Every Whisper weight in the registry names the release it is (``whisper: tiny``). A release comes in two formats:
an openai-whisper ``.pt`` checkpoint (what ``translate.engine: openai-whisper`` loads as ``translate.model``) and a
CTranslate2 folder, or a ``model.bin`` with its companions beside it (what ``ctranslate2`` loads as
``translate.ct2_model`` and ``ct2_files``). ``with_whisper`` puts a release into a profile's configuration for the
profile's engine:

- the profile's own Whisper (the offline profile's packaged base, the paper profile's large-v2) keeps the profile's
  entries, so ``--whisper base`` in the offline profile needs no network;
- otherwise the release's entry in that format: a profile's own entry first, then OpenAI's released file (or the
  hub's conversion) before one converted here.

``large-v3-turbo`` was trained to transcribe only: choosing it to translate is a ``ConfigError`` (it still
transcribes: ``translate --language en``, ``evaluate``). ``whisper_of`` names the release a configuration loads,
which every output records beside the profile. A chosen Whisper that is not in the models folder stops a command
before any clip with the command that fetches it (``missing_whisper``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import PurePosixPath

from baseline_dub.config import Config
from baseline_dub.errors import ConfigError
from baseline_dub.models.registry import ModelEntry
from baseline_dub.models.store import Store

# Every multilingual openai-whisper release (whisper._MODELS less the English-only ones and the aliases).
RELEASES = ("tiny", "base", "small", "medium", "large-v1", "large-v2", "large-v3", "large-v3-turbo")
TRANSCRIBE_ONLY = ("large-v3-turbo",)  # trained on transcription, never on translation
ENGINES = ("openai-whisper", "ctranslate2")
COMPANION_SUFFIXES = (".json", ".txt")  # the files that lie beside a CTranslate2 model.bin


def entry_engine(entry: ModelEntry) -> str:
    """The engine that loads a Whisper weight: ``openai-whisper`` for a ``.pt`` checkpoint, else ``ctranslate2``
    (a CTranslate2 folder, its ``model.bin`` or a file beside it)."""
    return "openai-whisper" if entry.file.endswith(".pt") else "ctranslate2"


@dataclass(frozen=True)
class WhisperChoice:
    """The registry entries one engine loads for one release: ``model`` (a ``.pt``, a CTranslate2 folder or its
    ``model.bin``) and ``files`` (the companions that lie beside a ``model.bin``)."""

    release: str
    engine: str
    model: str
    files: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """The entries, the model first."""
        return [self.model, *self.files]


def _main_entries(store: Store, release: str, engine: str) -> list[ModelEntry]:
    entries = [e for e in store.entries.values() if e.whisper == release and entry_engine(e) == engine]
    if engine == "ctranslate2":  # a folder, or a model.bin; not the config.json, vocabulary... beside a model.bin
        entries = [e for e in entries if PurePosixPath(e.file).suffix not in COMPANION_SUFFIXES]
    return entries


def whisper_choice(store: Store, release: str, engine: str, profile: str = "") -> WhisperChoice:
    """The entries of ``release`` for ``engine``: an entry of ``profile`` first, then a download (OpenAI's release,
    the hub's conversion), then one converted here. ``ConfigError`` for an unknown release or engine."""
    if release not in RELEASES:
        raise ConfigError(f"--whisper {release}: not a Whisper release; choose one of {', '.join(RELEASES)}")
    if engine not in ENGINES:
        raise ConfigError(f"translate.engine: {engine!r} is not one of {', '.join(ENGINES)}")
    ranked = sorted(_main_entries(store, release, engine),
                    key=lambda e: (profile not in e.profiles, e.kind in ("convert", "parts", "package")))
    if not ranked:
        raise ConfigError(f"--whisper {release}: the model registry has no {engine} weights of Whisper {release}")
    main = ranked[0]
    files: tuple[str, ...] = ()
    if main.file.endswith("/model.bin"):
        folder = main.file.rsplit("/", 1)[0]
        files = tuple(e.name for e in store.entries.values() if e.whisper == release and e.name != main.name
                      and e.file.rsplit("/", 1)[0] == folder and entry_engine(e) == "ctranslate2")
    return WhisperChoice(release, engine, main.name, files)


def active_entry(config: Config) -> str:
    """The registry entry of the Whisper that ``config``'s engine loads."""
    t = config.translate
    return t.ct2_model if t.engine == "ctranslate2" else t.model


def whisper_of(config: Config, store: Store) -> str:
    """The release ``config``'s engine loads (``tiny`` ... ``large-v3-turbo``), as every output records it; a
    weight the registry does not tag with a release is named by its registry entry instead."""
    name = active_entry(config)
    entry = store.entries.get(name)
    return entry.whisper if entry is not None and entry.whisper else name


def check_task(config: Config, store: Store, task: str) -> None:
    """``ConfigError`` when ``config`` would translate with a Whisper trained only to transcribe."""
    release = whisper_of(config, store)
    if task == "translate" and release in TRANSCRIBE_ONLY:
        raise ConfigError(f"Whisper {release} was not trained to translate, so it cannot dub: choose another release "
                          f"(--whisper {' | '.join(r for r in RELEASES if r not in TRANSCRIBE_ONLY)}); it can "
                          f"transcribe (`translate --language en --whisper {release}`, `evaluate --whisper {release}`)")


def with_whisper(config: Config, store: Store, release: str | None, task: str = "translate") -> Config:
    """``config`` loading Whisper ``release`` in its engine (``None``: its own Whisper), for ``task``: ``translate``
    (checked: a transcription-only Whisper cannot), or ``transcribe`` (then ``translate.task`` is ``transcribe``,
    so that the engine loads a transcription-only Whisper). See the module's docstring for the entries chosen."""
    changes: dict[str, object] = {"task": "transcribe"} if task == "transcribe" else {}
    if release is not None and whisper_of(config, store) != release:
        choice = whisper_choice(store, release, config.translate.engine, config.profile)
        changes.update({"ct2_model": choice.model, "ct2_files": choice.files} if choice.engine == "ctranslate2"
                       else {"model": choice.model})
    if changes:
        config = dataclasses.replace(config, translate=dataclasses.replace(config.translate, **changes))
    check_task(config, store, config.translate.task)
    return config


def whisper_names(config: Config) -> list[str]:
    """The registry entries of ``config``'s Whisper (the engine's model and its companions)."""
    return [n for n in config.translate.model_names() if n]


def fetch_command(release: str, profile: str) -> str:
    """The commands that fetch Whisper ``release`` for ``profile``'s engine: the CLI's, and make's."""
    return (f"`baseline-dub models download --whisper {release} --profile {profile}` (make: `make models "
            f"WHISPER={release} PROFILE={profile}`)")


def missing_whisper(config: Config, store: Store, missing: list[str]) -> str | None:
    """The sentence for a chosen Whisper that is not in the models folder (``None`` when all of it is there):
    which Whisper, where it was looked for, the command that fetches it, and ``models import`` for a copy."""
    gone = [n for n in whisper_names(config) if n in missing]
    if not gone:
        return None
    release = whisper_of(config, store)
    return (f"Whisper {release} ({config.translate.engine}: {', '.join(gone)}) is not in {store.root}: fetch it with "
            f"{fetch_command(release, config.profile)}; without a network, copy it (the file, or the CTranslate2 "
            "folder) from a machine that has it and run `baseline-dub models import PATH`")
