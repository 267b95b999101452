"""The ``bondsim`` command examples of the README and the docs, run as a reader would run them.

Each page's shell code blocks that start with ``bondsim `` run in page order, in a fresh folder
per page (with ``experiments/`` of the project linked in, so that shipped specs and configs
resolve), with the ``bondsim`` command of this environment. How a page talks to this test:

- A block whose lines are ``bondsim ...`` commands: each must exit 0. ``#`` starts a comment and a
  trailing backslash continues a line.
- A block with ``$ bondsim ...`` prompts: the lines after a prompt are the output the page shows.
  Each must appear in the command's output (stdout, then stderr), in order; ``...`` stands for any
  text (a run time, a long line cut short). The command must exit 2 when the shown output has
  ``error:`` in it, else 0. So every number a page prints comes from a real run.
- A command may start with environment assignments, ``PYTHONPATH=experiments/sweeps bondsim ...``:
  they are set for that command only.
- ``<!-- not-run: REASON -->`` right before a block skips it; the reason is required.
- ``<!-- file: PATH -->`` right before a block says the block is the content of the project's file
  PATH; the file must exist and equal it.
- ``<!-- output-of: bondsim ... -->`` right before a Markdown table says the table is what that
  command prints as CSV; header and every row must equal the command's output.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", "docs/quickstart.md", "docs/pharmacology.md", "docs/sweeps.md", "docs/trials.md"]
SHELL_INFO = {"", "sh", "bash", "shell", "console"}
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*\s+")
MARKER = re.compile(r"^\s*<!--\s*(not-run|file|output-of)\s*:(.*?)-->\s*$", re.S)


@dataclass
class Command:
    """One command of a page, with the output the page shows for it (if any)."""

    line: int
    text: str
    shown: list[str] = field(default_factory=list)
    prompt: bool = False


@dataclass
class Block:
    """A code block of a page, with the marker before it."""

    line: int
    content: str
    info: str
    marker: tuple[str, str] | None = None


def blocks(path: Path) -> list[Block]:
    """The code blocks of a Markdown page in order, each with the HTML-comment marker right before it."""
    found: list[Block] = []
    marker = None
    for token in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        if token.type == "html_block" and (m := MARKER.match(token.content)):
            marker = (m.group(1), m.group(2).strip())
            continue
        if token.type in ("fence", "code_block"):
            found.append(Block(token.map[0] + 1, token.content, token.info.strip(), marker))
        if token.block and token.nesting >= 0:
            marker = None
    return found


def commands(block: Block) -> list[Command]:
    """The ``bondsim`` commands of a shell block (empty if it does not start with one)."""
    lines = block.content.splitlines()
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    bare = first.removeprefix("$ ")
    while m := ASSIGNMENT.match(bare):  # environment assignments before the command
        bare = bare[m.end() :]
    if block.info not in SHELL_INFO or not bare.startswith("bondsim "):
        return []
    result: list[Command] = []
    prompt = first.startswith("$ ")
    pending = ""
    for offset, raw in enumerate(lines):
        text = raw.rstrip()
        if prompt and not text.startswith("$ ") and not pending:
            if result:
                result[-1].shown.append(text)
            continue
        text = text[2:] if prompt and not pending else text
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        text, pending = pending + text, ""
        if text.strip():
            result.append(Command(block.line + 1 + offset, text.strip(), prompt=prompt))
    return result


def matches(shown: list[str], output: str) -> str | None:
    """None if every shown line appears in ``output`` in order (``...`` = any text), else the first that does not."""
    actual = [ln.strip() for ln in re.split(r"[\r\n]+", output) if ln.strip()]
    i = 0
    for line in (ln.strip() for ln in shown if ln.strip()):
        pattern = re.compile(".*?".join(re.escape(part) for part in line.split("...")))
        while i < len(actual) and not pattern.fullmatch(actual[i]):
            i += 1
        if i == len(actual):
            return line
        i += 1
    return None


def bondsim_command() -> list[str]:
    """This environment's ``bondsim`` command (its console script, as a reader runs it)."""
    script = Path(sys.executable).with_name("bondsim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bondsim.cli"]


def output_tables(path: Path) -> list[tuple[int, str, list[list[str]]]]:
    """``(line, command, rows)`` of each Markdown table with an ``output-of`` marker right before it."""
    found = []
    command, rows, line = None, None, 0
    for token in MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8")):
        if token.type == "html_block" and (m := MARKER.match(token.content)) and m.group(1) == "output-of":
            command = m.group(2).strip()
            continue
        if token.type == "table_open" and command:
            rows, line = [], token.map[0] + 1
        elif rows is not None and token.type == "tr_open":
            rows.append([])
        elif rows is not None and token.type == "inline":
            rows[-1].append(token.content.strip())
        elif rows is not None and token.type == "table_close":
            found.append((line, command, rows))
            rows = None
        if token.block and token.nesting >= 0 and rows is None:
            command = None
    return found


def test_the_pages_have_examples_and_their_markers_are_well_formed():
    for page in PAGES:
        found = blocks(ROOT / page)
        assert any(commands(b) for b in found), f"{page}: no bondsim command example found"
        for b in found:
            if b.marker and b.marker[0] == "not-run":
                assert b.marker[1], f"{page}:{b.line}: <!-- not-run: ... --> needs a reason"


def test_the_example_parser_reads_prompts_output_and_continuations():
    block = Block(
        1,
        "$ bondsim run --set x=1\nbondsim run: error: bad\n$ bondsim pk naltrexone \\\n  --dose 50\n",
        "",
    )
    found = commands(block)
    assert [shlex.split(c.text) for c in found] == [
        ["bondsim", "run", "--set", "x=1"],
        ["bondsim", "pk", "naltrexone", "--dose", "50"],
    ]
    assert found[0].shown == ["bondsim run: error: bad"] and found[1].shown == []
    prefixed = commands(Block(1, "PYTHONPATH=experiments bondsim run --quiet\n", ""))
    assert [c.text for c in prefixed] == ["PYTHONPATH=experiments bondsim run --quiet"]
    assert matches(["a ... c", "d"], "a b c\nx\nd\n") is None
    assert matches(["d", "a ... c"], "a b c\nd\n") == "a ... c"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_command_examples_run_as_shown(page, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "experiments").symlink_to(ROOT / "experiments", target_is_directory=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "120"}
    problems = []
    ran = 0
    for block in blocks(ROOT / page):
        kind, value = block.marker or ("", "")
        if kind == "file":
            shipped = ROOT / value
            if not shipped.is_file() or shipped.read_text(encoding="utf-8") != block.content:
                problems.append(f"{page}:{block.line}: the block differs from {value}")
            continue
        if kind == "not-run":
            continue
        for cmd in commands(block):
            argv = shlex.split(cmd.text, comments=True)
            assigned = {}
            while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):
                name, _, value = argv.pop(0).partition("=")
                assigned[name] = value
            assert argv[0] == "bondsim", f"{page}:{cmd.line}: not a bondsim command: {cmd.text}"
            done = subprocess.run(
                [*bondsim_command(), *argv[1:]],
                cwd=work,
                env={**env, **assigned},
                capture_output=True,
                text=True,
                timeout=300,
            )
            ran += 1
            expected = 2 if any("error:" in line for line in cmd.shown) else 0
            where = f"{page}:{cmd.line}: `{cmd.text}`"
            if done.returncode != expected:
                problems.append(f"{where} exited {done.returncode}, expected {expected}:\n{done.stderr[-2000:]}")
            elif cmd.shown and (missing := matches(cmd.shown, done.stdout + "\n" + done.stderr)) is not None:
                problems.append(f"{where} did not print {missing!r}; it printed:\n{done.stdout}{done.stderr[-2000:]}")
    for line, command, rows in output_tables(ROOT / page):
        argv = shlex.split(command)
        done = subprocess.run(
            [*bondsim_command(), *argv[1:]], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        ran += 1
        printed = [row.split(",") for row in done.stdout.strip().splitlines()]
        if done.returncode != 0 or printed != rows:
            problems.append(f"{page}:{line}: the table differs from what `{command}` prints:\n{done.stdout}")
    assert ran > 0, f"{page}: no example ran"
    assert not problems, "\n\n".join(problems)
    shutil.rmtree(work, ignore_errors=True)


def relative_links(path: Path) -> list[tuple[int, str]]:
    """``(line, target)`` of every link and image of a Markdown page that points into the project."""
    found = []
    for token in MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8")):
        for child in token.children or []:
            target = child.attrs.get("href") or child.attrs.get("src") if child.attrs else None
            if target and not re.match(r"^[a-z][a-z0-9+.-]*:|^#", str(target)):
                found.append(((token.map or [0])[0] + 1, str(target)))
    return found


def test_relative_links_of_every_markdown_file_resolve():
    """The docs build checks its own pages; this covers README and the files the site leaves out."""
    pages = [ROOT / "README.md", ROOT / "CHANGELOG.md", *ROOT.glob("docs/**/*.md"), *ROOT.glob("experiments/**/*.md")]
    broken = []
    for page in pages:
        if "_build" in page.parts:
            continue
        for line, target in relative_links(page):
            if not (page.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}:{line}: {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)
