"""After a large import the query planner has statistics of the tables: SQLite keeps none until
told, and without them a resident's page walked every payment of the county."""

from pathlib import Path

import pytest
from django.db import connection

from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db


def analysed(table: str) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # main's: an import's staging tables, analysed, have their own in temp.
            cursor.execute("SELECT name FROM main.sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return False
            cursor.execute("SELECT count(*) FROM main.sqlite_stat1 WHERE tbl = %s", [table])
        else:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [table])
        return bool(cursor.fetchone()[0])


def test_a_large_import_and_assessment_leave_the_planner_statistics_a_small_one_does_not(
    daligang: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = staff("admin")
    people = [resident(f"居民{n}", person_id(n), f"H{n}") for n in range(1, 4)]
    monkeypatch.setattr("canbao.registry.batches.STATISTICS_AFTER_ROWS", 3)
    assert not import_residents(path=xlsx_file(tmp_path / "a.xlsx", people[:2]), actor=actor).errors
    assert not analysed("registry_resident")
    assert not import_residents(path=xlsx_file(tmp_path / "b.xlsx", people), actor=actor).errors
    assert analysed("registry_resident")

    monkeypatch.setattr("canbao.campaigns.services.STATISTICS_AFTER_ROWS", 3)
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=actor)
    assess_campaign(campaign=campaign, actor=actor)
    assert analysed("campaigns_assessment")
