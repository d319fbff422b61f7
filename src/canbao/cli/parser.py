"""The commands' argument parser as a clerk meets it: usage, options and usage errors in Chinese.

argparse looks its own words up through gettext, under the names ``_`` and ``ngettext`` of its
module; ``localise_argparse`` (called once by the ``canbao`` console script) puts the Chinese
ones there. ``ClerkParser`` words the two messages gettext cannot reach: a choice that is not
allowed lists the allowed ones as they are typed (``tax, bank, proxy, cash``, not
``Channel.TAX``), and an integer that is not one says so. ``ClerkHelpFormatter`` lines the help
up in terminal columns, where a Chinese character takes two.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from typing import Any, NoReturn
from unicodedata import east_asian_width

from django.core.management.base import CommandError, CommandParser

from canbao.cli import USAGE_ERROR

_ARGPARSE_WORDS = {
    "usage: ": "用法：",
    "%(prog)s: error: %(message)s\n": "%(prog)s：%(message)s（用 --help 查看用法）\n",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "the following arguments are required: %s": "缺少必须给出的参数：%s",
    "unrecognized arguments: %s": "不认识的参数：%s",
    "expected one argument": "后面须跟一个值",
    "expected at most one argument": "后面至多跟一个值",
    "expected at least one argument": "后面至少跟一个值",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "须给出参数 %s 之一",
    "ambiguous option: %(option)s could match %(matches)s": (
        "选项 %(option)s 不完整，可能是 %(matches)s"
    ),
    "ignored explicit argument %r": "这个选项后面不能跟值：%r",
    "invalid %(type)s value: %(value)r": "值 %(value)r 不对（须为 %(type)s）",
    "positional arguments": "参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
}


def _words(message: str) -> str:
    return _ARGPARSE_WORDS.get(message, message)


def _counted_words(singular: str, plural: str, count: int) -> str:
    if singular == "expected %s argument":
        return "后面须跟 %s 个值"
    return singular if count == 1 else plural


def localise_argparse() -> None:
    """Make argparse speak Chinese in this process (see the module's docstring)."""
    vars(argparse).update(_=_words, ngettext=_counted_words)


def columns(text: str) -> int:
    """How many terminal columns `text` takes."""
    return len(text) + sum(east_asian_width(char) in "WF" for char in text)


# A word that must not be broken (Latin letters, digits, an option) or any other one character,
# with the closing punctuation that must not begin a line.
_TOKEN = re.compile(r"(?:[!-~]+|\s+|.)[。，、；：）”！？]*")


class ClerkHelpFormatter(argparse.HelpFormatter):
    def _invocations(self, action: argparse.Action) -> Iterable[tuple[str, int]]:
        yield self._format_action_invocation(action), self._current_indent
        for sub in self._iter_indented_subactions(action):
            yield from self._invocations(sub)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            widest = max(columns(text) + indent for text, indent in self._invocations(action))
            self._action_max_length = max(self._action_max_length, widest)

    def _format_action(self, action: argparse.Action) -> str:
        help_position = min(self._action_max_length + 2, self._max_help_position)
        header = self._format_action_invocation(action)
        lines = [f"{'':{self._current_indent}}{header}"]
        fits = columns(header) <= help_position - self._current_indent - 2
        if action.help and action.help.strip() and (text := self._expand_help(action)):
            wrapped = self._split_lines(text, max(self._width - help_position, 11))
            if fits:
                gap = help_position - self._current_indent - columns(header)
                lines[0] += " " * gap + wrapped.pop(0)
            lines.extend(f"{'':{help_position}}{line}" for line in wrapped)
        parts = [line + "\n" for line in lines]
        parts.extend(self._format_action(sub) for sub in self._iter_indented_subactions(action))
        return self._join_parts(parts)

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines = [""]
        for token in _TOKEN.findall(" ".join(text.split())):
            if lines[-1] and columns(lines[-1] + token.rstrip()) > width:
                lines.append("")
            if lines[-1] or not token.isspace():
                lines[-1] += token
        return [line.rstrip() for line in lines if line.strip()]

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


class ClerkParser(CommandParser):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ClerkHelpFormatter)
        super().__init__(**kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            allowed = ", ".join(str(choice) for choice in action.choices)
            raise argparse.ArgumentError(action, f"没有“{value}”这一项；可选：{allowed}")

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        if action.type is int:
            try:
                return int(arg_string)
            except ValueError:
                raise argparse.ArgumentError(action, f"须为整数：“{arg_string}”") from None
        return super()._get_value(action, arg_string)

    def error(self, message: str) -> NoReturn:
        """On the command line: the usage and the message, exit status 2 (argparse's way).
        Called from code (``call_command``): a usage error."""
        if self.called_from_command_line:
            super().error(message)
        raise CommandError(message, returncode=USAGE_ERROR)
