"""The one settlement rule: what a resident's live payments come to, given the assessment.

``settle`` is pure: it reads no database and writes nothing. The posting code
(``canbao.collection.posting``) feeds it every affected resident's payments and writes what it
returns, one resident at a time or, for the common case, once per class of equal residents.

The rule, in the order it is applied:

- no assessment, not eligible, or an amount the policy has not announced: all the money is held;
- department (proxy) money counts against its funder's share; what exceeds the share, or comes
  from a funder that is not the person's, is held as excess;
- the person's own money (tax, bank, cash, withholding), in the order paid, counts against the
  payable amount: the payment that reaches it, exactly or overshooting, completes the payment and
  only the overshoot is held as excess; a person whose parts stay short has all of them held;
- a person who owes nothing (fully subsidised) is complete when every funder's share is paid;
- the policy's quote for the day of completion decides the coverage; if it refuses (window
  closed, waiting period past the year), all the money is held under its reason.

Whatever the case, the money adds up: the live payments = enrolled + held, to the fen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from canbao.collection.models import Channel, Suspense
from canbao.policy.codes import FUNDER_NAMES, pending_names
from canbao.policy.money import yuan
from canbao.policy.quote import Quote

__all__ = ["Enrolled", "Hold", "Paid", "Settlement", "Terms", "settle"]

Reason = Suspense.Reason


@dataclass(frozen=True)
class Terms:
    """What the assessment says the resident owes."""

    eligible: bool
    refusal: str
    payable_fen: int | None
    subsidy_fen: int | None
    shares: Mapping[str, int]
    pending: str


@dataclass(frozen=True)
class Paid:
    """One live payment (neither reversed nor a reversal), as settlement needs it."""

    channel: str
    paid_on: date
    amount_fen: int
    funder: str = ""


@dataclass(frozen=True)
class Hold:
    """An amount held in suspense, with its reason code and a message for people."""

    reason: str
    fen: int
    message: str


@dataclass(frozen=True)
class Enrolled:
    fen: int
    on: date
    coverage_start: date
    coverage_end: date
    rule: str


@dataclass(frozen=True)
class Settlement:
    enrollment: Enrolled | None = None
    holds: tuple[Hold, ...] = ()
    # The assessment is frozen once money counts against it (it has known amounts).
    freeze: bool = False

    @property
    def held_fen(self) -> int:
        return sum(h.fen for h in self.holds)

    @property
    def enrolled_fen(self) -> int:
        return self.enrollment.fen if self.enrollment is not None else 0


@dataclass
class _Tally:
    holds: list[Hold] = field(default_factory=list)

    def hold(self, reason: str, fen: int, message: str) -> None:
        if fen:
            self.holds.append(Hold(reason, fen, message[:300]))


def settle(
    terms: Terms | None, paid: Sequence[Paid], quote_at: Callable[[date], Quote]
) -> Settlement:
    """Settle a resident's live payments (in the order paid) against the assessment.
    ``quote_at(day)``: the policy's quote for this resident paying on ``day``."""
    total = sum(p.amount_fen for p in paid)
    if not paid:
        return Settlement()
    if terms is None:
        return _all_held(
            Reason.NOT_ASSESSED,
            total,
            "此人尚未核定应缴金额（不在本工作的统筹区，或尚未运行核定），请核实后处理",
        )
    if not terms.eligible:
        return _all_held(Reason.NOT_ELIGIBLE, total, terms.refusal or "不符合参保条件")
    payable, subsidy = terms.payable_fen, terms.subsidy_fen
    if payable is None or subsidy is None:
        return _all_held(
            Reason.PENDING_AMOUNT,
            total,
            f"政策尚未公布此人的应缴金额（待公布：{pending_names(terms.pending) or '金额'}）",
        )
    tally = _Tally()
    proxy_fen, proxy_done_on = _proxy(terms.shares, paid, tally)
    person = [p for p in paid if p.channel != Channel.PROXY]
    person_fen = sum(p.amount_fen for p in person)

    completed_on: date | None = None
    if payable > 0:
        running = 0
        for p in person:
            running += p.amount_fen
            if running >= payable:
                completed_on = p.paid_on
                break
        if completed_on is None:
            short = f"已缴{yuan(person_fen)}元，应缴{yuan(payable)}元"
            tally.hold(Reason.PARTIAL, person_fen, short)
            tally.hold(
                Reason.PARTIAL,
                proxy_fen,
                f"部门已代缴{yuan(proxy_fen)}元，本人应缴{yuan(payable)}元尚未缴足",
            )
            return Settlement(holds=tuple(tally.holds), freeze=True)
        tally.hold(
            Reason.EXCESS,
            person_fen - payable,
            f"{completed_on.isoformat()}已缴足{yuan(payable)}元，"
            f"共缴{yuan(person_fen)}元，多缴{yuan(person_fen - payable)}元",
        )
    else:
        extra = f"此人个人应缴0元，本人所缴{yuan(person_fen)}元为多缴"
        tally.hold(Reason.EXCESS, person_fen, extra)
        if subsidy == 0 or proxy_done_on is None:
            short = f"部门已代缴{yuan(proxy_fen)}元，应代缴{yuan(subsidy)}元"
            tally.hold(Reason.PARTIAL, proxy_fen, short)
            return Settlement(holds=tuple(tally.holds), freeze=True)
        completed_on = proxy_done_on

    q = quote_at(completed_on)
    refused = _refused(q, completed_on)
    if refused is not None:
        tally = _Tally()
        tally.hold(refused[0], total, refused[1])
        return Settlement(holds=tuple(tally.holds), freeze=True)
    assert q.coverage_start is not None and q.coverage_end is not None and q.rule is not None
    enrolled = Enrolled(
        fen=payable + proxy_fen,
        on=completed_on,
        coverage_start=q.coverage_start,
        coverage_end=q.coverage_end,
        rule=q.rule.name[:100],
    )
    return Settlement(enrollment=enrolled, holds=tuple(tally.holds), freeze=True)


def _all_held(reason: str, fen: int, message: str) -> Settlement:
    tally = _Tally()
    tally.hold(reason, fen, message)
    return Settlement(holds=tuple(tally.holds))


def _proxy(
    shares: Mapping[str, int], paid: Sequence[Paid], tally: _Tally
) -> tuple[int, date | None]:
    """Department money applied to the shares (the excess held); the day the last share was
    paid in full, if every share is."""
    covered = dict.fromkeys(shares, 0)
    done_on: date | None = None
    excess: dict[str, int] = {}
    for p in paid:
        if p.channel != Channel.PROXY:
            continue
        if p.funder not in shares:
            excess[p.funder] = excess.get(p.funder, 0) + p.amount_fen
            continue
        room = shares[p.funder] - covered[p.funder]
        applied = min(room, p.amount_fen)
        covered[p.funder] += applied
        if applied < p.amount_fen:
            excess[p.funder] = excess.get(p.funder, 0) + p.amount_fen - applied
        if applied and shares and all(covered[f] == fen for f, fen in shares.items()):
            done_on = p.paid_on
    payers = "、".join(FUNDER_NAMES.get(f, f) for f in shares) or "无"
    for funder, fen in excess.items():
        name = FUNDER_NAMES.get(funder, funder)
        if funder in shares:
            message = f"{name}应代缴{yuan(shares[funder])}元，多代缴{yuan(fen)}元"
        else:
            message = f"{name}不是此人的资助方（此人的资助方：{payers}），代缴{yuan(fen)}元多缴"
        tally.hold(Reason.EXCESS, fen, message)
    return sum(covered.values()), done_on


def _refused(q: Quote, paid_on: date) -> tuple[str, str] | None:
    """Why completing the payment on ``paid_on`` enrolls no one, if it does not."""
    if q.refusal is not None:
        reason = Reason.OUTSIDE_WINDOW if q.refusal.code == "window_closed" else Reason.NOT_ELIGIBLE
        return (reason, q.refusal.message)
    if q.coverage_start is None or q.coverage_end is None or q.rule is None:
        return (
            Reason.OUTSIDE_WINDOW,
            f"{paid_on.isoformat()}缴费，等待期届满已在参保年度之后，本年度不享受待遇",
        )
    return None
