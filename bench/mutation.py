"""Mutation testing of the policy engine: src/canbao/policy/quote.py, identity.py and funding.py.

    .venv/bin/python bench/mutation.py            # ~20 min at nice 19; prints a Markdown section
    .venv/bin/python bench/mutation.py --write    # ... and appends it to RESULTS.md
    .venv/bin/python bench/mutation.py --list     # the mutants, without running them

Not part of CI. Each mutant is one small change to one module, made on the syntax tree:

- compare: a comparison flipped at its boundary or negated (`<` to `<=`, `>=` to `>`, `==` to
  `!=`, `in` to `not in`, `is` to `is not`, and back);
- constant: an integer off by one (both ways), `True`/`False` swapped, a code string (`"full"`,
  `"household"`) or a text string changed;
- condition: the test of an `if`, a conditional expression or a comprehension negated, `and`
  and `or` swapped, a `not` dropped;
- exit: a `return`, `continue` or `break` dropped.

The tree never changes under `src/`: the package and the tests are copied into a temporary
directory, the mutated module is written there, and `pytest -x` runs the policy engine's tests
against the copy on SQLite with a fixed hypothesis seed: tests/test_policy_*.py,
tests/test_cli_policy.py (its `canbao` child processes inherit PYTHONPATH) and
tests/test_reports_funding.py (the work funding rules and the wording of each amount). A mutant
is killed when the tests fail or time out, and survives when they pass.

A mutant is wording-only when all it changes is text for people (`explain`, a message, a funding
line's reasons): it is inside a string or f-string of words (anything but a code like `"newborn"`
or `"subsidy:"`), inside a statement that only builds such text (appending to or assigning one of
WORDING_VARIABLES), the condition of an `if` whose branches only build such text, or inside one of
WORDING_FUNCTIONS, which only word figures (`rate_text`, a funding line's `explain`, `_met`).
Survivors that are equivalent to the original (no input can tell them apart) are listed in
EQUIVALENT with the reason. The score leaves them out: killed / (mutants - equivalent), with and
without the wording-only mutants.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from import_residents import RESULTS, ROOT, machine

MODULES = ("quote.py", "identity.py", "funding.py")
POLICY = Path("src/canbao/policy")
# The quick files first, so that most mutants die within seconds; `canbao` child processes last.
TEST_FILES = (
    *sorted(
        (p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_policy_*.py")),
        key=lambda name: (name.endswith("_properties.py"), name),
    ),
    "tests/test_cli_policy.py",
    "tests/test_reports_funding.py",  # the work funding rules, each amount with its wording
)
SUPPORT_FILES = ("tests/__init__.py", "tests/conftest.py", "tests/policy_helpers.py")
# Variables that only hold text for people, and functions that only make such text.
WORDING_VARIABLES = frozenset(
    {"explain", "text", "note", "limit", "listed", "parts", "basis", "names", "others"}
    | {"why", "notes", "met"}
)
WORDING_FUNCTIONS = frozenset({"UnitProgress.rate_text", "FundingLine.explain", "_met"})
CODE = re.compile(r"[a-z][a-z0-9_]*:?")

# Survivors that no input can tell from the original: (module, function, before, after) -> why.
EQUIVALENT: dict[tuple[str, str, str, str], str] = {
    ("funding.py", "_met", "0", "-1"): "`met` holds exactly one text there: `met[-1]` is `met[0]`",
}

FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    module: str
    line: int
    function: str
    operator: str
    before: str
    after: str
    wording: bool

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.module, self.function, self.before, self.after)


@dataclass(frozen=True)
class _Site:
    line: int
    operator: str
    wording: bool
    function: str
    apply: Callable[[], None]
    shown: Callable[[], ast.AST]  # the code the mutant changes, before and after `apply`


def _is_wording_text(node: ast.AST) -> bool:
    """A string or f-string of words, or an expression that only chooses between such texts."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return CODE.fullmatch(node.value) is None
    if isinstance(node, ast.JoinedStr):
        return any(_is_wording_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.IfExp):
        return _is_wording_text(node.body) and _is_wording_text(node.orelse)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_wording_text(node.left) or _is_wording_text(node.right)
    return False


def _is_wording_target(node: ast.expr) -> bool:
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id in WORDING_VARIABLES


def _is_wording_statement(node: ast.stmt) -> bool:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in {"append", "extend"}
            and _is_wording_target(func.value)
        )
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(_is_wording_target(t) for t in targets)
    if isinstance(node, ast.If):
        return all(_is_wording_statement(s) for s in [*node.body, *node.orelse])
    return False


class _Finder(ast.NodeVisitor):
    """Every mutation site of a module, in a fixed order, each with how to apply it in place."""

    def __init__(self) -> None:
        self.sites: list[_Site] = []
        self.function = "<module>"
        self.wording = False

    def _add(
        self,
        node: ast.AST,
        operator: str,
        apply: Callable[[], None],
        shown: Callable[[], ast.AST] | None = None,
    ) -> None:
        line = getattr(node, "lineno", 0)
        site = _Site(line, operator, self.wording, self.function, apply, shown or (lambda: node))
        self.sites.append(site)

    def _visit_within(self, node: ast.AST, *, wording: bool, generic: bool = True) -> None:
        saved = self.wording
        self.wording = saved or wording
        if generic:
            self.generic_visit(node)
        else:
            self.visit(node)
        self.wording = saved

    def _body_of(self, node: ast.FunctionDef | ast.ClassDef) -> None:
        saved = self.function, self.wording
        self.function = node.name if saved[0] == "<module>" else f"{saved[0]}.{node.name}"
        self.wording = self.wording or self.function in WORDING_FUNCTIONS
        self._statements(node.body, skip_docstring=True)
        self.function, self.wording = saved

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        self._body_of(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._body_of(node)

    def visit_Module(self, node: ast.Module) -> None:
        self._statements(node.body, skip_docstring=True)

    def _statements(self, body: list[ast.stmt], *, skip_docstring: bool = False) -> None:
        for position, statement in enumerate(body):
            if isinstance(statement, ast.Import | ast.ImportFrom | ast.Assert):
                continue
            if skip_docstring and position == 0 and _is_docstring(statement):
                continue
            if isinstance(statement, ast.Return | ast.Continue | ast.Break):
                self._add(statement, "exit", _replace_in(body, position, ast.Pass()))
            wording = _is_wording_statement(statement)
            if isinstance(statement, ast.If):
                self._negate(statement, "test", wording=wording)
            self._visit_within(statement, wording=wording, generic=False)

    def generic_visit(self, node: ast.AST) -> None:
        for field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._statements(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        self.visit(item)
            elif isinstance(value, ast.AST):
                if field == "annotation" or field == "returns":
                    self._annotation(value)
                else:
                    self.visit(value)

    def _annotation(self, node: ast.AST) -> None:
        """Annotations hold types, except the constants of pydantic's Field(...) constraints."""
        for call in ast.walk(node):
            if isinstance(call, ast.Call):
                for keyword in call.keywords:
                    self.visit(keyword.value)

    def _negate(self, node: ast.If | ast.IfExp, field: str, *, wording: bool) -> None:
        test = getattr(node, field)
        if _flipping_negates(test):
            return

        def apply() -> None:
            setattr(node, field, ast.UnaryOp(ast.Not(), test))

        saved = self.wording
        self.wording = saved or wording
        self._add(test, "condition", apply, lambda: getattr(node, field))
        self.wording = saved

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._visit_within(node, wording=_is_wording_text(node))

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._negate(node, "test", wording=_is_wording_text(node))
        self._visit_within(node, wording=_is_wording_text(node))

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for position in range(len(node.ifs)):
            self._negate_item(node.ifs, position)
        self.generic_visit(node)

    def _negate_item(self, items: list[ast.expr], position: int) -> None:
        test = items[position]
        if _flipping_negates(test):
            return
        negated = ast.UnaryOp(ast.Not(), test)
        self._add(test, "condition", _replace_in(items, position, negated), lambda: items[position])

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        def apply() -> None:
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()

        self._add(node, "condition", apply)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):

            def apply() -> None:
                node.operand = ast.UnaryOp(ast.Not(), node.operand)  # `not not x`: x's own truth

            self._add(node, "condition", apply)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for position, op in enumerate(node.ops):

            def apply(position: int = position, op: ast.cmpop = op) -> None:
                node.ops[position] = FLIPPED[type(op)]()

            self._add(node, "compare", apply)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._add(node, "constant", _set_value(node, not value))
        elif isinstance(value, int):
            self._add(node, "constant", _set_value(node, value + 1))
            self._add(node, "constant", _set_value(node, value - 1))
        elif isinstance(value, str):
            saved = self.wording
            self.wording = saved or CODE.fullmatch(value) is None
            self._add(node, "constant", _set_value(node, f"XX{value}XX"))
            self.wording = saved


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _flipping_negates(test: ast.expr) -> bool:
    """`a == b`, `a in b`, `a is b`: the compare mutant already negates the whole test."""
    negatable = (ast.Eq, ast.NotEq, ast.In, ast.NotIn, ast.Is, ast.IsNot)
    return (
        isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], negatable)
    )


def _replace_in(items: list, position: int, new: ast.AST) -> Callable[[], None]:
    def apply() -> None:
        items[position] = new

    return apply


def _set_value(node: ast.Constant, value: object) -> Callable[[], None]:
    def apply() -> None:
        node.value = value

    return apply


def _sites(tree: ast.Module | str) -> list[_Site]:
    finder = _Finder()
    finder.visit(ast.parse(tree) if isinstance(tree, str) else tree)
    return finder.sites


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    if isinstance(node, ast.stmt):
        text = text.splitlines()[0]
    return text if len(text) <= 120 else text[:117] + "..."


def mutants(module: str, source: str) -> Iterator[tuple[Mutant, str]]:
    """Each mutant of a module with the module's mutated source; a mutant whose code is that of
    an earlier one (`if not x` negated is `not` dropped) counts once."""
    seen = {ast.unparse(ast.parse(source))}  # a mutant that changes nothing is no mutant
    for index in range(len(_sites(source))):
        tree = ast.parse(source)  # a fresh tree for each mutant: `apply` changes it in place
        site = _sites(tree)[index]
        before = _shown(site.shown())
        site.apply()
        mutated = ast.unparse(tree)
        if mutated in seen:
            continue
        seen.add(mutated)
        mutant = Mutant(
            module=module,
            line=site.line,
            function=site.function,
            operator=site.operator,
            before=before,
            after="(dropped)" if site.operator == "exit" else _shown(site.shown()),
            wording=site.wording,
        )
        yield mutant, mutated


@dataclass(frozen=True)
class Result:
    mutant: Mutant
    how: str  # "failed", "timeout" (both kill the mutant) or "passed"

    @property
    def killed(self) -> bool:
        return self.how != "passed"

    @property
    def equivalent(self) -> str | None:
        return None if self.killed else EQUIVALENT.get(self.mutant.key)


class Workspace:
    """A copy of the package and the policy tests in which one module at a time is mutated."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(
            ROOT / "src/canbao",
            root / "src/canbao",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        (root / "tests").mkdir()
        for name in (*SUPPORT_FILES, *TEST_FILES):
            shutil.copy2(ROOT / name, root / name)
        shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")

    def run(
        self, module: str | None = None, mutated: str = "", timeout: float = 3600
    ) -> tuple[str, float]:
        path = self.root / POLICY / module if module else None
        original = path.read_text(encoding="utf-8") if path else ""
        if path:
            path.write_text(mutated, encoding="utf-8")
        shutil.rmtree(self.root / ".hypothesis", ignore_errors=True)
        env = {
            **os.environ,
            "PYTHONPATH": str(self.root / "src"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": "sqlite:///:memory:",
        }
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "--hypothesis-seed=0",
            *TEST_FILES,
        ]
        started = time.monotonic()
        try:
            done = subprocess.run(
                command,
                cwd=self.root,
                env=env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
            how = "passed" if done.returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            how = "timeout"
        finally:
            if path:
                path.write_text(original, encoding="utf-8")
        return how, time.monotonic() - started


def _score(killed: int, total: int) -> str:
    return f"{100 * killed / total:.1f}%" if total else "—"


def report(results: list[Result], seconds: float, jobs: int, timeout: float) -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now}: mutation testing of the policy engine (issue 7)",
        "",
        f"- Machine: {machine()}",
        f"- Versions: Python {platform.python_version()}",
        f"- Run: `bench/mutation.py`, {jobs} job(s) at nice 19, {seconds / 60:.1f} min; each "
        "mutant against the policy tests (`pytest -x`, SQLite, hypothesis seed 0): "
        + ", ".join(f"`{t.removeprefix('tests/')}`" for t in TEST_FILES),
        f"- Killed by a timeout ({timeout:.0f} s): {sum(r.how == 'timeout' for r in results)}",
        "- Score = killed / (mutants - equivalent); wording-only mutants change only `explain` "
        "or a message's text; logic = all the others.",
        "",
        "| module | mutants | killed | survived | equivalent | score "
        "| logic mutants | logic killed | logic equivalent | logic score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(m, [r for r in results if r.mutant.module == m]) for m in MODULES]
    for name, group in [*groups, ("all", results)]:
        if not group:
            continue
        killed = sum(r.killed for r in group)
        equivalent = sum(r.equivalent is not None for r in group)
        logic = [r for r in group if not r.mutant.wording]
        logic_killed = sum(r.killed for r in logic)
        logic_equivalent = sum(r.equivalent is not None for r in logic)
        lines.append(
            f"| {name} | {len(group)} | {killed} | {len(group) - killed} | {equivalent} "
            f"| {_score(killed, len(group) - equivalent)} | {len(logic)} | {logic_killed} "
            f"| {logic_equivalent} | {_score(logic_killed, len(logic) - logic_equivalent)} |"
        )
    survivors = [r for r in results if not r.killed]
    if survivors:
        lines += [
            "",
            "Surviving mutants:",
            "",
            "| module:line | function | operator | original | mutant | wording-only "
            "| equivalent: why |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in survivors:
            m = r.mutant
            lines.append(
                f"| {m.module}:{m.line} | `{m.function}` | {m.operator} | `{_cell(m.before)}` "
                f"| `{_cell(m.after)}` | {'yes' if m.wording else 'no'} | {r.equivalent or '—'} |"
            )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", default=",".join(MODULES), help="comma-separated")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--write", action="store_true", help="append the section to RESULTS.md")
    args = parser.parse_args(argv)
    modules = [m for m in args.modules.split(",") if m]
    unknown = set(modules) - set(MODULES)
    if unknown:
        parser.error(f"not a mutated module: {', '.join(sorted(unknown))}")

    todo = [
        (mutant, mutated)
        for module in modules
        for mutant, mutated in mutants(module, (ROOT / POLICY / module).read_text("utf-8"))
    ]
    if args.list:
        for mutant, _ in todo:
            flag = " (wording)" if mutant.wording else ""
            print(
                f"{mutant.module}:{mutant.line} {mutant.function} {mutant.operator}{flag}: "
                f"{mutant.before}  ->  {mutant.after}"
            )
        print(f"{len(todo)} mutants")
        return 0

    os.nice(19 - os.nice(0))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="canbao-mutation-") as scratch:
        spaces = [Workspace(Path(scratch) / f"w{n}") for n in range(args.jobs)]
        how, baseline = spaces[0].run()
        if how != "passed":
            print("the policy tests fail without any mutant: fix them first", file=sys.stderr)
            return 1
        timeout = max(60.0, 5 * baseline)
        print(f"{len(todo)} mutants; the unmutated tests take {baseline:.1f} s", flush=True)

        free = list(spaces)

        def run_one(item: tuple[Mutant, str]) -> Result:
            space = free.pop()
            try:
                how, seconds = space.run(item[0].module, item[1], timeout)
            finally:
                free.append(space)
            result = Result(item[0], how)
            m = result.mutant
            print(
                f"  {m.module}:{m.line} {m.operator:9} {how:7} {seconds:5.1f} s  "
                f"{m.before}  ->  {m.after}",
                flush=True,
            )
            return result

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(run_one, todo))

    lines = report(results, time.monotonic() - started, args.jobs, timeout)
    print("\n".join(lines))
    if args.write:
        with RESULTS.open("a", encoding="utf-8") as stream:
            stream.write("\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
