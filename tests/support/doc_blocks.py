"""The code blocks of ``README.md`` and ``docs/``, and the rules ``tests/test_docs.py`` holds them to.

A fenced block labelled ``bash``, ``sh``, ``shell`` or ``console`` shows commands. Each one either runs in a test
or says why it does not, in an HTML comment on the line before its opening fence (blank lines aside)::

    <!-- run by: tests/test_end_to_end.py::make_run -->          one or more ``path[::name]``, comma-separated
    <!-- not run: needs a GPU -->                                 any reason, said in words

A ``run by`` target must exist (the file, and the function or class ``name`` in it), and every command of the
block must be recognisable in the target's code: its sub-command (``make baseline`` -> ``baseline``,
``baseline-dub models download`` -> ``models``, ``download``), the script a ``python`` line runs, or else the
program's name. An unlabelled block whose line starts with a command is refused, so that a command cannot hide
from the check by leaving out its label. ``python`` blocks must compile, and what they import from
``baseline_dub`` must exist.
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

SHELL = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"^<!--\s*(run by|not run):(.*?)-->$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
# the start of a line of an unlabelled block that is a command, not a drawing or a tree
COMMAND_START = re.compile(r"^(\$ |make |baseline-dub |pip |python\S* |\.venv/bin/|huggingface-cli |[A-Z_]+=\S+ )")
HINT = "put `<!-- run by: tests/test_x.py::test_name -->` or `<!-- not run: REASON -->` on the line before it"


@dataclass(frozen=True)
class Block:
    """One fenced block: where it opens (1-based line), its label, its text, and the comment just before it."""

    file: Path
    line: int
    lang: str
    text: str
    marker: str | None

    def where(self) -> str:
        """``file.md:line`` of the opening fence, as every problem message starts."""
        return f"{self.file.name}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """Every fenced block of the Markdown file ``path``, in order, with the HTML comment (if any) that is the last
    non-blank line before its opening fence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i].strip())
        if not match:
            i += 1
            continue
        fence = match["fence"]
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence)
                    and lines[j].strip().strip(fence[0]) == ""), len(lines))
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        found.append(Block(path, i + 1, match["lang"].lower(), "\n".join(lines[i + 1:end]),
                           before if before.startswith("<!--") else None))
        i = end + 1
    return found


def commands(block: Block) -> list[list[str]]:
    """The commands a shell block shows, each as its words (a shell's reading: quotes kept together, comments
    dropped, continuation lines joined, ``&&``/``||``/``;``/``|`` chains split); in a ``console`` block only the
    lines after a ``$`` prompt."""
    lines = re.sub(r"\\\n\s*", " ", block.text).splitlines()
    if block.lang == "console":
        lines = [line.strip()[2:] for line in lines if line.strip().startswith("$ ")]
    found: list[list[str]] = []
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote: read it word by word
            tokens = line.split()
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|"):
                if current:
                    found.append(current)
                current = []
            else:
                current.append(token)
    return found


def command_words(words: list[str]) -> list[str]:
    """The words a test that runs the command ``words`` must name: ``make``'s target, ``baseline-dub``'s
    sub-command(s), the script (or ``-m`` module) ``python`` runs, else the program itself. Leading ``NAME=value``
    settings are skipped."""
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words = words[1:]
    if not words:
        return []
    program, args = Path(words[0]).name, words[1:]
    if program == "make":
        targets = [a for a in args if "=" not in a and not a.startswith("-")]
        return targets[:1] or ["make"]
    if program == "baseline-dub":
        sub = []
        for arg in args[:2]:
            if not re.fullmatch(r"[a-z][a-z-]*", arg):
                break
            sub.append(arg)
        return sub or [program]
    if re.fullmatch(r"python[0-9.]*", program) and args and args[0] != "-c":
        return [args[1]] if args[0] == "-m" and len(args) > 1 else [Path(args[0]).name]
    return [program]


def _target_source(target: str, root: Path) -> tuple[str | None, str]:
    """(the code a ``run by`` target names, or None; the problem when it cannot be found)."""
    path_text, _, name = target.partition("::")
    path = root / path_text
    if not path.is_file():
        return None, f"`{path_text}` does not exist"
    source = path.read_text(encoding="utf-8")
    if not name:
        return source, ""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return ast.get_source_segment(source, node), ""
    return None, f"`{path_text}` has no function or class `{name}`"


def shell_problems(block: Block, root: Path) -> list[str]:
    """What is wrong with one block by the rules above (empty when nothing is): ``root`` is where ``run by`` paths
    start."""
    if block.lang not in SHELL:
        first = next((line for line in block.text.splitlines() if COMMAND_START.match(line)), None)
        if block.lang == "" and first is not None:
            return [f"{block.where()}: an unlabelled block shows a command ({first.strip()!r}): label it ```bash "
                    f"and {HINT}"]
        return []
    match = MARKER.match(block.marker or "")
    if match is None:
        return [f"{block.where()}: a {block.lang} block neither runs in a test nor says why not: {HINT}"]
    kind, value = match[1], match[2].strip()
    if kind == "not run":
        return [] if value else [f"{block.where()}: `not run:` without a reason: say why it is not run"]
    problems, sources = [], []
    for target in filter(None, (t.strip() for t in value.split(","))):
        source, problem = _target_source(target, root)
        if source is None:
            problems.append(f"{block.where()}: run by {target}: {problem}")
        else:
            sources.append(source)
    if not sources and not problems:
        problems.append(f"{block.where()}: `run by:` names no test")
    for command in commands(block) if sources else []:
        for word in command_words(command):
            pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
            if not any(pattern.search(s) for s in sources):
                problems.append(f"{block.where()}: run by {value}: `{shlex.join(command)}` is not run there "
                                f"(no `{word}` in its code): name the test that runs it, or mark the block `not run` "
                                "with the reason")
                break  # one line a command
    return problems


def python_problems(block: Block) -> list[str]:
    """A ``python`` block that does not compile, or imports from ``baseline_dub`` what does not exist."""
    if block.lang != "python":
        return []
    try:
        tree = ast.parse(block.text)
    except SyntaxError as exc:
        return [f"{block.where()}: the python block does not compile: {exc.msg} (its line {exc.lineno})"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "baseline_dub":
            try:
                module = importlib.import_module(node.module)
            except ImportError:
                problems.append(f"{block.where()}: `from {node.module} import ...`: no module {node.module}")
                continue
            problems += [f"{block.where()}: `from {node.module} import {a.name}`: no such name"
                         for a in node.names if not hasattr(module, a.name)]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "baseline_dub":
                    try:
                        importlib.import_module(alias.name)
                    except ImportError:
                        problems.append(f"{block.where()}: `import {alias.name}`: no module {alias.name}")
    return problems
