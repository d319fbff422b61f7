"""The synthetic collection season (canbao.demo.season): the files it writes for an assessed
campaign are read by the real importers without an error, and every fen in them is recorded.

The counties are the demo's, small: a few hundred residents of the preset's own county, the
registry as of the day before its season, the campaign on the demo's policy (Daligang's preset:
250 yuan = 25000 fen, 低保 pays 12500 and medical assistance the other 12500)."""

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
from canbao.collection.bank_credits import import_bank_credits
from canbao.collection.models import Channel, Difference, Payment, Suspense
from canbao.collection.payment_imports import import_payments
from canbao.collection.receipts import issue_receipt_book
from canbao.collection.reconciliation import reconcile_day
from canbao.collection.withholding import (
    create_batch,
    create_retry,
    import_agreements,
    import_returns,
)
from canbao.demo.bank import write_withholding_return
from canbao.demo.plans import PRESET_SEASONS
from canbao.demo.policies import demo_policy
from canbao.demo.season import Season, write_season
from canbao.demo.synthetic import generate_county
from tests.conftest import staff

SEED = 7


def preset_campaign(tmp_path: Path, preset: str, residents: int = 1200) -> Campaign:
    """The preset's county generated and imported (corrected rosters), its campaign opened on
    the demo's policy and assessed."""
    season = PRESET_SEASONS[preset]
    demo = demo_policy(preset)
    county = generate_county(
        residents=residents,
        seed=SEED,
        county=season.county,
        out_dir=tmp_path / "county",
        as_of=season.registry_as_of,
        rosters=season.rosters(demo.policy),
        poor_category=season.poor_category,
    )
    for argv in county.import_commands(corrected_dir=tmp_path / "county" / "corrected"):
        call_command(*argv, stdout=io.StringIO())
    policy = preset
    if demo.file_name:
        policy = str(tmp_path / demo.file_name)
        Path(policy).write_text(demo.text, encoding="utf-8")
    campaign = open_campaign(area_code=season.county.code, policy=policy, actor=staff("test"))
    assess_campaign(campaign=campaign, actor=staff("test"))
    return campaign


def season_of(campaign: Campaign, preset: str, out_dir: Path, seed: int = SEED) -> Season:
    return write_season(
        campaign=campaign, out_dir=out_dir, seed=seed, plan=PRESET_SEASONS[preset].plan
    )


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
    paths += [cash.path for cash in season.cash]
    return sum(yuan_fen(row["金额（元）"]) for path in paths for row in rows(path))


def issue_books(campaign: Campaign, season: Season) -> None:
    for book in season.books:
        issue_receipt_book(
            campaign=campaign,
            collector=book.collector,
            village_code=book.village_code,
            first=book.first,
            last=book.last,
            actor=staff("test"),
        )


def import_all(campaign: Campaign, season: Season) -> None:
    for day in season.tax_days:
        assert not import_payments(
            path=day.path, campaign=campaign, channel="tax", actor=staff()
        ).errors
    if season.repeated is not None:
        repeated = import_payments(
            path=season.repeated, campaign=campaign, channel="tax", actor=staff()
        )
        assert repeated.repeated and repeated.created == 0
    issue_books(campaign, season)
    for cash in season.cash:
        assert not import_payments(
            path=cash.path, campaign=campaign, channel="cash", actor=staff()
        ).errors
    for proxy in season.proxy:
        result = import_payments(
            path=proxy.path, campaign=campaign, channel="proxy", funder=proxy.funder, actor=staff()
        )
        assert not result.errors


@pytest.mark.django_db
@pytest.mark.usefixtures("as_admin")
def test_it_writes_files_the_importers_read_without_an_error(tmp_path: Path) -> None:
    campaign = preset_campaign(tmp_path, "daligang-2020")
    season = season_of(campaign, "daligang-2020", tmp_path / "season")

    assert len(season.tax_days) == 4 and season.repeated is not None
    assert season.repeated.read_bytes() == next(
        day.path.read_bytes() for day in season.tax_days if day.day == season.repeated_of
    )
    for day in season.tax_days:
        checked = import_payments(
            path=day.path, campaign=campaign, channel="tax", dry_run=True, actor=staff()
        )
        assert checked.errors == [] and checked.rows == day.lines > 0
        credits = import_bank_credits(
            path=day.bank_file, campaign=campaign, dry_run=True, actor=staff()
        )
        assert credits.errors == []
    assert {proxy.funder for proxy in season.proxy} >= {"medical_assistance", "county_finance"}
    for proxy in season.proxy:
        checked = import_payments(
            path=proxy.path,
            campaign=campaign,
            channel="proxy",
            funder=proxy.funder,
            dry_run=True,
            actor=staff(),
        )
        assert checked.errors == [] and checked.rows == proxy.lines
    issue_books(campaign, season)
    (book,) = season.books
    (cash,) = season.cash
    assert (book.collector, book.first, book.last) == ("刘会计", 1001, 1100)
    checked = import_payments(
        path=cash.path, campaign=campaign, channel="cash", dry_run=True, actor=staff()
    )
    assert checked.errors == [] and checked.rows == cash.lines == book.used > 0
    # Daligang's notice has no bank withholding.
    assert season.agreements is None
    assert Payment.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("as_admin")
def test_the_money_in_the_files_is_the_money_recorded(tmp_path: Path) -> None:
    campaign = preset_campaign(tmp_path, "daligang-2020")
    season = season_of(campaign, "daligang-2020", tmp_path / "season")
    import_all(campaign, season)

    recorded = Payment.objects.filter(campaign=campaign).aggregate(s=Sum("amount_fen"))["s"]
    assert file_fen(season) == recorded == season.file_fen


@pytest.mark.django_db
@pytest.mark.usefixtures("as_admin")
def test_a_withholding_round_trip_records_the_successes_of_the_returns(tmp_path: Path) -> None:
    """Wuming's residents pay by bank withholding: agreements, a deduction, the bank's return
    with failures, a retry of the insufficient balances."""
    campaign = preset_campaign(tmp_path, "wuming-2018")
    season = season_of(campaign, "wuming-2018", tmp_path / "season")
    assert season.tax_days == () and season.cash == () and season.agreements is not None
    assert not import_agreements(path=season.agreements, actor=staff()).errors
    plan = PRESET_SEASONS["wuming-2018"].plan.withholding
    assert plan is not None
    batch = create_batch(campaign=campaign, out=tmp_path / "batch1.csv", actor=staff())
    first = write_withholding_return(
        batch_file=tmp_path / "batch1.csv",
        out=tmp_path / "return1.csv",
        paid_on=plan.first_day,
        seed=SEED,
    )
    assert not import_returns(path=first.path, campaign=campaign, actor=staff()).errors
    retry = create_retry(campaign=campaign, out=tmp_path / "batch2.csv", actor=staff())
    second = write_withholding_return(
        batch_file=tmp_path / "batch2.csv",
        out=tmp_path / "return2.csv",
        paid_on=plan.retry_day,
        seed=SEED,
        failures=False,
    )
    assert not import_returns(path=second.path, campaign=campaign, actor=staff()).errors
    for proxy in season.proxy:
        assert not import_payments(
            path=proxy.path, campaign=campaign, channel="proxy", funder=proxy.funder, actor=staff()
        ).errors

    returned = [r for path in (first.path, second.path) for r in rows(path)]
    withheld = sum(int(r["金额（分）"]) for r in returned if r["返回码"] == "0000")
    recorded = Payment.objects.filter(campaign=campaign).aggregate(s=Sum("amount_fen"))["s"]
    assert file_fen(season) + withheld == recorded
    assert withheld == first.success_fen + second.success_fen
    assert batch.lines == first.lines == season.agreement_count
    assert retry.lines == first.codes["1001"] == second.lines
    assert set(first.codes) == {"0000", "1001", "1002", "1004"}
    assert first.codes["1002"] == first.codes["1004"] == 1 and second.codes == {"0000": retry.lines}
    withholding = Payment.objects.filter(campaign=campaign, channel=Channel.WITHHOLDING)
    assert withholding.aggregate(s=Sum("amount_fen"))["s"] == withheld
    assert set(withholding.values_list("paid_on", flat=True)) == {plan.first_day, plan.retry_day}


@pytest.mark.django_db
@pytest.mark.usefixtures("as_admin")
def test_its_faults_show_as_suspense_and_as_one_bank_difference(tmp_path: Path) -> None:
    campaign = preset_campaign(tmp_path, "daligang-2020")
    season = season_of(campaign, "daligang-2020", tmp_path / "season")
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
    assert Payment.objects.get(key=partial.key).amount_fen == partial.amount_fen == 20000

    short = season.bank_short
    assert short is not None
    for day in season.tax_days:
        result = reconcile_day(
            campaign=campaign,
            day=day.day,
            tax_file=day.path,
            bank_file=day.bank_file,
            actor=staff(),
        )
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
@pytest.mark.usefixtures("as_admin")
def test_where_villages_collect_cash_the_faults_come_with_the_cash(tmp_path: Path) -> None:
    """Songming's villages collect 120 yuan a person in cash, by household: a receipt book per
    village, a register per township; the faults are on the cash."""
    campaign = preset_campaign(tmp_path, "songming-2016", residents=2400)
    season = season_of(campaign, "songming-2016", tmp_path / "season")
    assert season.tax_days == () and season.agreements is None
    villages = {row["村(社区)代码"] for row in rows_plain(tmp_path / "county" / "residents.csv")}
    assert {book.village_code for book in season.books} == villages and len(villages) > 1
    assert len(season.cash) == len({code[:9] for code in villages})
    import_all(campaign, season)

    recorded = Payment.objects.filter(campaign=campaign).aggregate(s=Sum("amount_fen"))["s"]
    assert file_fen(season) == recorded == season.file_fen
    held = {
        (s.reason, (s.resident or s.payment).id_number)  # type: ignore[union-attr]
        for s in Suspense.objects.filter(resolved_at__isnull=True).select_related(
            "resident", "payment"
        )
    }
    assert held == {(f.kind, f.id_number) for f in season.faults}
    partial = next(f for f in season.faults if f.kind == "partial")
    assert partial.amount_fen == 12000 - 5000
    cash_days = PRESET_SEASONS["songming-2016"].plan.cash
    assert cash_days is not None
    paid_on = set(Payment.objects.filter(channel=Channel.CASH).values_list("paid_on", flat=True))
    assert paid_on <= set(cash_days.days) and max(paid_on) <= date(2015, 10, 25)


def rows_plain(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.mark.django_db
@pytest.mark.usefixtures("as_admin")
def test_the_same_seed_writes_the_same_files_and_another_seed_others(tmp_path: Path) -> None:
    campaign = preset_campaign(tmp_path, "daligang-2020")
    one = season_of(campaign, "daligang-2020", tmp_path / "one")
    again = season_of(campaign, "daligang-2020", tmp_path / "again")
    other = season_of(campaign, "daligang-2020", tmp_path / "other", seed=SEED + 1)
    paths = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert paths == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in paths:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert one.tax_days[0].path.read_bytes() != other.tax_days[0].path.read_bytes()
    assert one.file_fen == again.file_fen
