"""The network refused inside a test, and a stand-in models folder and registry in force.

``refused_network(mp, local=...)`` patches ``socket.socket.connect`` and ``socket.getaddrinfo`` on the
``pytest.MonkeyPatch`` given and returns the list of tries; hosts in ``local`` (a test's own HTTP server on
127.0.0.1) are let through. The fixture that uses it asserts at its end that the list is empty.
``stand_in_models(mp, root, registry)`` points the store at ``root`` and the registry at ``registry`` with the
hub clients' offline switches set. ``cli_output`` runs the command line in-process and returns what it printed.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from baseline_dub import cli
from baseline_dub.models.registry import ModelEntry

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def refused_network(mp: pytest.MonkeyPatch, local: tuple[str, ...] = ()) -> list[str]:
    """Refuse every internet connection and name lookup but to ``local`` hosts; returns the tries, as they come."""
    tries: list[str] = []
    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(sock: socket.socket, address):  # noqa: ANN001 (socket's own signature)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in local:
            tries.append(repr(address))
            raise OSError(f"network access refused in this test: {address!r}")
        return real_connect(sock, address)

    def guarded_lookup(host, *args, **kwargs):  # noqa: ANN001
        if host not in local:
            tries.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(f"no name lookups in this test: {host!r}")
        return real_lookup(host, *args, **kwargs)

    mp.setattr(socket.socket, "connect", guarded_connect)
    mp.setattr(socket, "getaddrinfo", guarded_lookup)
    return tries


def stand_in_models(mp: pytest.MonkeyPatch, root: Path, registry: dict[str, ModelEntry]) -> None:
    """The store reads ``root`` and ``registry`` (stand-ins' sha256s); the hub clients are told they are offline."""
    mp.setenv("BASELINE_DUB_MODELS", str(root))
    for switch in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        mp.setenv(switch, "1")
    mp.setattr("baseline_dub.models.store.load_registry", lambda path=None: dict(registry))


def cli_output(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``baseline-dub ARGV`` in this process: (exit code, stdout, stderr)."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
