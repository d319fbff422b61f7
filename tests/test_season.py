"""The synthetic collection season (canbao.demo.season): the files it writes for an assessed
campaign are read by the real importers without an error, and every fen in them is recorded.

The county is the demo's, small: 1,200 residents of 桃江县, registry as of 2019-10-31, campaign
daligang-2020 (250 yuan = 25000 fen; 低保 pays 12500 and medical assistance the other 12500)."""

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel, Difference, Payment, Suspense
from canbao.collection.payment_imports import import_payments
from canbao.collection.receipts import issue_receipt_book
from canbao.collection.reconciliation import import_bank_credits, reconcile_day
from canbao.collection.withholding import (
    create_batch,
    create_retry,
    import_agreements,
    import_returns,
)
from canbao.demo.season import Season, write_season, write_withholding_return
from canbao.demo.synthetic import generate_county

SEED = 7


def county_campaign(tmp_path: Path) -> Campaign:
    county = generate_county(
        residents=1200, seed=SEED, out_dir=tmp_path / "county", as_of=date(2019, 10, 31)
    )
    for argv in county.import_commands(corrected_dir=tmp_path / "county" / "corrected"):
        call_command(*argv, stdout=io.StringIO())
    campaign = open_campaign(area_code="430922", policy="daligang-2020", username="test")
    assess_campaign(campaign=campaign, username="test")
    return campaign


def rows(path: Path) -> list[dict[str, str]]:
    """A season file's data rows (the title row above the header skipped)."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        next(stream)
        return list(csv.DictReader(stream))


def yuan_fen(text: str) -> int:
    return int(Decimal(text) * 100)


def file_fen(season: Season) -> int:
    """The amounts of the payment files, read from the files themselves."""
    paths = [day.path for day in season.tax_days]
    paths += [proxy.path for proxy in season.proxy]
    paths.append(season.cash.path)
    return sum(yuan_fen(row["金额（元）"]) for path in paths for row in rows(path))


def issue_book(campaign: Campaign, season: Season) -> None:
    issue_receipt_book(
        campaign=campaign,
        collector=season.cash.collector,
        village_code=season.cash.village_code,
        first=season.cash.first,
        last=season.cash.last,
        username="test",
    )


def import_all(campaign: Campaign, season: Season) -> None:
    for day in season.tax_days:
        assert not import_payments(path=day.path, campaign=campaign, channel="tax").errors
    repeated = import_payments(path=season.repeated, campaign=campaign, channel="tax")
    assert repeated.repeated and repeated.created == 0
    for proxy in season.proxy:
        result = import_payments(
            path=proxy.path, campaign=campaign, channel="proxy", funder=proxy.funder
        )
        assert not result.errors
    issue_book(campaign, season)
    assert not import_payments(path=season.cash.path, campaign=campaign, channel="cash").errors


@pytest.mark.django_db
def test_it_writes_files_the_importers_read_without_an_error(tmp_path: Path) -> None:
    campaign = county_campaign(tmp_path)
    season = write_season(campaign=campaign, out_dir=tmp_path / "season", seed=SEED)

    assert len(season.tax_days) == 4 and season.repeated.read_bytes() == next(
        day.path.read_bytes() for day in season.tax_days if day.day == season.repeated_of
    )
    for day in season.tax_days:
        checked = import_payments(path=day.path, campaign=campaign, channel="tax", dry_run=True)
        assert checked.errors == [] and checked.rows == day.lines > 0
        credits = import_bank_credits(path=day.bank_file, campaign=campaign, dry_run=True)
        assert credits.errors == []
    assert {proxy.funder for proxy in season.proxy} >= {"medical_assistance", "county_finance"}
    for proxy in season.proxy:
        checked = import_payments(
            path=proxy.path, campaign=campaign, channel="proxy", funder=proxy.funder, dry_run=True
        )
        assert checked.errors == [] and checked.rows == proxy.lines
    issue_book(campaign, season)
    checked = import_payments(
        path=season.cash.path, campaign=campaign, channel="cash", dry_run=True
    )
    assert checked.errors == [] and checked.rows == season.cash.lines > 0
    agreements = import_agreements(path=season.agreements, dry_run=True)
    assert agreements.errors == [] and agreements.rows == season.agreement_count >= 7
    assert Payment.objects.count() == 0


@pytest.mark.django_db
def test_the_money_in_the_files_is_the_money_recorded(tmp_path: Path) -> None:
    campaign = county_campaign(tmp_path)
    season = write_season(campaign=campaign, out_dir=tmp_path / "season", seed=SEED)
    import_all(campaign, season)
    assert not import_agreements(path=season.agreements).errors
    batch = create_batch(campaign=campaign, out=tmp_path / "batch1.csv")
    first = write_withholding_return(
        batch_file=tmp_path / "batch1.csv",
        out=tmp_path / "return1.csv",
        paid_on=date(2019, 12, 16),
        seed=SEED,
    )
    assert not import_returns(path=first.path, campaign=campaign).errors
    retry = create_retry(campaign=campaign, out=tmp_path / "batch2.csv")
    second = write_withholding_return(
        batch_file=tmp_path / "batch2.csv",
        out=tmp_path / "return2.csv",
        paid_on=date(2019, 12, 23),
        seed=SEED,
        failures=False,
    )
    assert not import_returns(path=second.path, campaign=campaign).errors

    returned = [r for path in (first.path, second.path) for r in rows(path)]
    withheld = sum(int(r["金额（分）"]) for r in returned if r["返回码"] == "0000")
    in_files = file_fen(season) + withheld
    recorded = Payment.objects.filter(campaign=campaign).aggregate(s=Sum("amount_fen"))["s"]
    assert in_files == recorded == season.file_fen + first.success_fen + second.success_fen
    assert batch.lines == first.lines and retry.lines == first.codes["1001"] == second.lines
    assert set(first.codes) == {"0000", "1001", "1002", "1004"}
    assert first.codes["1002"] == first.codes["1004"] == 1 and second.codes == {"0000": retry.lines}
    withholding = Payment.objects.filter(campaign=campaign, channel=Channel.WITHHOLDING)
    assert withholding.aggregate(s=Sum("amount_fen"))["s"] == withheld


@pytest.mark.django_db
def test_its_faults_show_as_suspense_and_as_one_bank_difference(tmp_path: Path) -> None:
    campaign = county_campaign(tmp_path)
    season = write_season(campaign=campaign, out_dir=tmp_path / "season", seed=SEED)
    import_all(campaign, season)

    held = {
        (s.reason, (s.resident or s.payment).id_number)  # type: ignore[union-attr]
        for s in Suspense.objects.filter(resolved_at__isnull=True).select_related(
            "resident", "payment"
        )
    }
    planted = {(f.kind, f.id_number) for f in season.faults if f.kind != "repeated_file"}
    assert planted == held
    assert {kind for kind, _ in planted} == {"partial", "excess", "unknown_person"}
    partial = next(f for f in season.faults if f.kind == "partial")
    assert Payment.objects.get(key=partial.key).amount_fen == partial.amount_fen

    for day in season.tax_days:
        result = reconcile_day(
            campaign=campaign, day=day.day, tax_file=day.path, bank_file=day.bank_file
        )
        short = season.bank_short
        if day.day == short.day:
            (difference,) = result.differences
            assert difference.kind == Difference.Kind.BANK_TOTAL_DIFFERS
            assert difference.key == short.bank
            assert difference.actual_fen - difference.expected_fen == short.amount_fen
            assert day.fen - day.bank_fen == short.amount_fen
        else:
            assert result.balanced, result.differences
            assert day.fen == day.bank_fen


@pytest.mark.django_db
def test_the_same_seed_writes_the_same_files_and_another_seed_others(tmp_path: Path) -> None:
    campaign = county_campaign(tmp_path)
    one = write_season(campaign=campaign, out_dir=tmp_path / "one", seed=SEED)
    again = write_season(campaign=campaign, out_dir=tmp_path / "again", seed=SEED)
    other = write_season(campaign=campaign, out_dir=tmp_path / "other", seed=SEED + 1)
    paths = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert paths == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in paths:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert one.tax_days[0].path.read_bytes() != other.tax_days[0].path.read_bytes()
    assert one.file_fen == again.file_fen
