"""Choosing the torch device: ``auto`` means CUDA when present, otherwise the CPU."""

from __future__ import annotations

from baseline_dub.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> str:
    """Return ``"cuda"`` or ``"cpu"`` for a device option; ``cuda`` without a GPU is a clear error.

    The code never assumes a GPU exists nor that it does not: ``auto`` asks torch at call time.
    """
    import torch

    if name not in DEVICES and not name.startswith("cuda:"):
        raise ConfigError(f"unknown device {name!r}; use one of {', '.join(DEVICES)} (or cuda:N)")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device {name!r} was asked for but torch sees no CUDA GPU; use --device cpu or auto, "
            "or install the torch build that matches your driver (docs/install.md: 'GPUs and torch builds')"
        )
    return name
