"""The fund summary (基金筹集情况): personal contributions received by channel, the departments'
subsidies owed and received, the fiscal subsidy per head and in total, and the banks' transfers
to the fiscal special account.

Every figure is read from the collection's own readers: the payments per day and channel
(``money_totals``), each funder's bill (``funder_bill``, from the ledger's assessment shares and
``FUNDER_PAID_SQL``), the accounting equation (``check_ledger``) and the banks' credits. With a
day, payments, credits and enrollments count up to that day; the bills and the ledger are as
they stand now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Sum

from canbao.campaigns.models import AssessmentShare, Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.collection.bills import funder_bill
from canbao.collection.ledger import LedgerCheck, check_ledger
from canbao.collection.models import BankCredit, Channel, Enrollment, Payment
from canbao.collection.selectors import money_totals
from canbao.policy.codes import FUNDER_NAMES

__all__ = ["ChannelFunds", "FundSummary", "FunderFunds", "fund_summary"]


@dataclass(frozen=True)
class ChannelFunds:
    channel: str
    label: str
    payments: int
    received_fen: int
    reversed_fen: int  # negative, as recorded

    @property
    def net_fen(self) -> int:
        return self.received_fen + self.reversed_fen


@dataclass(frozen=True)
class FunderFunds:
    funder: str
    name: str
    persons: int
    owed_fen: int
    received_fen: int
    unattributed_fen: int  # paid for persons the registry does not know

    @property
    def balance_fen(self) -> int:
        return self.owed_fen - self.received_fen


@dataclass(frozen=True)
class BankTransfer:
    bank: str
    days: int
    count: int
    fen: int


@dataclass(frozen=True)
class FundSummary:
    campaign: Campaign
    as_of: date | None
    personal_fen_each: int
    fiscal_fen_each: int | None  # None while the policy has not announced it
    enrolled: int
    personal: list[ChannelFunds]  # the person's own money (every channel but proxy)
    subsidies: list[FunderFunds]
    transfers: list[BankTransfer]
    ledger: LedgerCheck

    @property
    def personal_net_fen(self) -> int:
        return sum(c.net_fen for c in self.personal)

    @property
    def fiscal_fen(self) -> int | None:
        return None if self.fiscal_fen_each is None else self.fiscal_fen_each * self.enrolled

    @property
    def transferred_fen(self) -> int:
        return sum(t.fen for t in self.transfers)

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.pk,
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "personal_fen_each": self.personal_fen_each,
            "fiscal_fen_each": self.fiscal_fen_each,
            "enrolled": self.enrolled,
            "fiscal_fen": self.fiscal_fen,
            "personal": [
                {
                    "channel": c.channel,
                    "label": c.label,
                    "payments": c.payments,
                    "received_fen": c.received_fen,
                    "reversed_fen": c.reversed_fen,
                    "net_fen": c.net_fen,
                }
                for c in self.personal
            ],
            "personal_net_fen": self.personal_net_fen,
            "subsidies": [
                {
                    "funder": f.funder,
                    "name": f.name,
                    "persons": f.persons,
                    "owed_fen": f.owed_fen,
                    "received_fen": f.received_fen,
                    "balance_fen": f.balance_fen,
                    "unattributed_fen": f.unattributed_fen,
                }
                for f in self.subsidies
            ],
            "transfers": [
                {"bank": t.bank, "days": t.days, "count": t.count, "fen": t.fen}
                for t in self.transfers
            ],
            "transferred_fen": self.transferred_fen,
            "ledger": {
                "balanced": self.ledger.balanced,
                "received_fen": self.ledger.received_fen,
                "enrolled_fen": self.ledger.enrolled_fen,
                "held_fen": self.ledger.held_fen,
                "reversed_fen": self.ledger.reversed_fen,
                "unbalanced": len(self.ledger.unbalanced),
            },
        }


def fund_summary(*, campaign: Campaign, as_of: date | None = None) -> FundSummary:
    policy = campaign_policy(campaign)
    labels = dict(Channel.choices)
    channels: dict[str, list[int]] = {}
    for row in money_totals(campaign=campaign):
        if as_of is not None and date.fromisoformat(row["day"]) > as_of:
            continue
        totals = channels.setdefault(row["channel"], [0, 0, 0])
        totals[0] += row["count"]
        totals[1] += row["received_fen"]
        totals[2] += row["reversed_fen"]
    personal = [
        ChannelFunds(code, labels[code], *channels[code])
        for code in Channel.values
        if code in channels and code != Channel.PROXY
    ]
    funders = set(
        AssessmentShare.objects.filter(assessment__campaign=campaign).values_list(
            "funder", flat=True
        )
    )
    funders |= set(
        Payment.objects.filter(campaign=campaign, channel=Channel.PROXY).values_list(
            "funder", flat=True
        )
    )
    subsidies = []
    for funder in sorted(funders & set(FUNDER_NAMES), key=list(FUNDER_NAMES).index):
        bill = funder_bill(campaign, funder)
        subsidies.append(
            FunderFunds(
                funder,
                bill.funder_name,
                bill.total.persons,
                bill.total.fen,
                bill.total.received_fen,
                bill.unattributed_fen,
            )
        )
    credits = BankCredit.objects.filter(campaign=campaign)
    enrollments = Enrollment.objects.filter(campaign=campaign)
    if as_of is not None:
        credits = credits.filter(day__lte=as_of)
        enrollments = enrollments.filter(enrolled_on__lte=as_of)
    transfers = [
        BankTransfer(bank, days, int(count or 0), int(fen or 0))
        for bank, days, count, fen in credits.values_list("bank")
        .annotate(days=Count("day"), n=Sum("count"), fen=Sum("amount_fen"))
        .order_by("bank")
    ]
    fiscal = policy.contribution.fiscal_subsidy_fen
    return FundSummary(
        campaign=campaign,
        as_of=as_of,
        personal_fen_each=policy.contribution.personal_fen,
        fiscal_fen_each=None if fiscal == "pending" else fiscal,
        enrolled=enrollments.count(),
        personal=personal,
        subsidies=subsidies,
        transfers=transfers,
        ledger=check_ledger(campaign),
    )
