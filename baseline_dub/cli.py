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

from baseline_dub import commands
from baseline_dub.errors import BaselineDubError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command module's sub-command registered."""
    parser = argparse.ArgumentParser(prog="baseline-dub", description=__doc__.splitlines()[0])
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
