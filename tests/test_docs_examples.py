"""The user guides in docs/ as a clerk follows them: the walk-through's commands, run in order on
a fresh database from a copy of docs/examples, answer what the guide says they answer; the files
and answers the other guides quote are the walk-through's own; the guides stand alone (no link
out of the repository) and list every code a clerk types with its Chinese name."""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from canbao.policy.codes import CATEGORY_NAMES, DOCUMENT_NAMES, EVENT_NAMES, FUNDER_NAMES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WALKTHROUGH = DOCS / "walkthrough.md"
GUIDES = sorted(DOCS.glob("*.md"))

# In an expected answer, text that differs by person, day or folder (a path, today's date).
ELIDED = "……"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass
class Step:
    command: str
    answer: list[str] = field(default_factory=list)


def fenced_blocks(path: Path) -> list[tuple[str, str]]:
    """Each fenced code block of a Markdown file: its info string and its text."""
    return [(m[1].strip(), m[2]) for m in FENCE.finditer(path.read_text(encoding="utf-8"))]


def walkthrough_steps() -> list[Step]:
    """The commands of the walk-through's ```console blocks, in order, each with the answer
    printed under it."""
    steps: list[Step] = []
    for info, text in fenced_blocks(WALKTHROUGH):
        if info != "console":
            continue
        for line in text.splitlines():
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            else:
                steps[-1].answer.append(line)
    return steps


def line_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split(ELIDED))
    return re.fullmatch(pattern, actual) is not None


def answer_matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a line that is only ``……`` stands for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == ELIDED:
        return any(answer_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return (
        bool(actual)
        and line_matches(expected[0], actual[0])
        and answer_matches(expected[1:], actual[1:])
    )


def trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_the_walkthrough_answers_as_it_says_on_a_fresh_database(tmp_path: Path) -> None:
    folder = tmp_path / "canbao-示例"
    shutil.copytree(DOCS / "examples", folder)
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / '示例.sqlite3'}",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONIOENCODING": "utf-8",
    }
    env.pop("CANBAO_DEBUG", None)
    env.pop("CANBAO_AS", None)
    steps = walkthrough_steps()
    assert steps[0].command == "canbao init"
    status = 0
    for number, step in enumerate(steps):
        if step.command.startswith("export "):
            # The clerk's shell keeps the variable for the commands after it.
            name, _, value = step.command.removeprefix("export ").partition("=")
            env[name] = value
            assert trimmed(step.answer) == [], step.command
            status = 0
            continue
        # `echo $?` shows the status of the command before it, as in the clerk's shell.
        run = subprocess.run(
            ["bash", "-c", f"(exit {status}); {step.command}"],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            encoding="utf-8",
            check=False,
        )
        actual = trimmed(run.stdout.splitlines())
        assert answer_matches(trimmed(step.answer), actual), (
            f"$ {step.command}\nthe guide says:\n"
            + "\n".join(step.answer)
            + "\nCanbao answers:\n"
            + "\n".join(actual)
        )
        status = run.returncode
        shown = number + 1 < len(steps) and steps[number + 1].command == "echo $?"
        assert status == 0 or shown, f"$ {step.command} exits {status}, the guide does not say so"


def test_the_walkthrough_uses_every_example_file() -> None:
    commands = " ".join(step.command for step in walkthrough_steps())
    unused = [p.name for p in (DOCS / "examples").iterdir() if p.name not in commands]
    assert unused == []


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_an_example_file_a_guide_shows_is_the_file_itself(guide: Path) -> None:
    """A block whose info string names a file (```csv examples/01-行政区划.csv) shows it whole."""
    for info, text in fenced_blocks(guide):
        _, _, name = info.partition(" ")
        if name:
            assert (DOCS / name).read_text(encoding="utf-8-sig") == text, name


@pytest.mark.parametrize("guide", [g for g in GUIDES if g != WALKTHROUGH], ids=lambda p: p.name)
def test_an_answer_a_guide_quotes_is_one_the_walkthrough_shows(guide: Path) -> None:
    """The ```text blocks of a guide are lines of an answer of the walk-through, in the same
    order, so that they are checked by running it."""
    answers = [trimmed(step.answer) for step in walkthrough_steps()]
    for info, text in fenced_blocks(guide):
        if info != "text":
            continue
        quoted = trimmed(text.splitlines())
        assert any(
            answer[i : i + len(quoted)] == quoted for answer in answers for i in range(len(answer))
        ), "\n".join(quoted)


@pytest.mark.parametrize("document", [*GUIDES, ROOT / "README.md"], ids=lambda p: p.name)
def test_the_documents_links_stay_inside_the_repository_and_lead_somewhere(
    document: Path,
) -> None:
    text = document.read_text(encoding="utf-8")
    assert "DESIGN.md" not in text and "SEEDS.md" not in text
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (document.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target


@pytest.mark.parametrize(
    "names",
    [CATEGORY_NAMES, FUNDER_NAMES, EVENT_NAMES, DOCUMENT_NAMES],
    ids=["categories", "funders", "events", "documents"],
)
def test_the_policy_guide_lists_every_code_with_its_chinese_name(names: dict[str, str]) -> None:
    text = (DOCS / "policy.md").read_text(encoding="utf-8")
    missing = [code for code, name in names.items() if f"| `{code}` | {name} |" not in text]
    assert missing == []
