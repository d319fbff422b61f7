"""The `canbao` console script: Django's management commands under one name."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "canbao.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["canbao", *sys.argv[1:]])
