from typing import Any

from django.core.management import call_command
from django.db import connection

from canbao.cli.output import CanbaoCommand


class Command(CanbaoCommand):
    help = (
        "创建或升级 Canbao 的数据库（由 DATABASE_URL 指定，默认为用户数据目录中的 SQLite 文件）。"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor == "sqlite":
            from pathlib import Path

            name = str(connection.settings_dict["NAME"])
            if name != ":memory:":
                Path(name).parent.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"数据库已就绪：{connection.vendor} {connection.settings_dict['NAME']}")
