"""Choosing a profile: ``paper`` and ``offline`` are all-or-nothing; ``auto`` picks ``paper`` only
when every paper weight is present and says which it runs."""

from __future__ import annotations

import sys

from baseline_dub.config import Config, load_config
from baseline_dub.errors import ModelMissingError
from baseline_dub.models.store import Store


def resolve_config(profile: str, store: Store, config_path: str | None = None, device: str | None = None,
                   announce: bool = True) -> Config:
    """Load the configuration of ``profile`` (``auto`` resolved) and check all its weights are present.

    Raises ``ModelMissingError`` listing every missing weight and the command that fetches it.
    """
    if profile == "auto":
        paper = load_config("paper")
        missing = [n for n in paper.model_names() if not store.location(n).exists()]
        profile = "offline" if missing else "paper"
        if announce:
            why = f" ({len(missing)} paper weight(s) missing; `baseline-dub models list` shows them)" if missing else ""
            print(f"profile: {profile}{why}", file=sys.stderr)
    config = load_config(profile, config_path, device)
    missing = [n for n in config.model_names() if not store.location(n).exists()]
    if missing:
        raise ModelMissingError(store.missing_message(missing))
    return config
