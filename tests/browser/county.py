"""The county the browser tests are served: the Daligang divisions of tests.conftest, one
account per role (tests.roles) and the small season of tests.web.season. Run inside the served
county's own process (tests.browser.conftest.serve_county)."""

from pathlib import Path
from typing import Any

from canbao.accounts.models import Role
from canbao.accounts.services import create_account
from canbao.regions.models import Division
from tests.conftest import COUNTY, OTHER_VILLAGE, PASSWORD, TOWNSHIP, VILLAGE
from tests.roles import ACCOUNT_OPTIONS
from tests.web.season import build_season


def build_county(folder: Path) -> dict[str, int]:
    """Build the county; return the residents' keys by ID number."""
    season = build_season(folder, places_and_accounts())
    return {number: resident.pk for number, resident in season.people.items()}


def places_and_accounts() -> Any:
    """The divisions and the accounts; returns the county admin's user."""
    county = Division.objects.create(code=COUNTY, name="桃江县", level="county")
    township = Division.objects.create(
        code=TOWNSHIP, name="大栗港镇", level="township", parent=county
    )
    for code, name in ((VILLAGE, "大栗港社区居委会"), (OTHER_VILLAGE, "德茂园村委会")):
        Division.objects.create(code=code, name=name, level="village", parent=township)
    admin = create_account(
        username="admin", password=PASSWORD, role=Role.COUNTY_ADMIN, actor=None
    ).user
    for name, options in ACCOUNT_OPTIONS.items():
        create_account(username=name, password=PASSWORD, actor=admin, **options)
    return admin
