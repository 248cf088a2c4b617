"""Each profile is complete in its YAML: every setting stated there, none taken from a dataclass default.

``tests/data/resolved_profiles.json`` is what ``load_config`` resolved for both profiles before the profiles
were made complete (dumped from the code of that time): the YAMLs must still give exactly those values.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from baseline_dub.config import PROFILES, load_config

RESOLVED = Path(__file__).parent / "data" / "resolved_profiles.json"


def _json(value: object) -> object:
    """``value`` as JSON gives it back (tuples become lists), to compare with the dump."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_resolves_to_the_values_it_had(profile: str) -> None:
    expected = json.loads(RESOLVED.read_text())[profile]
    assert _json(dataclasses.asdict(load_config(profile))) == expected
