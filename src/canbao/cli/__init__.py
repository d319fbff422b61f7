"""The `canbao` console script: Django's management commands under one name."""

import os
import sys

# Exit status of every command: 0 done, REFUSED when the input was refused for its errors and
# nothing was written, USAGE_ERROR when the command was asked for wrongly.
REFUSED = 1
USAGE_ERROR = 2


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "canbao.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["canbao", *sys.argv[1:]])
