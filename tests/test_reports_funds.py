"""The fund summary (基金筹集情况): personal money by channel, subsidies owed and received by
funder, the fiscal subsidy per head and in total (Dazhu: 320 + 580 yuan), the banks' transfers."""

from datetime import date
from pathlib import Path

import pytest

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import BankCredit, Channel
from canbao.collection.services import PaymentRow, record_payments, reverse_payment
from canbao.idnumber import make
from canbao.regions.models import Division
from canbao.registry.models import ImportBatch
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from canbao.reports.funds import fund_summary
from tests.conftest import COUNTY, csv_file, person_id, resident, staff, xlsx_file

pytestmark = pytest.mark.django_db

PEOPLE = [(f"大竹{n}", make("511724", date(1975, 3, 1), 20 + n, "F")) for n in range(5)]


@pytest.fixture
def dazhu(db: None, tmp_path: Path) -> Campaign:
    county = Division.objects.create(code="511724", name="大竹县", level="county")
    town = Division.objects.create(
        code="511724001", name="竹阳街道", level="township", parent=county
    )
    Division.objects.create(code="511724001001", name="竹阳社区", level="village", parent=town)
    rows = [resident(n, i, f"Z{k}", village="511724001001") for k, (n, i) in enumerate(PEOPLE)]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    campaign = open_campaign(area_code="511724", policy="dazhu-2022", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    return campaign


def pay(campaign: Campaign, channel: str, day: date, *people: tuple[str, str]) -> None:
    rows = [
        PaymentRow(key=f"{channel}{i}", paid_on=day, amount_fen=32_000, id_number=i, name=n)
        for n, i in people
    ]
    record_payments(campaign=campaign, channel=channel, rows=rows, batch=None, actor=staff("t"))


def credit(campaign: Campaign, day: date, bank: str, fen: int, count: int) -> None:
    batch = ImportBatch.objects.create(
        kind=ImportBatch.Kind.BANK_CREDITS,
        status=ImportBatch.Status.COMMITTED,
        file_name=f"{bank}{day}.csv",
        file_sha256=f"{bank}{day}",
        username="t",
    )
    BankCredit.objects.create(
        campaign=campaign, day=day, bank=bank, amount_fen=fen, count=count, batch=batch
    )


def test_dazhu_fund_is_320_personal_plus_580_fiscal_per_enrolled_head(dazhu: Campaign) -> None:
    pay(dazhu, Channel.TAX, date(2021, 10, 8), *PEOPLE[:3])
    pay(dazhu, Channel.BANK, date(2021, 11, 2), PEOPLE[3])
    summary = fund_summary(campaign=dazhu)
    assert (summary.personal_fen_each, summary.fiscal_fen_each) == (32_000, 58_000)
    assert summary.enrolled == 4
    assert summary.fiscal_fen == 4 * 58_000  # 2,320 yuan
    assert [(c.channel, c.payments, c.net_fen) for c in summary.personal] == [
        ("tax", 3, 96_000),
        ("bank", 1, 32_000),
    ]
    assert summary.personal_net_fen == 128_000
    assert summary.ledger.balanced and summary.ledger.enrolled_fen == 128_000


def test_a_day_limits_payments_enrollments_and_transfers(dazhu: Campaign) -> None:
    pay(dazhu, Channel.TAX, date(2021, 10, 8), *PEOPLE[:3])
    pay(dazhu, Channel.TAX, date(2021, 11, 2), PEOPLE[3])
    credit(dazhu, date(2021, 10, 8), "工商银行", 64_000, 2)
    credit(dazhu, date(2021, 10, 8), "农业银行", 32_000, 1)
    credit(dazhu, date(2021, 11, 2), "工商银行", 32_000, 1)
    summary = fund_summary(campaign=dazhu, as_of=date(2021, 10, 31))
    assert summary.enrolled == 3 and summary.fiscal_fen == 3 * 58_000
    assert [(c.channel, c.net_fen) for c in summary.personal] == [("tax", 96_000)]
    assert [(t.bank, t.days, t.count, t.fen) for t in summary.transfers] == [
        ("农业银行", 1, 1, 32_000),
        ("工商银行", 1, 2, 64_000),
    ]
    everything = fund_summary(campaign=dazhu)
    assert everything.transferred_fen == 128_000
    assert everything.as_json()["transfers"][1] == {
        "bank": "工商银行",
        "days": 2,
        "count": 3,
        "fen": 96_000,
    }


def test_a_reversal_shows_beside_the_channel_and_leaves_the_net(dazhu: Campaign) -> None:
    pay(dazhu, Channel.TAX, date(2021, 10, 8), *PEOPLE[:2])
    reverse_payment(
        campaign=dazhu,
        channel=Channel.TAX,
        key=f"tax{PEOPLE[0][1]}",
        reason="退费",
        actor=staff("t"),
    )
    [tax] = fund_summary(campaign=dazhu).personal
    assert (tax.payments, tax.received_fen, tax.reversed_fen, tax.net_fen) == (
        2,
        64_000,
        -32_000,
        32_000,
    )


def test_subsidies_owed_and_received_by_funder(
    daligang: dict[str, Division], tmp_path: Path
) -> None:
    """Daligang: a 特困 person is paid for by medical assistance (250 yuan, paid), a grade 1-2
    disabled person by the disabled persons' federation (250 yuan, not paid yet)."""
    wubao, disabled = (person_id(31), "五保"), (person_id(32), "残疾")
    rows = [resident(disabled[1], disabled[0], "H2"), resident(wubao[1], wubao[0], "H1")]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=staff("t")).errors
    for category, source, (id_number, name) in (
        ("extreme_poverty", "civil_affairs", wubao),
        ("disabled_1_2", "disabled_federation", disabled),
    ):
        path = csv_file(tmp_path / f"{category}.csv", [[name, id_number]], ("姓名", "公民身份号码"))
        assert not import_roster(
            path=path, category=category, source=source, actor=staff("t")
        ).errors
    campaign = open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    row = PaymentRow(
        key="MA1",
        paid_on=date(2019, 12, 1),
        amount_fen=25_000,
        id_number=wubao[0],
        name=wubao[1],
        funder="medical_assistance",
    )
    record_payments(
        campaign=campaign, channel=Channel.PROXY, rows=[row], batch=None, actor=staff("t")
    )
    summary = fund_summary(campaign=campaign)
    assert [
        (f.funder, f.persons, f.owed_fen, f.received_fen, f.balance_fen) for f in summary.subsidies
    ] == [
        ("medical_assistance", 1, 25_000, 25_000, 0),
        ("disabled_federation", 1, 25_000, 0, 25_000),
    ]
    assert summary.personal == [] and summary.fiscal_fen_each is None
