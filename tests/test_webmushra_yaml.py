"""Every config ``mushra build`` can write, read by webMUSHRA's own YAML reader (yaml.js under node).

webMUSHRA reads its config with its bundled ``lib/external/yaml/yaml.min.js``, not PyYAML; PyYAML's
compact nested list (``- - random``) comes back from it as one string and every MUSHRA page vanishes
("Type not specified."). Here each built config is parsed by that reader and must equal, value for
value, the config we meant to write (and what PyYAML reads); then the pages webMUSHRA's startup.js
would create are walked and every audio path is checked against the built folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from baseline_dub.cli import main
from baseline_dub.data.dataset import Dataset
from baseline_dub.errors import ConfigError
from baseline_dub.mushra.stimuli import BuildOptions, build_mushra
from baseline_dub.mushra.webmushra import REFERENCE, MushraItem, StimulusFile, webmushra_config, write_test_files
from baseline_dub.mushra.yaml_block import dump_block_yaml
from support.webmushra import startup_pages, webmushra_yaml

ODD_SYSTEMS = ["123", "true", "null", "Off", "a-b", "x_1", "NO", "1e3", "y"]  # valid names YAML 1.1 would retype
HOSTILE_TITLE = 'Anim-400K "dub" test: 日本語 # not a comment \\ back-slash, tab\there, {a: [b]} & *c !d |e >f %g @h'


def _expected(out: Path, title: str, items: tuple[MushraItem, ...]) -> dict:
    return webmushra_config(out.name, title, items)


@pytest.fixture(scope="module")
def configs(mushra_inputs, mushra_build, tmp_path_factory) -> list[tuple[Path, dict, tuple[MushraItem, ...]]]:
    """(YAML path, the config meant, items) for each kind of build."""
    root = tmp_path_factory.mktemp("webmushra_yaml")
    title = "Anim-400K dubbing MUSHRA (test)"
    found = [(mushra_build.config, _expected(mushra_build.out, title, mushra_build.items), mushra_build.items)]
    # The command line: one item, 4 s, 44.1 kHz, a name with a digit and a dash.
    cli_out = root / "cli-test_1"
    assert main(["mushra", "build", "--data", str(mushra_inputs.data), "--dubs", str(mushra_inputs.dubs),
                 "--items", "1", "--seed", "3", "--max-seconds", "4", "--rate", "44100", "--out", str(cli_out)]) == 0
    cli_items = _items_from_stimuli_csv(cli_out)
    found.append((cli_out / "cli-test_1.yaml", _expected(cli_out, title, cli_items), cli_items))
    # Twelve conditions per page (the most webMUSHRA allows), with system names YAML 1.1 would turn into
    # numbers, booleans and null.
    systems = {n: mushra_inputs.other for n in ODD_SYSTEMS}
    crowded = build_mushra(Dataset.open(mushra_inputs.data), mushra_inputs.dubs, root / "crowded",
                           BuildOptions(items=2, seed=1, max_seconds=3.0), systems)
    found.append((crowded.config, _expected(crowded.out, title, crowded.items), crowded.items))
    # Forty pages and a title with every YAML-significant character (the file layer alone, no audio).
    many = tuple(MushraItem(f"item{i:02d}", f"x/clip{i}", tuple(
        StimulusFile(c, f"item{i:02d}/{c}.wav", 10.0, -23.0) for c in (REFERENCE, "baseline", "anchor35", "anchor70")))
        for i in range(1, 41))
    many_out = root / "many"
    many_out.mkdir()
    found.append((write_test_files(many_out, HOSTILE_TITLE, many, 48000), _expected(many_out, HOSTILE_TITLE, many),
                  many))
    return found


def _items_from_stimuli_csv(out: Path) -> tuple[MushraItem, ...]:
    import csv

    with (out / "stimuli.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    items: dict[str, list[dict]] = {}
    for row in rows:
        items.setdefault(row["item"], []).append(row)
    return tuple(MushraItem(item, group[0]["clip_id"], tuple(
        StimulusFile(r["condition"], r["file"], float(r["seconds"]), float(r["lufs"])) for r in group))
        for item, group in items.items())


def test_webmushra_reads_every_built_config_as_written(configs):
    parsed = webmushra_yaml(*(path for path, _, _ in configs))
    for (path, expected, items), got in zip(configs, parsed, strict=True):
        assert got == expected, path
        assert yaml.safe_load(path.read_text(encoding="utf-8")) == expected, path  # PyYAML agrees
        pages = startup_pages(got)
        assert [p["type"] for p in pages] == ["generic", *["mushra"] * len(items), "finish"], path
        name = path.parent.name
        assert got["testId"] == name.lower()
        for page, item in zip(pages[1:-1], items, strict=True):
            assert page["id"] == item.item
            conditions = {s.condition for s in item.stimuli if s.condition != REFERENCE}
            assert set(page["stimuli"]) == conditions and len(conditions) <= 12
            paths = [page["reference"], *page["stimuli"].values()]
            assert paths == [f"configs/{name}/{item.file_of(REFERENCE)}",
                             *(f"configs/{name}/{item.file_of(c)}" for c in page["stimuli"])]
            if name != "many":  # the forty-page config has no audio
                assert all((path.parent / p.removeprefix(f"configs/{name}/")).is_file() for p in paths)


def test_the_crowded_build_keeps_odd_condition_names_as_strings(configs):
    path, _, items = configs[2]
    page = startup_pages(webmushra_yaml(path)[0])[1]
    assert set(page["stimuli"]) == {"baseline", *ODD_SYSTEMS, "anchor35", "anchor70"}
    assert len(page["stimuli"]) == 12


def test_pyyaml_compact_lists_lose_every_page_in_webmushra(configs, tmp_path):
    """The bug this dialect avoids: webMUSHRA reads PyYAML's ``- - random`` block as one string."""
    _, expected, _ = configs[0]
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump(expected, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    got = webmushra_yaml(old)[0]
    assert isinstance(got["pages"][1], str) and got["pages"][1].startswith("- random")
    with pytest.raises(AssertionError, match="Type not specified"):
        startup_pages(got)


@pytest.mark.parametrize("text", ["line\u2028separator", "bell\x07", "next\x85line", "bom\ufeff"])
def test_strings_the_readers_would_disagree_on_are_refused(text):
    with pytest.raises(ConfigError, match="cannot read back"):
        dump_block_yaml({"testname": text})


def test_empty_lists_and_mappings_are_refused():
    with pytest.raises(ConfigError, match="empty"):
        dump_block_yaml({"pages": []})
    with pytest.raises(ConfigError, match="empty"):
        dump_block_yaml({"pages": [{"stimuli": {}}]})
