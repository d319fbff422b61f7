"""Payments are append-only against every write path, on both databases: raw SQL that would
update, delete, truncate or (SQLite) replace a posted payment is refused by the database, and
the payment is still there, its enrollment still backed by it. With the Daligang 2020 numbers
(250 yuan = 25000 fen)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Enrollment, Payment
from canbao.collection.payment_imports import import_payments
from canbao.collection.receipts import issue_receipt_book
from canbao.collection.services import reverse_payment
from canbao.registry.services import import_residents
from tests.conftest import COUNTY, VILLAGE, csv_file, person_id, resident, staff

pytestmark = pytest.mark.django_db

ZHANG, LI, SUN = person_id(1), person_id(2, "F"), person_id(6)
TAX_HEADER = ("缴费日期", "电子税票号码", "姓名", "公民身份号码", "金额（元）")
CASH_HEADER = ("收据号码", "缴费日期", "姓名", "公民身份号码", "金额（元）", "收款人")
# Every column of a payment but its id, to copy a posted row in raw SQL.
COLUMNS = (
    "campaign_id, channel, key, paid_on, amount_fen, id_number, name, resident_id, funder, "
    "bank, receipt_id, reverses_id, batch_id, recorded_at, recorded_by"
)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="TRUNCATE exists on PostgreSQL only"
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="INSERT OR REPLACE exists on SQLite only"
)


@pytest.fixture
def campaign(daligang: dict[str, object], tmp_path: Path) -> Campaign:
    """张建国 paid 250 yuan by tax (T001), 李秀英 250 yuan in cash (receipt 1001), both enrolled;
    孙八's 250 yuan (T002) was reversed."""
    rows = [
        resident("张建国", ZHANG, "H1"),
        resident("李秀英", LI, "H1", "妻"),
        resident("孙八", SUN, "H5"),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    opened = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff())
    assess_campaign(campaign=opened, actor=staff())
    tax = csv_file(
        tmp_path / "tax.csv",
        [
            ("2019-11-20", "T001", "张建国", ZHANG, "250"),
            ("2019-11-20", "T002", "孙八", SUN, "250"),
        ],
        TAX_HEADER,
    )
    assert import_payments(path=tax, campaign=opened, channel="tax", actor=staff()).enrolled == 2
    issue_receipt_book(
        campaign=opened,
        collector="刘会计",
        village_code=VILLAGE,
        first=1001,
        last=1050,
        actor=staff(),
    )
    cash = csv_file(
        tmp_path / "cash.csv", [("1001", "2019-11-20", "李秀英", LI, "250", "刘会计")], CASH_HEADER
    )
    assert import_payments(path=cash, campaign=opened, channel="cash", actor=staff()).enrolled == 1
    reverse_payment(
        campaign=opened, channel="tax", key="T002", reason="重复缴费退回", actor=staff()
    )
    return opened


def ledger() -> list[tuple[str, str, int]]:
    """Every posted payment: (channel, key, fen)."""
    return list(Payment.objects.order_by("pk").values_list("channel", "key", "amount_fen"))


def assert_enrollments_backed_by_payments() -> None:
    for enrollment in Enrollment.objects.all():
        paid = Payment.objects.filter(resident=enrollment.resident).aggregate(fen=Sum("amount_fen"))
        assert paid["fen"] == enrollment.paid_fen == 25000


def refused(statement: Callable[[Any], None], message: str) -> None:
    """Run ``statement`` on a cursor: the database must refuse it with ``message`` and leave
    every payment as it was."""
    before = ledger()
    assert len(before) == 4
    with (
        pytest.raises(DatabaseError, match=message),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        statement(cursor)
    assert ledger() == before
    assert_enrollments_backed_by_payments()


def sql(text: str, params: tuple[Any, ...] = ()) -> Callable[[Any], None]:
    def run(cursor: Any) -> None:
        cursor.execute(text, params)

    return run


def test_the_fixture_enrolls_the_two_payers_and_leaves_the_reversed_one_out(
    campaign: Campaign,
) -> None:
    assert ledger() == [
        ("tax", "T001", 25000),
        ("tax", "T002", 25000),
        ("cash", "1001", 25000),
        ("tax", "reversal:T002", -25000),
    ]
    assert sorted(Enrollment.objects.values_list("resident__id_number", flat=True)) == sorted(
        [ZHANG, LI]
    )
    assert_enrollments_backed_by_payments()


@pytest.mark.parametrize(
    "where",
    ["\"key\" = 'T001'", "receipt_id IS NOT NULL", "reverses_id IS NOT NULL", "TRUE"],
    ids=["one", "cash", "reversal", "all"],
)
def test_the_database_refuses_to_delete_a_payment(campaign: Campaign, where: str) -> None:
    refused(sql(f"DELETE FROM collection_payment WHERE {where}"), "不得删除")


def test_the_database_refuses_a_delete_through_the_orm(campaign: Campaign) -> None:
    refused(lambda _: Payment.objects.filter(key="T001").delete(), "不得删除")


@postgresql_only
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE collection_payment CASCADE",
        "TRUNCATE collection_suspense, collection_payment RESTART IDENTITY CASCADE",
    ],
    ids=["cascade", "like-flush"],
)
def test_postgresql_refuses_to_truncate_the_payments(campaign: Campaign, statement: str) -> None:
    def truncate(cursor: Any) -> None:
        # The test's transaction has deferred foreign-key checks pending, which PostgreSQL
        # would name instead of running the TRUNCATE: check them first, as a commit would.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)

    refused(truncate, "不得删除")


def copy_of(key: str, /, columns: str = COLUMNS, **changed: str) -> str:
    """A SELECT of ``columns`` of the payment ``key``, some replaced by SQL expressions."""
    values = [changed.get(name.strip(), name.strip()) for name in columns.split(",")]
    return f"SELECT {', '.join(values)} FROM collection_payment WHERE \"key\" = '{key}'"


@sqlite_only
@pytest.mark.parametrize(
    ("key", "columns", "changed"),
    [
        # the same row id, one fen: REPLACE deletes the posted row and writes another
        ("T001", f"id, {COLUMNS}", {"amount_fen": "1"}),
        # a new row under the same channel key
        ("T001", COLUMNS, {"amount_fen": "1", "name": "'李四'"}),
        # a new payment taking the posted cash payment's receipt
        ("1001", COLUMNS, {"key": "'9999'"}),
        # a second reversal of the same payment, under another key
        ("reversal:T002", COLUMNS, {"key": "'reversal:X'"}),
    ],
    ids=["same-id", "same-key", "same-receipt", "same-reversed-payment"],
)
def test_sqlite_refuses_to_replace_a_payment(
    campaign: Campaign, key: str, columns: str, changed: dict[str, str]
) -> None:
    for verb in ("INSERT OR REPLACE INTO", "REPLACE INTO"):
        copy = copy_of(key, columns, **changed)
        refused(sql(f"{verb} collection_payment ({columns}) {copy}"), "不得覆盖")


def test_an_upsert_that_would_overwrite_a_payment_is_refused(campaign: Campaign) -> None:
    upsert = (
        f"INSERT INTO collection_payment ({COLUMNS}) {copy_of('T001')} "
        'ON CONFLICT (campaign_id, channel, "key") DO UPDATE SET amount_fen = 1'
    )
    # SQLite refuses the colliding insert before it gets to the update.
    refused(sql(upsert), "不得修改" if connection.vendor == "postgresql" else "不得覆盖")


@pytest.mark.ledger_tampered
def test_a_new_payment_is_still_recorded(campaign: Campaign) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO collection_payment ({COLUMNS}) "
            + copy_of("T001", key="'T003'", amount_fen="100")
        )
    assert ledger()[-1] == ("tax", "T003", 100)
