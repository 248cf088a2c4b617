"""Choosing a profile: ``paper`` and ``offline`` are all-or-nothing; ``auto`` picks ``paper`` only
when every paper weight is present and says which it runs. ``whisper`` (``--whisper NAME``) puts another Whisper
release into the chosen profile (``baseline_dub.models.whispers``): the profile's weights, that Whisper's instead
of its own."""

from __future__ import annotations

import sys

from baseline_dub.config import Config, load_config
from baseline_dub.errors import ModelMissingError
from baseline_dub.models.store import Store
from baseline_dub.models.whispers import missing_whisper, with_whisper


def auto_profile(store: Store, whisper: str | None = None, task: str = "translate") -> tuple[str, list[str]]:
    """What ``auto`` runs: ``(paper, [])`` when every paper weight (with Whisper ``whisper`` when given) is
    present, else ``(offline, the missing paper weights)``."""
    paper = with_whisper(load_config("paper"), store, whisper, task)
    missing = store.missing(paper.model_names())
    return ("offline" if missing else "paper"), missing


def resolve_config(profile: str, store: Store, config_path: str | None = None, device: str | None = None,
                   announce: bool = True, whisper: str | None = None, task: str = "translate") -> Config:
    """Load the configuration of ``profile`` (``auto`` resolved) with Whisper ``whisper`` (``None``: the
    profile's own) for ``task`` (``translate``, or ``transcribe`` for the English ASR of ``evaluate``), and check
    that all its weights are present.

    Raises ``ModelMissingError`` listing every missing weight and the command that fetches it (for a chosen
    Whisper, ``baseline-dub models download --whisper NAME --profile P``), and ``ConfigError`` for a Whisper that
    cannot do ``task``.
    """
    if profile == "auto":
        profile, missing = auto_profile(store, whisper, task)
        if announce:
            why = f" ({len(missing)} paper weight(s) missing; `baseline-dub models list` shows them)" if missing else ""
            print(f"profile: {profile}{why}", file=sys.stderr)
    config = with_whisper(load_config(profile, config_path, device), store, whisper, task)
    missing = store.missing(config.model_names())
    if missing:
        chosen = missing_whisper(config, store, missing) if whisper is not None else None
        others = [n for n in missing if chosen is None or n not in config.translate.model_names()]
        lines = [store.missing_message(others)] if others else []
        raise ModelMissingError("\n".join(lines + ([chosen] if chosen else [])))
    return config
