"""The `canbao` console script: Canbao's own management commands under one name, Django's under
``canbao django``. No Python traceback reaches the user: a failure no command words for itself
is one line of Chinese (``canbao.cli.failures``), the traceback only with CANBAO_DEBUG=1."""

import os
import sys

# Exit status of every command: 0 done, REFUSED when the input was refused for its errors and
# nothing was written, USAGE_ERROR when the command was asked for wrongly (or the database is not
# initialised yet), FAILED when it failed for a reason outside its input (the database, a bug).
REFUSED = 1
USAGE_ERROR = 2
FAILED = 3
INTERRUPTED = 130  # Ctrl-C, as shells report it


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "canbao.settings")
    sys.exit(run(sys.argv[1:]))


def run(argv: list[str]) -> int:
    """Run the command line `argv` (without the program's name); its exit status."""
    debug = os.environ.get("CANBAO_DEBUG") == "1" or "--traceback" in argv
    try:
        return _dispatch(argv)
    except KeyboardInterrupt:
        if debug:
            raise
        print("已中断：本次操作没有完成。", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader of the output went away (`canbao ... | head`): nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        if debug:
            raise
        from canbao.cli.escape import printable
        from canbao.cli.failures import failure

        message, status = failure(error)
        print(printable(message), file=sys.stderr)
        return status


def _dispatch(argv: list[str]) -> int:
    from django.core.management import execute_from_command_line

    from canbao.cli.overview import canbao_commands, overview
    from canbao.cli.parser import localise_argparse

    localise_argparse()
    first = argv[0] if argv else "--help"
    if first == "django":
        execute_from_command_line(["canbao django", *argv[1:]])
        return 0
    if first == "help" and len(argv) > 1:
        return _dispatch([argv[1], "--help"])
    if first == "--version":
        from importlib.metadata import version

        print(f"canbao {version('canbao')}")
        return 0
    if first in ("-h", "--help", "help"):
        print(overview())
        return 0
    if first not in canbao_commands():
        from canbao.cli.escape import printable

        print(printable(_unknown(first, canbao_commands())), file=sys.stderr)
        return USAGE_ERROR
    execute_from_command_line(["canbao", *argv])
    return 0


def _unknown(name: str, commands: list[str]) -> str:
    import difflib

    import django
    from django.core.management import get_commands

    django.setup()
    if name in get_commands():
        return f"“{name}”是 Django 自带的管理命令：请用 canbao django {name}"
    close = difflib.get_close_matches(name, commands, n=1)
    guess = f"是不是 canbao {close[0]}？" if close else ""
    return f"没有“{name}”这个命令。{guess}用 canbao --help 查看全部命令。"
