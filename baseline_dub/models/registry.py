"""The model registry: ``configs/models.yaml`` read into entries (what each weight is, where it comes from).

Source kinds (``baseline_dub.models.store`` explains each): ``package``, ``parts`` and ``convert`` are made from what
is installed here; ``url``, ``whisper``, ``coqui``, ``hf`` and ``npm`` need the network. An ``hf`` source with ``files``
(``{name: sha256 or null}``) is fetched file by file at its pinned ``revision``, a 40-digit commit. A Whisper weight
names the release it is (``whisper: tiny``): ``baseline_dub.models.whispers`` chooses by it (``--whisper NAME``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from baseline_dub.config import CONFIG_DIR
from baseline_dub.errors import ConfigError

NETWORK_KINDS = ("url", "whisper", "coqui", "hf", "npm")
LOCAL_KINDS = ("package", "parts", "convert")


@dataclass(frozen=True)
class ModelEntry:
    """One weight in the registry."""

    name: str
    file: str
    source: dict[str, Any]
    sha256: str | None = None
    profiles: tuple[str, ...] = ()
    description: str = ""
    license: str = ""
    inputs: tuple[str, ...] = field(default=())
    whisper: str | None = None  # the openai-whisper release these weights are (tiny, base, ..., large-v3-turbo)

    @property
    def kind(self) -> str:
        return str(self.source["kind"])

    @property
    def needs_network(self) -> bool:
        return self.kind in NETWORK_KINDS


def load_registry(path: Path | None = None) -> dict[str, ModelEntry]:
    """Read ``configs/models.yaml`` into entries, checking each has a file and a known source kind."""
    path = path or CONFIG_DIR / "models.yaml"
    if not path.is_file():
        raise ConfigError(f"{path}: the model registry is missing; reinstall baseline-dub (a wheel carries it in "
                          "baseline_dub/configs/, a checkout in configs/)")
    data = yaml.safe_load(path.read_text()) or {}
    entries: dict[str, ModelEntry] = {}
    for name, raw in (data.get("models") or {}).items():
        if not isinstance(raw, dict) or "file" not in raw or "source" not in raw:
            raise ConfigError(f"{path}: model {name!r} needs 'file' and 'source'")
        kind = raw["source"].get("kind")
        if kind not in LOCAL_KINDS + NETWORK_KINDS:
            raise ConfigError(f"{path}: model {name!r} has unknown source kind {kind!r}")
        files, revision = raw["source"].get("files"), str(raw["source"].get("revision") or "")
        if files is not None and (not isinstance(files, dict) or not files or len(revision) != 40
                                  or any(c not in "0123456789abcdef" for c in revision)):
            raise ConfigError(f"{path}: model {name!r}: a source with 'files' needs a mapping of file names to "
                              "sha256 (or null) and a 'revision' that is a 40-digit commit hash")
        entries[name] = ModelEntry(
            name=name,
            file=raw["file"],
            source=dict(raw["source"]),
            sha256=raw.get("sha256"),
            profiles=tuple(raw.get("profiles", ())),
            description=raw.get("description", ""),
            license=raw.get("license", ""),
            inputs=tuple(raw["source"].get("inputs", ())),
            whisper=raw.get("whisper"),
        )
    return entries
