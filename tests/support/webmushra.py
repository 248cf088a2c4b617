"""The real webMUSHRA client in tests: where it is, its own YAML reader under node, its page walk, a scratch copy.

webMUSHRA lives in ``../shared/clients/webMUSHRA`` (read-only; ``../shared/clients/README.md``). Tests
never copy it into the repository: :func:`webmushra_copy` puts a writable copy in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.shared import WEBMUSHRA

YAML_READER = WEBMUSHRA / "lib" / "external" / "yaml" / "yaml.min.js"
PARSE_SCRIPT = Path(__file__).resolve().parent / "browser" / "webmushra_yaml.js"
# Page types startup.js's addPagesToPageManager knows; any other type is its "Type not specified." error.
PAGE_TYPES = ("generic", "consent", "volume", "mushra", "spatial", "paired_comparison", "bs1116",
              "likert_single_stimulus", "likert_multi_stimulus", "finish")


def require_webmushra() -> None:
    """Fail (never skip) when webMUSHRA or node is missing."""
    if not YAML_READER.is_file():
        pytest.fail(f"webMUSHRA not found at {WEBMUSHRA}; the tests need ../shared beside the checkout")
    if shutil.which("node") is None:
        pytest.fail("node is missing; run `make browser-tools` (part of `make test`) to install it")


def webmushra_yaml(*paths: Path) -> list[Any]:
    """Each file parsed by webMUSHRA's bundled yaml.js under node, exactly as its startup.js reads a config."""
    require_webmushra()
    proc = subprocess.run(["node", str(PARSE_SCRIPT), str(YAML_READER), *map(str, paths)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def startup_pages(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The pages webMUSHRA's startup.js would add, in config order (a ``random`` list's pages unshuffled).

    Mirrors ``addPagesToPageManager``: a list is walked recursively, its leading ``"random"`` dropped;
    anything else must be a mapping with a known ``type``, else webMUSHRA stops with "Type not specified.".
    """
    pages: list[dict[str, Any]] = []

    def walk(entries: list[Any]) -> None:
        for page in entries:
            if isinstance(page, list):
                walk(page[1:] if page[:1] == ["random"] else page)
            elif isinstance(page, dict) and page.get("type") in PAGE_TYPES:
                pages.append(page)
            else:
                raise AssertionError(f"webMUSHRA would stop with 'Type not specified.' at {page!r:.120}")

    walk(config["pages"])
    return pages


def webmushra_copy(dest: Path) -> Path:
    """A writable copy of webMUSHRA at ``dest`` (its ``results/`` and ``configs/`` writable by this user)."""
    require_webmushra()
    shutil.copytree(WEBMUSHRA, dest)
    for folder, _subfolders, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return dest
