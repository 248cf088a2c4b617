"""Block-style YAML in the one dialect both webMUSHRA's bundled reader and PyYAML read the same way.

webMUSHRA parses its config with ``lib/external/yaml/yaml.min.js`` (yaml.js), which does not read every
form PyYAML writes: PyYAML's compact nested list (``- - random``) comes back from yaml.js as one string,
so every page in it vanishes. This writer emits only forms that webMUSHRA's own ``configs/default.yaml``
uses: block mappings and block lists indented by four spaces, a list inside a list as ``-`` alone on its
line with the inner list indented below it. Every string is double-quoted with only ``\\\\``, ``\\"``,
``\\t``, ``\\n`` and ``\\r`` escapes (yaml.js turns ``\\u`` escapes of non-ASCII characters into mojibake,
so other characters are written as themselves, in UTF-8); keys are plain only when they are
identifier-like and no YAML 1.1 word (``yes``, ``on``, ``null``...), else quoted. Characters that the
two readers would disagree on (other control characters, U+0085, U+2028, U+2029) are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from baseline_dub.errors import ConfigError

INDENT = 4
_PLAIN_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_YAML11_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029\ud800-\udfff\ufeff]")


def _quoted(text: str) -> str:
    bad = _REFUSED.search(text)
    if bad:
        raise ConfigError(f"{text!r} holds the character U+{ord(bad.group()):04X}, which webMUSHRA's YAML reader "
                          "cannot read back; remove it (e.g. from the split name)")
    return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _quoted(value)
    raise TypeError(f"cannot write {type(value).__name__} to a webMUSHRA config")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"webMUSHRA config keys are strings, got {key!r}")
    if _PLAIN_KEY.match(key) and key.lower() not in _YAML11_WORDS:
        return key
    return _quoted(key)


def _is_container(value: Any) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str))


def _block(value: Mapping[str, Any] | Sequence[Any], indent: int) -> list[str]:
    """The lines of a non-empty mapping or list whose entries start at column ``indent``."""
    pad = " " * indent
    if not value:
        raise ConfigError(f"an empty {'mapping' if isinstance(value, Mapping) else 'list'} cannot be written "
                          "to a webMUSHRA config")
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _is_container(item):
                lines += [f"{pad}{_key(key)}:", *_block(item, indent + INDENT)]
            else:
                lines.append(f"{pad}{_key(key)}: {_scalar(item)}")
        return lines
    for item in value:
        if isinstance(item, Mapping):
            inner = _block(item, indent + 2)
            lines += [f"{pad}- {inner[0][indent + 2:]}", *inner[1:]]
        elif _is_container(item):
            lines += [f"{pad}-", *_block(item, indent + INDENT)]
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def dump_block_yaml(config: Mapping[str, Any]) -> str:
    """``config`` (nested mappings, lists, str, int, bool) as block YAML that yaml.js and PyYAML read alike.

    Raises ``ConfigError`` for a string holding a character the readers disagree on, or an empty container.
    """
    return "\n".join(_block(config, 0)) + "\n"
