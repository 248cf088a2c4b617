"""``baseline-dub models list|verify|download``: what is in the model store, checks, fetching.

``verify`` re-hashes every file, whatever the store's hash cache says.
"""

from __future__ import annotations

import argparse

from baseline_dub.config import PROFILES
from baseline_dub.errors import ChecksumError, ModelMissingError
from baseline_dub.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help="list, verify or download model weights")
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


def run(args: argparse.Namespace) -> int:
    store = Store()
    names = _names(store, args)
    if args.action == "download":
        for name in names:
            path = store.fetch(name, allow_network=True)
            print(f"ok       {name:45s} {path}")
        return 0
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
