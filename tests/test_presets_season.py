"""A whole season under each of the five presets, as `canbao demo --preset P` runs it (registry,
rosters, assessment, the notice's own channels, withholding for Wuming, reconciliation where
the tax bureau reports daily, bills), on a small county of the preset's own area. At the end the
enrollments are those the files pay for, and every fen in the files is recorded."""

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from canbao.campaigns.models import Assessment, AssessmentShare, Campaign
from canbao.collection.ledger import check_ledger
from canbao.collection.models import Enrollment, Payment, Suspense
from canbao.collection.selectors import money_summary
from canbao.demo.plans import PRESET_SEASONS
from canbao.demo.policies import assumed_amounts, demo_policy
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.loader import parse_policy_text
from canbao.policy.quote import Facts, quote

RESIDENTS = 400
SEED = 11
# The channels each notice uses.
CHANNELS = {
    "songming-2016": {"cash", "proxy"},
    "wuming-2018": {"withholding", "proxy"},
    "daligang-2020": {"tax", "cash", "proxy"},
    "chuxiong-2021": {"tax", "proxy"},
    "dazhu-2022": {"tax", "proxy"},
}
# The personal contribution each notice states, in fen.
PERSONAL_FEN = {
    "songming-2016": 12000,
    "wuming-2018": 18000,
    "daligang-2020": 25000,
    "chuxiong-2021": 28000,
    "dazhu-2022": 32000,
}


def run_demo(preset: str) -> str:
    out = io.StringIO()
    call_command("demo", "--residents", str(RESIDENTS), "--seed", str(SEED), "--preset", preset,
                 "--no-serve", stdout=out)  # fmt: skip
    return out.getvalue()


def rows(path: Path, *, titled: bool = True) -> list[dict[str, str]]:
    """A file's data rows; the season's files have a title row above the header, the deduction
    files Canbao writes do not."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        if titled:
            next(stream)
        return list(csv.DictReader(stream))


def fen(row: dict[str, str]) -> int:
    if "金额（分）" in row:
        return int(row["金额（分）"])
    return int(Decimal(row["金额（元）"]) * 100)


class Paid:
    """What the season's files pay, read from the files: by ID number, the person's own money
    (tax, cash, withholding successes) and each department's."""

    def __init__(self, folder: Path) -> None:
        self.person: dict[str, int] = defaultdict(int)
        self.funder: dict[tuple[str, str], int] = defaultdict(int)
        self.total = 0
        for path in sorted(folder.glob("*.csv")):
            name = path.name
            if "（重发）" in name:
                continue
            if name.startswith(("税务缴费明细", "现金收款登记")):
                for row in rows(path):
                    self.add(row["公民身份号码"], fen(row))
            elif name.endswith("代缴明细.csv"):
                for row in rows(path):
                    self.add(row["公民身份号码"], fen(row), row["代缴部门"])
            elif name.startswith("代扣回盘"):
                sent = {
                    (row["批次号"], row["行号"]): row["公民身份号码"]
                    for row in rows(folder / name.replace("回盘", "批次"), titled=False)
                }
                for row in rows(path):
                    if row["返回码"] == "0000":
                        self.add(sent[row["批次号"], row["行号"]], fen(row))

    def add(self, id_number: str, amount: int, funder_name: str = "") -> None:
        self.total += amount
        if funder_name:
            self.funder[id_number, funder_name] += amount
        else:
            self.person[id_number] += amount


def expected_enrolled(campaign: Campaign, paid: Paid) -> set[str]:
    """Who the files enroll: an eligible resident whose own payments reach the payable amount,
    or, fully subsidised, whose every department paid its share."""
    shares: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for assessment_id, funder, share_fen in AssessmentShare.objects.filter(
        assessment__campaign=campaign
    ).values_list("assessment_id", "funder", "fen"):
        shares[assessment_id].append((FUNDER_NAMES[funder], share_fen))
    enrolled = set()
    for pk, id_number, payable in Assessment.objects.filter(
        campaign=campaign, eligible=True, payable_fen__isnull=False
    ).values_list("pk", "resident__id_number", "payable_fen"):
        if payable > 0:
            pays = paid.person[id_number] >= payable
        else:
            pays = all(paid.funder[id_number, name] >= share for name, share in shares[pk])
        if pays:
            enrolled.add(id_number)
    return enrolled


@pytest.mark.django_db
@pytest.mark.parametrize("preset", sorted(PRESET_SEASONS))
def test_a_whole_season_runs_under_every_preset(preset: str, tmp_path: Path, settings: Any) -> None:
    settings.DATA_DIR = tmp_path / "canbao"
    plan = PRESET_SEASONS[preset]
    out = run_demo(preset)
    season = out.split("== 参保缴费")[1]
    assert "未执行" not in season and "模拟县人数太少" not in season
    assert ("以下金额为演示假设" in season) == bool(demo_policy(preset).file_name)
    assert "$ canbao check ledger --campaign" in season and "\n  账目平衡：收到 " in season

    campaign = Campaign.objects.get(area__code=plan.county.code)
    assert campaign.policy_id.startswith(preset)
    ordinary = Assessment.objects.filter(campaign=campaign, eligible=True, categories="")
    assert set(ordinary.values_list("personal_fen", "payable_fen")) == {
        (PERSONAL_FEN[preset], PERSONAL_FEN[preset])
    }
    assert not Assessment.objects.filter(campaign=campaign, eligible=True, payable_fen=None)

    folder = tmp_path / "canbao" / "demo" / f"{preset}-{SEED}-{RESIDENTS}" / "season"
    paid = Paid(folder)
    enrolled = set(
        Enrollment.objects.filter(campaign=campaign).values_list("resident__id_number", flat=True)
    )
    expected = expected_enrolled(campaign, paid)
    assert enrolled == expected and len(enrolled) > RESIDENTS // 2

    payments = Payment.objects.filter(campaign=campaign)
    assert payments.aggregate(s=Sum("amount_fen"))["s"] == paid.total
    assert set(payments.values_list("channel", flat=True)) == CHANNELS[preset]
    # Every payment is made inside the concentrated window of a household (or person) enrolling
    # as the policy enrolls: an ordinary resident paying that day is covered from 1 January.
    policy = demo_policy(preset).policy
    for day in set(payments.values_list("paid_on", flat=True)):
        q = quote(policy, Facts(), day)
        assert q.rule is not None and q.rule.concentrated, (day, q.explain)
    funders = {
        share.funder
        for category in policy.identity.categories
        if category.subsidy is not None
        for share in category.subsidy.funders
    }
    assert set(payments.filter(channel="proxy").values_list("funder", flat=True)) <= funders
    summary = money_summary(campaign=campaign)
    assert summary["net_fen"] == paid.total and summary["enrolled"] == len(expected)
    # The accounting equation, per resident and in total: received = enrolled + held + reversed.
    ledger = check_ledger(campaign)
    assert ledger.balanced, ledger.unbalanced
    assert (ledger.received_fen, ledger.reversed_fen) == (paid.total, 0)
    # Held: the money of persons not in the registry, of persons short of their amount, and
    # what a person paid beyond it.
    payable = dict(
        Assessment.objects.filter(campaign=campaign).values_list(
            "resident__id_number", "payable_fen"
        )
    )
    expected_held = sum(
        amount
        if id_number not in payable or amount < payable[id_number]
        else amount - payable[id_number]
        for id_number, amount in paid.person.items()
        if id_number not in payable or amount != payable[id_number]
    )
    held = Suspense.objects.filter(campaign=campaign, resolved_at__isnull=True)
    assert sum(held.values_list("amount_fen", flat=True)) == expected_held == ledger.held_fen
    reasons = sorted(held.values_list("reason", flat=True))
    if plan.plan.tax or plan.plan.cash:  # the faults planted in the person channel
        assert reasons == ["excess", "partial", "unknown_person"]
    else:
        assert reasons == [] and expected_held == 0

    count = payments.count()
    again = run_demo(preset).split("== 参保缴费")[1]
    assert not re.search(r"新入账 \d+ 笔", again)
    assert payments.count() == count
    assert (
        set(
            Enrollment.objects.filter(campaign=campaign).values_list(
                "resident__id_number", flat=True
            )
        )
        == enrolled
    )


@pytest.mark.parametrize("preset", sorted(PRESET_SEASONS))
def test_a_demo_policy_file_states_what_the_notice_leaves_pending(preset: str) -> None:
    demo = demo_policy(preset)
    if demo.file_name:
        assert demo.policy.id == f"{preset}-demo" and demo.assumptions and not demo.pending
    else:  # Daligang's pending fiscal subsidy is needed only by status-change payers
        assert demo.policy is demo.preset and demo.pending == ("财政补助标准",)


def test_a_demo_policy_file_may_change_nothing_but_pending_amounts() -> None:
    demo = demo_policy("wuming-2018")
    assert "财政补助：每人每年 490 元" in demo.assumptions
    changed = parse_policy_text(
        demo.text.replace("personal_fen = 18000", "personal_fen = 20000"), "changed.toml"
    )
    with pytest.raises(ValueError, match="contribution"):
        assumed_amounts(demo.preset, changed)
