"""What the commands print and the files they write, and how they read their arguments.

Names, keys and file names come from the files users import: ``CanbaoCommand`` prints them
through ``canbao.cli.escape.printable``, never raw.

An option that writes a file (``--xlsx``, ``--errors-xlsx``, ``--out``) is checked before the
command does any work: a folder that does not exist, or an existing file without ``--force``, is
a usage error (exit status 2) and nothing is done.

A refusal with many errors prints them by kind, the first rows of each (``write_errors``); the
whole list goes to ``--errors-xlsx`` or ``--json``. Long work shows a progress bar on stderr
(``progress``) when stderr is a terminal and the output is not ``--json``.
"""

from __future__ import annotations

import os
import sys
from argparse import SUPPRESS
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO

from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from canbao.accounts.scope import Permission, Scope
from canbao.cli import USAGE_ERROR
from canbao.cli.acting import NO_ACCOUNT, acting_scope, add_acting_option
from canbao.cli.escape import printable
from canbao.cli.parser import ClerkParser
from canbao.masking import mask_identities
from canbao.registry.batches import (
    ERRORS_LISTED,
    Progress,
    RowError,
    describe_errors,
    record_audit,
    write_errors_xlsx,
)
from canbao.tabular import OutputError, check_output, replacing

# People of a roster not found in the registry, listed one by one on the terminal; --json lists
# them all.
PERSONS_LISTED = 20


class EscapingOutput(OutputWrapper):
    def write(  # type: ignore[override]  # as OutputWrapper's own
        self,
        msg: str = "",
        style_func: Callable[[str], str] | None = None,
        ending: str | None = None,
    ) -> None:
        super().write(printable(msg), style_func, ending)


class MaskingOutput(EscapingOutput):
    """The output of an account whose role only counts people (finance, audit): ID and mobile
    numbers appear with their middles hidden, in text and in JSON alike."""

    def write(  # type: ignore[override]  # as OutputWrapper's own
        self,
        msg: str = "",
        style_func: Callable[[str], str] | None = None,
        ending: str | None = None,
    ) -> None:
        super().write(mask_identities(msg), style_func, ending)


class CanbaoCommand(BaseCommand):
    """A command as a clerk meets it: usage and usage errors in Chinese (``ClerkParser``),
    Django's own options working but hidden from its help, a usage error printed as its message
    alone, stdout and stderr that escape control characters.

    A command that writes, exports a file or reads personal data sets ``takes_account``: it
    takes ``--as 账号`` (``canbao.cli.acting``), checked against ``permission`` before ``handle``
    runs, which then acts as ``self.actor`` within ``self.scope``."""

    takes_account = False
    scope: Scope = NO_ACCOUNT

    def permission(self, options: dict[str, Any]) -> Permission | None:
        """What the account must be allowed for this call; None: no account is needed."""
        return None

    def act_as(self, options: dict[str, Any]) -> Scope:
        return acting_scope(options.get("acting_as"), self.permission(options))

    @property
    def actor(self) -> AbstractBaseUser:
        user: AbstractBaseUser | None = self.scope.user
        if user is None:  # pragma: no cover - ``permission`` said no account was needed
            raise CommandError("这项操作须指明账号（--as）", returncode=USAGE_ERROR)
        return user

    def record_export(self, what: str, paths: Sequence[Path], **details: Any) -> None:
        """The audit row of files written with personal or reported data."""
        record_audit(
            action="export",
            actor=self.actor,
            details={"what": what, "files": [str(path) for path in paths], **details},
        )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = ClerkParser(
            prog=f"{os.path.basename(prog_name)} {subcommand}",
            description=self.help or None,
            called_from_command_line=getattr(self, "_called_from_command_line", None),
            **kwargs,
        )
        parser.add_argument(
            "--version", action="version", version=self.get_version(), help=SUPPRESS
        )
        parser.add_argument(
            "-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=1, help=SUPPRESS
        )
        for name in ("--settings", "--pythonpath"):
            parser.add_argument(name, help=SUPPRESS)
        for name in ("--traceback", "--no-color", "--force-color", "--skip-checks"):
            parser.add_argument(name, action="store_true", help=SUPPRESS)
        self.add_arguments(parser)
        if self.takes_account:
            add_acting_option(parser)
        return parser

    def execute(self, *args: Any, **options: Any) -> str | None:
        self._raw_stderr: IO[str] = options.pop("stderr", None) or sys.stderr
        raw_stdout: TextIO = options.pop("stdout", None) or sys.stdout
        self.stdout = EscapingOutput(raw_stdout)
        self.stderr = EscapingOutput(self._raw_stderr)
        self.stderr.style_func = self.style.ERROR
        try:
            if self.takes_account:
                self.scope = self.act_as(options)
                if self.scope.masks_identity:
                    self.stdout = MaskingOutput(raw_stdout)
            result: str | None = super().execute(*args, **options)
        except CommandError as error:
            # Django would print it as "CommandError: ..."; a clerk reads the message alone.
            if not getattr(self, "_called_from_command_line", False) or options["traceback"]:
                raise
            self.stderr.write(str(error))
            sys.exit(error.returncode)
        return result

    @contextmanager
    def progress(self, options: dict[str, Any], what: str) -> Iterator[Progress | None]:
        """A bar on stderr counting the rows done and their rate while the body runs; None (no
        bar) when stderr is not a terminal or the output is --json."""
        if options.get("json") or not self._raw_stderr.isatty():
            yield None
            return
        from tqdm import tqdm

        with tqdm(
            desc=what,
            unit="行",
            file=self._raw_stderr,
            leave=False,
            bar_format="{desc}：已处理 {n} 行，用时 {elapsed}，{rate_noinv_fmt}",
        ) as bar:

            def done(rows: int) -> None:
                bar.update(rows - bar.n)

            yield done

    def save_errors(self, errors: Sequence[RowError], options: dict[str, Any]) -> Path | None:
        """Write `errors` to the --errors-xlsx file, when there are some and it was asked for;
        the path written."""
        path: Path | None = options.get("errors_xlsx")
        if not errors or path is None:
            return None
        with output_file(path, force=options["force"]) as temporary:
            write_errors_xlsx(errors, temporary)
        return path

    def write_errors(self, errors: Sequence[RowError], written: Path | None) -> None:
        """The errors of a refusal (``describe_errors``); when they are summarised, where the
        whole list is (`written`: the --errors-xlsx file, if one was written)."""
        for line in describe_errors(errors):
            self.stdout.write(line)
        if len(errors) > ERRORS_LISTED:
            self.stdout.write(
                f"完整的错误清单已写入 {written}。"
                if written
                else "完整的错误清单：加 --errors-xlsx 文件名 写成表格，或加 --json 输出。"
            )

    def write_persons(self, persons: Sequence[dict[str, Any]]) -> None:
        """People of a roster not found in the registry: the first ``PERSONS_LISTED``."""
        for person in persons[:PERSONS_LISTED]:
            self.stdout.write(f"第{person['row']}行 {person['name']} {person['id_number']}")
        if len(persons) > PERSONS_LISTED:
            self.stdout.write(f"…… 另有 {len(persons) - PERSONS_LISTED} 人（加 --json 列出全部）")


def add_force(parser: CommandParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="输出文件已存在时覆盖它（默认不覆盖，报错退出）"
    )


def check_outputs(options: dict[str, Any], *names: str) -> None:
    """Refuse, as a usage error, the output paths given in `options[name]` that cannot or must
    not be written (``--force`` allows replacing an existing file)."""
    for name in names:
        if options.get(name) is not None:
            try:
                check_output(options[name], force=options["force"])
            except OutputError as error:
                raise CommandError(error.message, returncode=USAGE_ERROR) from None


@contextmanager
def output_file(path: Path, *, force: bool) -> Iterator[Path]:
    """A temporary path to write `path` through (see ``canbao.tabular.replacing``); a failure to
    write it is a usage error."""
    try:
        with replacing(path, force=force) as temporary:
            yield temporary
    except OutputError as error:
        raise CommandError(error.message, returncode=USAGE_ERROR) from None
