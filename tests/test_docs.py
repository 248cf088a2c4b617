"""The README and the documentation site are checked like code: the site builds with ``mkdocs build --strict`` (a
broken link or a missing anchor fails it, shown on a fixture docs tree), the command reference is what the CLI
prints, every shell block runs in a named test or says why not, every Python block compiles, and the README stays
a front page (at most 12,000 bytes, its links resolving)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from baseline_dub import cli
from baseline_dub.config import PROJECT_ROOT
from support.doc_blocks import SHELL, Block, python_problems, read_blocks, shell_problems

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
DOC_FILES = [README, *sorted(DOCS.rglob("*.md"))]
BIN = Path(sys.executable).parent


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
                           "--site-dir", str(site)], capture_output=True, text=True, timeout=300)


def _cli_reference():
    spec = importlib.util.spec_from_file_location("cli_reference", PROJECT_ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = _mkdocs(PROJECT_ROOT / "mkdocs.yml", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _page(site: Path, md: str) -> Path:
    """The built HTML of the docs page ``md`` (``use_directory_urls``: ``x.md`` -> ``x/index.html``)."""
    return site / ("index.html" if md == "index.md" else f"{md[:-3]}/index.html")


def test_the_site_builds_strict_with_every_page(site: Path) -> None:
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert "commands.md" in pages and "manifest.md" in pages
    assert [p for p in pages if not _page(site, p).is_file()] == []


def test_the_site_fetches_nothing_from_outside(site: Path) -> None:
    """Read offline too: no script, style sheet, font or image of a page comes from another host."""
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 10
    outside = {f"{p.relative_to(site)}: {m}" for p in pages
               for m in re.findall(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"',
                                   p.read_text(encoding="utf-8"))}
    css = [f"{p.relative_to(site)}: {m}" for p in site.rglob("*.css")
           for m in re.findall(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", p.read_text(encoding="utf-8"))]
    assert sorted(outside) + css == []


def _fixture_site(tmp_path: Path, index: str) -> subprocess.CompletedProcess:
    """A copy of the project's mkdocs.yml over a two-page fixture docs tree whose first page is ``index``."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(index)
    (docs / "other.md").write_text("# Other\n\n## A real heading\n\nText.\n")
    config = yaml.safe_load((PROJECT_ROOT / "mkdocs.yml").read_text())
    config.update(docs_dir=str(docs), nav=[{"Home": "index.md"}, {"Other": "other.md"}])
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")


@pytest.mark.parametrize("link,complaint", [
    ("[fine](other.md#a-real-heading)", None),
    ("[gone](missing.md)", "contains a link 'missing.md', but the target is not found"),
    ("[no anchor](other.md#no-such-heading)", "does not contain an anchor '#no-such-heading'"),
    ("[no anchor here](#nowhere)", "contains a link '#nowhere', but there is no such anchor on this page"),
])
def test_the_strict_build_fails_on_a_broken_link_and_a_missing_anchor(tmp_path: Path, link: str,
                                                                      complaint: str | None) -> None:
    proc = _fixture_site(tmp_path, f"# Home\n\nSee {link}.\n")
    if complaint is None:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0 and complaint in proc.stderr, proc.stderr
        assert "Aborted with 1 warnings in strict mode" in proc.stdout + proc.stderr, proc.stderr


def test_the_command_reference_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/commands.md is what scripts/cli_reference.py writes, byte for byte, whatever the terminal's width."""
    monkeypatch.setenv("COLUMNS", "60")
    reference = _cli_reference()
    assert reference.render() == (DOCS / "commands.md").read_text(encoding="utf-8"), (
        "docs/commands.md is stale: run `.venv/bin/python scripts/cli_reference.py`")
    assert os.environ["COLUMNS"] == "60"


@pytest.mark.slow  # a process per command; `make test-fast` keeps test_the_command_reference_is_current
def test_the_command_reference_is_what_each_command_prints() -> None:
    """Each section of docs/commands.md is the stdout of the installed ``baseline-dub COMMAND --help``, for every
    command and sub-command the parser has, and nothing else."""
    page = (DOCS / "commands.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `baseline-dub ?([a-z -]*)`\n\n```text\n(.*?)\n```$", page, re.S | re.M))
    commands = [" ".join(words) for words, _ in _cli_reference().walk(cli.build_parser())]
    assert sorted(sections) == sorted(commands) and len(commands) >= 12
    env = {**os.environ, "COLUMNS": "100"}
    for command in commands:
        proc = subprocess.run([str(BIN / "baseline-dub"), *command.split(), "--help"], capture_output=True,
                              text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.rstrip("\n") == sections[command], f"baseline-dub {command} --help"


def _blocks() -> list[Block]:
    return [b for f in DOC_FILES for b in read_blocks(f)]


def test_every_shell_block_runs_in_a_test_or_says_why_not() -> None:
    blocks = _blocks()
    shell = [b for b in blocks if b.lang in SHELL]
    assert len(shell) >= 10 and sum("run by" in (b.marker or "") for b in shell) >= 3
    assert [p for b in blocks for p in shell_problems(b, PROJECT_ROOT)] == []


def test_every_python_block_compiles_and_its_imports_exist() -> None:
    python = [b for b in _blocks() if b.lang == "python"]
    assert any(b.file == README for b in python)
    assert [p for b in python for p in python_problems(b)] == []


HOSTILE = """\
# Page

```bash
baseline-dub run --split test
```

<!-- not run: -->
```sh
make gpu-check
```

<!-- run by: tests/test_no_such_file.py::test_x -->
```bash
make baseline
```

<!-- run by: tests/test_end_to_end.py::test_no_such_test -->
```bash
make baseline
```

<!-- run by: tests/test_end_to_end.py::make_run -->
```bash
make baseline SPLIT=test
baseline-dub mushra build --split test   # not what make_run runs
```

```
baseline-dub models download --profile paper
```

<!-- run by: tests/test_end_to_end.py::test_dub_command_on_real_speech, tests/test_end_to_end.py::make_run -->
```console
$ make baseline SPLIT=test && baseline-dub dub clip.mp3 --out x.wav
output that is not a command
```

<!-- not run: needs a GPU -->
```bash
make gpu-check
```

```python
from baseline_dub import dub_clip, no_such_function
from baseline_dub.no_such_module import thing
dub_clip("x.mp3"
```

```python
from baseline_dub import no_such_function
```
"""


def test_the_block_checks_catch_every_way_a_command_can_go_unchecked(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(HOSTILE)
    blocks = read_blocks(page)
    assert len(blocks) == 10
    shell = [p for b in blocks for p in shell_problems(b, PROJECT_ROOT)]
    assert [p.split(": ", 1)[0] for p in shell] == ["page.md:3", "page.md:8", "page.md:13", "page.md:18",
                                                    "page.md:23", "page.md:28"]
    assert "neither runs in a test nor says why not" in shell[0]
    assert "without a reason" in shell[1]
    assert "`tests/test_no_such_file.py` does not exist" in shell[2]
    assert "has no function or class `test_no_such_test`" in shell[3]
    assert "`baseline-dub mushra build --split test` is not run there (no `mushra` in its code)" in shell[4]
    assert "an unlabelled block shows a command" in shell[5]
    python = [p for b in blocks for p in python_problems(b)]
    assert python == ["page.md:43: the python block does not compile: '(' was never closed (its line 3)",
                      "page.md:49: `from baseline_dub import no_such_function`: no such name"]
    fixed = HOSTILE.replace('dub_clip("x.mp3"\n', 'dub_clip("x.mp3")\n')
    page.write_text(fixed)
    assert [p for b in read_blocks(page) for p in python_problems(b)] == [
        "page.md:43: `from baseline_dub import no_such_function`: no such name",
        "page.md:43: `from baseline_dub.no_such_module import ...`: no module baseline_dub.no_such_module",
        "page.md:49: `from baseline_dub import no_such_function`: no such name"]


def test_the_readme_is_a_front_page_whose_links_resolve(site: Path) -> None:
    size = len(README.read_bytes())
    assert size <= 12_000, f"README.md is {size} bytes: move the detail to a page of docs/"
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert len(local) >= 10
    for link in local:
        path, _, anchor = link.partition("#")
        assert (PROJECT_ROOT / path).exists(), f"README links to {path}, which does not exist"
        if anchor:
            assert path.startswith("docs/") and path.endswith(".md"), link
            html = _page(site, path.removeprefix("docs/")).read_text(encoding="utf-8")
            assert f'id="{anchor}"' in html, f"README links to {link}: the page has no such heading"
    # what a newcomer must find on the front page itself
    for needed in ("make baseline SPLIT=test", "make test-fast", "dub_clip(", "runs/baseline/test/",
                   "huggingface-cli download", "DATA="):
        assert needed in text, needed
