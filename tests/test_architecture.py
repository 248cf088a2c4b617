"""The tree is the architecture: imports go one way between the parts, and no module imports itself in a circle.

Parts, lowest first (DESIGN.md): the shared foundations (``audio``, ``atomic``, ``errors``, ``config``), ``models``
(registry, store, sources, profiles, devices), ``data``, the stages in chain order (``stages.types`` with the
shared speaker encoder, ``separate``, ``diarize``, ``translate``, ``synthesize``, ``remix``), ``outputs`` (the
``Dub``, its typed record, subtitles, video), ``pipeline``, ``runner``, ``mushra`` and ``report`` (side by side:
neither imports the other), ``commands``, then ``cli`` and the public API in ``baseline_dub/__init__``. A module
may import its own part or a lower one, never a higher one or a sibling. Every import counts, including those
inside functions (a lazy import is still a dependency)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from baseline_dub.config import PACKAGE_ROOT

FOUNDATIONS = ("audio", "atomic", "errors", "config")
# (rank, part, module prefixes): a module may import its own part or a part of lower rank.
PARTS: list[tuple[int, str, tuple[str, ...]]] = [
    (0, "foundations", tuple(f"baseline_dub.{m}" for m in FOUNDATIONS)),
    (1, "models", ("baseline_dub.models",)),
    (2, "data", ("baseline_dub.data",)),
    (3, "stages.types", ("baseline_dub.stages.types", "baseline_dub.stages.speaker", "baseline_dub.stages")),
    (4, "separate", ("baseline_dub.stages.separate",)),
    (5, "diarize", ("baseline_dub.stages.diarize",)),
    (6, "translate", ("baseline_dub.stages.translate",)),
    (7, "synthesize", ("baseline_dub.stages.synthesize",)),
    (8, "remix", ("baseline_dub.stages.remix",)),
    (9, "outputs", ("baseline_dub.outputs",)),
    (10, "pipeline", ("baseline_dub.pipeline",)),
    (11, "runner", ("baseline_dub.runner",)),
    (12, "mushra", ("baseline_dub.mushra",)),
    (12, "report", ("baseline_dub.report",)),
    (13, "commands", ("baseline_dub.commands",)),
    (14, "cli", ("baseline_dub.cli", "baseline_dub")),
]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` for every module under ``root`` (a package folder)."""
    pkg = root.name
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from pkg.a import b``: the module ``pkg.a.b`` when it is one, else ``pkg.a``
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            else:
                assert not (isinstance(node, ast.ImportFrom) and node.level), f"{path}: relative import"
                continue
            deps.update(t for t in targets if t.split(".")[0] == pkg and t in modules and t != name)
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (as a path that returns to its start), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def part_of(module: str) -> tuple[int, str]:
    """(rank, part) of a module: the part whose longest prefix names it."""
    best: tuple[int, str, str] | None = None
    for rank, part, prefixes in PARTS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[2])):
                best = (rank, part, prefix)
    assert best is not None, f"{module} belongs to no part of the architecture; add it to PARTS"
    return best[0], best[1]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, deps in graph.items():
        rank, part = part_of(module)
        for dep in deps:
            dep_rank, dep_part = part_of(dep)
            if dep_part != part and dep_rank >= rank:
                bad.append(f"{module} ({part}) imports {dep} ({dep_part})")
    return sorted(bad)


def test_the_package_has_no_import_circle_and_no_upward_import() -> None:
    graph = import_graph(PACKAGE_ROOT)
    assert len(graph) > 50 and sum(map(len, graph.values())) > 150, "the walk found too few modules or imports"
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph) or [])}"
    assert upward_imports(graph) == []


def test_every_stage_is_a_package_with_its_protocol_and_loader() -> None:
    for stage, loader in [("separate", "load_separator"), ("diarize", "load_diarizer"),
                          ("translate", "load_translator"), ("synthesize", "load_synthesizer")]:
        init = PACKAGE_ROOT / "stages" / stage / "__init__.py"
        tree = ast.parse(init.read_text())
        doc = ast.get_docstring(tree) or ""
        assert "->" in doc.splitlines()[0], f"{init}: the docstring's first line says what the stage takes -> gives"
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        assert loader in names, f"{init} defines no {loader}"


def test_the_checks_catch_a_circle_and_an_upward_import(tmp_path: Path) -> None:
    pkg = tmp_path / "baseline_dub"
    (pkg / "stages" / "separate").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "stages" / "__init__.py").write_text("")
    (pkg / "audio.py").write_text("from baseline_dub.stages.separate import loader\n")  # upward
    lazy = "def f():\n    from baseline_dub.stages.separate import unet\n"  # a lazy import still counts
    (pkg / "stages" / "separate" / "__init__.py").write_text(lazy)
    (pkg / "stages" / "separate" / "unet.py").write_text("from baseline_dub.stages.separate import f\n")
    (pkg / "stages" / "separate" / "loader.py").write_text("import baseline_dub.audio\n")
    graph = import_graph(pkg)
    assert find_cycle(graph) in (
        ["baseline_dub.stages.separate", "baseline_dub.stages.separate.unet", "baseline_dub.stages.separate"],
        ["baseline_dub.audio", "baseline_dub.stages.separate.loader", "baseline_dub.audio"],
    )
    assert upward_imports(graph) == [
        "baseline_dub.audio (foundations) imports baseline_dub.stages.separate.loader (separate)"]


def test_the_command_line_parser_loads_no_model_library() -> None:
    """``baseline-dub --help`` and ``--version`` build every sub-command's parser; none may import torch & co."""
    import subprocess
    import sys

    code = ("import sys; from baseline_dub import cli; cli.build_parser(); "
            "print(sorted(m for m in ('torch', 'whisper', 'ctranslate2', 'pyannote', 'onnxruntime') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


MAP_PAGE = PACKAGE_ROOT.parent / "docs" / "development.md"  # the file map: "Where things are"


def test_the_file_map_draws_every_module_of_the_tree() -> None:
    """docs/development.md's "Where things are" draws every package folder and module of ``baseline_dub/`` (and
    nothing that is gone), so the map a newcomer reads is the tree itself."""
    page = MAP_PAGE.read_text(encoding="utf-8")
    section = page.split("## Where things are", 1)[1].split("\n## ", 1)[0].split("```")[1]  # the drawn tree
    drawn = set(re.findall(r"\b([a-z_0-9]+\.py)\b", section)) | set(re.findall(r"\b([a-z_0-9]+)/", section))
    tree = {p.name for p in PACKAGE_ROOT.rglob("*.py") if p.name != "__init__.py"}
    folders = {p.name for p in PACKAGE_ROOT.rglob("*") if p.is_dir() and (p / "__init__.py").is_file()}
    assert sorted(tree - drawn) == [], "modules missing from docs/development.md's 'Where things are'"
    assert sorted(folders - drawn) == [], "packages missing from docs/development.md's 'Where things are'"
    named_modules = set(re.findall(r"\b([a-z_0-9]+\.py)\b", section)) - {"setup.py", "__init__.py"}
    assert sorted(named_modules - tree) == [], "docs/development.md names modules that no longer exist"


def test_the_package_keeps_at_most_eight_top_level_modules() -> None:
    top = sorted(p.name for p in PACKAGE_ROOT.glob("*.py"))
    assert len(top) <= 8, f"{len(top)} top-level modules ({', '.join(top)}): put new ones in the part they serve"
