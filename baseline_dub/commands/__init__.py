"""One module per ``baseline-dub`` sub-command; ``cli.py`` finds them all. Shared option helpers here."""

from __future__ import annotations

import argparse

from baseline_dub.config import PROFILES
from baseline_dub.models.devices import DEVICES

AUTO_HELP = "model profile (default auto: paper when all its weights are present)"


def add_model_options(parser: argparse.ArgumentParser, profile_default: str | None = "auto",
                      profile_help: str = AUTO_HELP) -> None:
    """``--profile``, ``--device`` and ``--config``: for every command that runs models."""
    parser.add_argument("--profile", choices=(*PROFILES, "auto"), default=profile_default, help=profile_help)
    parser.add_argument("--device", choices=DEVICES, default=None, help="torch device (default: the config's)")
    parser.add_argument("--config", default=None, help="a profile YAML to use instead of configs/<profile>.yaml")


def add_data_options(parser: argparse.ArgumentParser, data_help: str) -> None:
    """``--data`` and ``--annotations``: for every command that reads the dataset."""
    parser.add_argument("--data", default=None, help=data_help)
    parser.add_argument("--annotations", default=None, metavar="FILE",
                        help="the annotations file (.json or .json.gz) to read, when --data holds several or none "
                             "(default: the one anim400k_annotations*.json in --data)")
