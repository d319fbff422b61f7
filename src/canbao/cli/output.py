"""What the commands print and the files they write.

Names, keys and file names come from the files users import: they may hold control characters
(an ANSI escape that clears the screen or recolours it, a carriage return that overwrites a line,
a right-to-left override that reorders it). ``CanbaoCommand`` prints them escaped as ``\\u001b``
(which is also what JSON would say: ``--json`` output stays valid JSON), never raw.

An option that writes a file (``--xlsx``, ``--errors-xlsx``, ``--out``) is checked before the
command does any work: a folder that does not exist, or an existing file without ``--force``, is
a usage error (exit status 2) and nothing is done.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from canbao.cli import USAGE_ERROR
from canbao.tabular import OutputError, check_output, replacing

# C0 controls but tab and newline (the commands' own layout), DEL, C1 controls, and the
# bidirectional overrides and isolates.
_UNSAFE = (
    [c for c in range(0x20) if chr(c) not in "\t\n"]
    + list(range(0x7F, 0xA0))
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_ESCAPED = {code: f"\\u{code:04x}" for code in _UNSAFE}


def printable(text: str) -> str:
    """`text` with every control character written as its ``\\uXXXX`` escape."""
    return text.translate(_ESCAPED)


class EscapingOutput(OutputWrapper):
    def write(  # type: ignore[override]  # as OutputWrapper's own
        self,
        msg: str = "",
        style_func: Callable[[str], str] | None = None,
        ending: str | None = None,
    ) -> None:
        super().write(printable(msg), style_func, ending)


class CanbaoCommand(BaseCommand):
    """A command whose stdout and stderr escape control characters."""

    def execute(self, *args: Any, **options: Any) -> str | None:
        self.stdout = EscapingOutput(options.pop("stdout", None) or sys.stdout)
        self.stderr = EscapingOutput(options.pop("stderr", None) or sys.stderr)
        self.stderr.style_func = self.style.ERROR
        result: str | None = super().execute(*args, **options)
        return result


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
