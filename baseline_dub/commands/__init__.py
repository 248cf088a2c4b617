"""One module per ``baseline-dub`` sub-command; ``cli.py`` finds them all. Shared option helpers here."""

from __future__ import annotations

import argparse

from baseline_dub.config import PROFILES
from baseline_dub.models.devices import DEVICES
from baseline_dub.models.whispers import RELEASES

AUTO_HELP = "model profile (default auto: paper when all its weights are present)"
WHISPER_HELP = ("the Whisper release to use instead of the profile's own (offline: base; paper: large-v2), in the "
                "profile's engine; fetch it first with `baseline-dub models download --whisper NAME --profile P`. "
                "large-v3-turbo transcribes only")


def add_whisper_option(parser: argparse.ArgumentParser, help_text: str = WHISPER_HELP) -> None:
    """``--whisper NAME``: a Whisper release (``tiny`` ... ``large-v3-turbo``) instead of the profile's own."""
    parser.add_argument("--whisper", choices=RELEASES, default=None, metavar="NAME",
                        help=f"{help_text} ({', '.join(RELEASES)})")


def add_model_options(parser: argparse.ArgumentParser, profile_default: str | None = "auto",
                      profile_help: str = AUTO_HELP, whisper: bool = True) -> None:
    """``--profile``, ``--device``, ``--config`` and, unless ``whisper`` is false (a command that runs no Whisper),
    ``--whisper``: for every command that runs models."""
    parser.add_argument("--profile", choices=(*PROFILES, "auto"), default=profile_default, help=profile_help)
    parser.add_argument("--device", choices=DEVICES, default=None, help="torch device (default: the config's)")
    parser.add_argument("--config", default=None, help="a profile YAML to use instead of configs/<profile>.yaml")
    if whisper:
        add_whisper_option(parser)


def add_data_options(parser: argparse.ArgumentParser, data_help: str) -> None:
    """``--data`` and ``--annotations``: for every command that reads the dataset."""
    parser.add_argument("--data", default=None, help=data_help)
    parser.add_argument("--annotations", default=None, metavar="FILE",
                        help="the annotations file (.json or .json.gz) to read, when --data holds several or none "
                             "(default: the one anim400k_annotations*.json in --data)")
