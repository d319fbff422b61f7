"""The API's fixtures: the Daligang 2020 campaign (250 yuan = 25000 fen; 王五 五保户 fully paid by
medical assistance; 钱七 农村低保 half), an integration token of the tax bureau and one of a
bank, and staff logged in through the pages' session."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from canbao.accounts.models import Account, Role
from canbao.accounts.services import create_account, issue_token
from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.registry.models import Resident
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, OTHER_VILLAGE, PASSWORD, csv_file, person_id, resident

ZHANG = person_id(1)  # ordinary, village 201: 250 yuan
LI = person_id(2, "F")  # ordinary, same household
WANG = person_id(3)  # 五保户: payable 0, medical assistance 250 yuan
QIAN = person_id(5, "F")  # 农村低保: payable 125 yuan, civil affairs 125 yuan
SUN = person_id(6)  # ordinary, the other village (239)
STRANGER = person_id(99)  # a valid number the registry does not know


@pytest.fixture
def campaign(accounts: dict[str, Account], tmp_path: Path) -> Campaign:
    admin = accounts["admin"].user
    rows = [
        resident("张建国", ZHANG, "H1", phone="13812345678"),
        resident("李秀英", LI, "H1", "妻"),
        resident("王五", WANG, "H2"),
        resident("钱七", QIAN, "H4"),
        resident("孙八", SUN, "H5", village=OTHER_VILLAGE),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=admin).errors
    for category, people in (
        ("extreme_poverty", [("王五", WANG)]),
        ("rural_dibao", [("钱七", QIAN)]),
    ):
        path = csv_file(tmp_path / f"{category}.csv", people, ("姓名", "公民身份号码"))
        assert not import_roster(
            path=path, category=category, source="civil_affairs", actor=admin
        ).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=admin)
    assess_campaign(campaign=opened, actor=admin)
    return opened


def pk_of(id_number: str) -> int:
    return Resident.objects.get(id_number=id_number).pk


@pytest.fixture
def tax_token(accounts: dict[str, Account]) -> str:
    return issue_token(account=accounts["tax"], actor=accounts["admin"].user)


@pytest.fixture
def bank_token(accounts: dict[str, Account]) -> str:
    bank = create_account(
        username="bank",
        password=PASSWORD,
        role=Role.INTEGRATION,
        channel="bank",
        actor=accounts["admin"].user,
    )
    return issue_token(account=bank, actor=accounts["admin"].user)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def logged_in(accounts: dict[str, Account], username: str, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(accounts[username].user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def post_json(client: Client, path: str, body: Any, **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)
