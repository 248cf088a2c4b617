"""One module per ``baseline-dub`` sub-command; ``cli.py`` finds them all. Shared option helpers here."""

from __future__ import annotations

import argparse

from baseline_dub.config import PROFILES
from baseline_dub.devices import DEVICES


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--profile``, ``--device`` and ``--config``: for every command that runs models."""
    parser.add_argument("--profile", choices=(*PROFILES, "auto"), default="auto",
                        help="model profile (default auto: paper when all its weights are present)")
    parser.add_argument("--device", choices=DEVICES, default=None, help="torch device (default: the config's)")
    parser.add_argument("--config", default=None, help="a profile YAML to use instead of configs/<profile>.yaml")
