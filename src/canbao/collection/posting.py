"""Posting: writing what the settlement rule makes of residents' payments.

Enrollment, the held amounts (suspense) and the assessment's freeze are state derived from the
payments by ``canbao.collection.settlement.settle``; they are written again whenever a payment or
a reversal changes a resident's money. Two ways lead there, with one rule:

- ``apply_payments``: any set of residents, one at a time (all their payments read, settled,
  and the difference to what is written made good);
- ``post_common``: the common case of a large payment file, set-based. A known resident with no
  earlier payment and no enrollment, whose new person-channel payments are one payment or add
  up to no more than the payable amount, is settled as a class with every resident of equal
  facts, day and amounts: the rule runs once per class and SQL writes its outcome for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from canbao.campaigns.models import Assessment, AssessmentShare, Campaign
from canbao.campaigns.quotes import QuoteBook
from canbao.campaigns.selectors import campaign_policy
from canbao.campaigns.services import freeze
from canbao.collection.models import Enrollment, Payment, Suspense
from canbao.collection.settlement import Hold, Paid, Settlement, Terms, settle
from canbao.policy.keys import birth_matters_from
from canbao.policy.schema import Policy
from canbao.registry.batches import StageSpec
from canbao.registry.models import Resident

__all__ = ["ApplyOutcome", "apply_payments", "post_common"]

APPLY_CHUNK = 5_000


@dataclass
class ApplyOutcome:
    enrolled: int = 0
    withdrawn: int = 0
    suspended: dict[str, int] = field(default_factory=dict)
    resolved: int = 0

    def add(self, other: ApplyOutcome) -> None:
        self.enrolled += other.enrolled
        self.withdrawn += other.withdrawn
        self.resolved += other.resolved
        self.count(other.suspended)

    def count(self, suspended: dict[str, int]) -> None:
        for reason, number in suspended.items():
            self.suspended[reason] = self.suspended.get(reason, 0) + number


# --- one resident at a time ------------------------------------------------------------------


@dataclass(frozen=True)
class _Assessed:
    pk: int
    terms: Terms
    categories: list[str]
    frozen: bool


def apply_payments(
    *, campaign: Campaign, resident_ids: Sequence[int], now: datetime, actor: AbstractBaseUser
) -> ApplyOutcome:
    """Settle these residents again from all their payments and write the difference: the
    enrollment made, changed or withdrawn, holds opened or resolved (with the reason why), the
    assessment frozen at the first money counted against it, unfrozen when none is left."""
    out = ApplyOutcome()
    if not resident_ids:
        return out
    book = QuoteBook(campaign_policy(campaign))
    ids = sorted(set(resident_ids))
    who = actor.get_username()
    for start in range(0, len(ids), APPLY_CHUNK):
        out.add(_apply_chunk(campaign, book, ids[start : start + APPLY_CHUNK], now, who))
    return out


def _apply_chunk(
    campaign: Campaign, book: QuoteBook, ids: list[int], now: datetime, username: str
) -> ApplyOutcome:
    assessed = _assessments(campaign, ids)
    people = {
        row[0]: row[1:]
        for row in Resident.objects.filter(pk__in=ids).values_list(
            "pk", "birth_date", "employee_insured", "insured_elsewhere", "id_type"
        )
    }
    live = _live_payments(campaign, ids)
    settled: dict[int, Settlement] = {}
    for resident_id in ids:
        a = assessed.get(resident_id)
        birth_date, employee, elsewhere, id_type = people[resident_id]
        quotes = book.resident(
            birth_date=birth_date,
            categories=a.categories if a is not None else [],
            employee_insured=employee,
            insured_elsewhere=elsewhere,
            id_type=id_type,
        )
        paid = live.get(resident_id, [])
        settled[resident_id] = settle(a.terms if a is not None else None, paid, quotes.at)

    freeze(
        assessment_ids=[a.pk for r, a in assessed.items() if settled[r].freeze and not a.frozen],
        at=now,
    )
    thaw = [a.pk for r, a in assessed.items() if a.frozen and r not in live]
    if thaw:
        Assessment.objects.filter(pk__in=thaw).update(frozen_at=None)
    out = _write_enrollments(campaign, settled)
    out.add(_write_holds(campaign, settled, live, now, username))
    return out


def _assessments(campaign: Campaign, ids: list[int]) -> dict[int, _Assessed]:
    shares: dict[int, dict[str, int]] = {}
    for assessment_id, funder, fen in AssessmentShare.objects.filter(
        assessment__campaign=campaign, assessment__resident_id__in=ids
    ).values_list("assessment_id", "funder", "fen"):
        shares.setdefault(assessment_id, {})[funder] = fen
    found: dict[int, _Assessed] = {}
    for row in Assessment.objects.filter(campaign=campaign, resident_id__in=ids).values_list(
        "pk",
        "resident_id",
        "eligible",
        "refusal",
        "categories",
        "payable_fen",
        "subsidy_fen",
        "pending",
        "frozen_at",
    ):
        pk, resident_id, eligible, refusal, categories, payable, subsidy, pending, frozen = row
        terms = Terms(eligible, refusal, payable, subsidy, shares.get(pk, {}), pending)
        found[resident_id] = _Assessed(
            pk, terms, [c for c in categories.split(",") if c], frozen is not None
        )
    return found


def _live_payments(campaign: Campaign, ids: list[int]) -> dict[int, list[Paid]]:
    """Each resident's payments neither reversed nor reversals, in the order paid."""
    rows = Payment.objects.filter(campaign=campaign, resident_id__in=ids).values_list(
        "resident_id", "pk", "channel", "paid_on", "amount_fen", "funder", "reverses_id"
    )
    # Sorted here, not by the database: an ORDER BY paid_on lets SQLite walk the whole
    # campaign's (campaign, paid_on) index once per chunk instead of looking up the residents.
    rows_sorted = sorted(rows, key=lambda row: (row[3], row[1]))
    reversed_ids = {row[6] for row in rows_sorted if row[6] is not None}
    live: dict[int, list[Paid]] = {}
    for resident_id, pk, channel, paid_on, amount, funder, reverses_id in rows_sorted:
        if reverses_id is None and pk not in reversed_ids:
            live.setdefault(resident_id, []).append(Paid(channel, paid_on, amount, funder))
    return live


def _write_enrollments(campaign: Campaign, settled: dict[int, Settlement]) -> ApplyOutcome:
    out = ApplyOutcome()
    existing = {
        row[1]: (row[0], tuple(row[2:]))
        for row in Enrollment.objects.filter(
            campaign=campaign, resident_id__in=list(settled)
        ).values_list(
            "pk", "resident_id", "paid_fen", "enrolled_on", "coverage_start", "coverage_end", "rule"
        )
    }
    stale: list[int] = []
    fresh: list[tuple[Any, ...]] = []
    for resident_id, result in settled.items():
        e = result.enrollment
        wanted = (e.fen, e.on, e.coverage_start, e.coverage_end, e.rule) if e is not None else None
        have = existing.get(resident_id)
        if (have[1] if have is not None else None) == wanted:
            continue
        if have is not None:
            stale.append(have[0])
            out.withdrawn += wanted is None
        if wanted is not None:
            fresh.append((campaign.pk, resident_id, *wanted))
            out.enrolled += have is None
    if stale:
        Enrollment.objects.filter(pk__in=stale).delete()
    if fresh:
        with connection.cursor() as cursor:
            cursor.executemany(
                """INSERT INTO collection_enrollment (campaign_id, resident_id, paid_fen,
                  enrolled_on, coverage_start, coverage_end, rule)
                VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                fresh,
            )
    return out


def _write_holds(
    campaign: Campaign,
    settled: dict[int, Settlement],
    live: dict[int, list[Paid]],
    now: datetime,
    username: str,
) -> ApplyOutcome:
    """Open the holds newly wanted, keep those that still hold, resolve the rest."""
    out = ApplyOutcome()
    open_rows: dict[int, list[tuple[int, Hold]]] = {}
    for pk, resident_id, reason, fen, message in Suspense.objects.filter(
        campaign=campaign,
        resident_id__in=list(settled),
        payment__isnull=True,
        resolved_at__isnull=True,
    ).values_list("pk", "resident_id", "reason", "amount_fen", "message"):
        open_rows.setdefault(resident_id, []).append((pk, Hold(reason, fen, message)))
    resolutions: dict[str, list[int]] = {}
    fresh: list[Suspense] = []
    for resident_id, result in settled.items():
        wanted = list(result.holds)
        for pk, hold in open_rows.get(resident_id, []):
            if hold in wanted:
                wanted.remove(hold)
            else:
                text = _resolution(result, resident_id in live)
                resolutions.setdefault(text, []).append(pk)
        fresh.extend(
            Suspense(
                campaign=campaign,
                resident_id=resident_id,
                reason=hold.reason,
                amount_fen=hold.fen,
                message=hold.message,
                created_at=now,
            )
            for hold in wanted
        )
    for text, pks in resolutions.items():
        out.resolved += Suspense.objects.filter(pk__in=pks).update(
            resolved_at=now, resolved_by=username, resolution=text
        )
    Suspense.objects.bulk_create(fresh, batch_size=1000)
    out.count(_by_reason(row.reason for row in fresh))
    return out


def _resolution(result: Settlement, has_money: bool) -> str:
    if not has_money:
        return "缴费已全部冲正，不再挂账"
    if result.enrollment is not None and not result.holds:
        return f"已缴足，{result.enrollment.on.isoformat()}缴清参保"
    if result.holds:
        labels = "、".join(dict.fromkeys(Suspense.Reason(h.reason).label for h in result.holds))
        return f"已重新核对，改为：{labels}"
    return "已重新核对，不再挂账"


def _by_reason(reasons: Any) -> dict[str, int]:
    counted: dict[str, int] = {}
    for reason in reasons:
        counted[str(reason)] = counted.get(str(reason), 0) + 1
    return counted


# --- the common case, set-based --------------------------------------------------------------

NO_DAY = date(1, 1, 1)  # the birth date of a class whose members' birth dates do not matter
COMMON = StageSpec(
    name="canbao_stage_common",
    columns=(
        ("resident_id", "bigint"),
        ("assessment_id", "bigint"),
        ("payable_fen", "bigint"),
        ("subsidy_fen", "bigint"),
        ("paid_fen", "bigint"),
        ("paid_on", "date"),
        ("categories", "varchar(300)"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
        ("id_type", "varchar(40)"),
        ("born", "date"),
        ("birth_date", "date"),
    ),
)
_CLASS = (
    "categories",
    "born",
    "employee_insured",
    "insured_elsewhere",
    "id_type",
    "paid_on",
    "payable_fen",
    "subsidy_fen",
    "paid_fen",
)
OUTCOMES = StageSpec(
    name="canbao_stage_outcomes",
    columns=(
        ("categories", "varchar(300)"),
        ("born", "date"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
        ("id_type", "varchar(40)"),
        ("paid_on", "date"),
        ("payable_fen", "bigint"),
        ("subsidy_fen", "bigint"),
        ("paid_fen", "bigint"),
        ("enrolled_fen", "bigint"),
        ("enrolled_on", "date"),
        ("coverage_start", "date"),
        ("coverage_end", "date"),
        ("rule", "varchar(100)"),
        ("reason", "varchar(20)"),
        ("held_fen", "bigint"),
        ("message", "varchar(300)"),
    ),
    indexes=(_CLASS,),
)
SETTLED = "canbao_stage_settled"


def post_common(
    cursor: Any, *, campaign: Campaign, payments: str, matches: str, now: datetime
) -> tuple[ApplyOutcome, str]:
    """Settle the common case among staged new payments (``payments``: line, amount_fen,
    paid_on; ``matches``: line, resident_id, birth_date, employee_insured, insured_elsewhere,
    id_type), before they are written. Returns the outcome and the name of a temporary table
    listing the residents settled (column resident_id), to leave out of ``apply_payments``."""
    policy = campaign_policy(campaign)
    out = ApplyOutcome()
    cursor.execute(f"DROP TABLE IF EXISTS {SETTLED}")
    if not _stage_common(cursor, campaign, policy, payments, matches):
        cursor.execute(f"CREATE TEMPORARY TABLE {SETTLED} (resident_id bigint)")
        return out, SETTLED
    _settle_classes(cursor, policy)
    same = " AND ".join(f"c.{name} = t.{name}" for name in _CLASS)
    cursor.execute(
        f"""CREATE TEMPORARY TABLE {SETTLED} AS
        SELECT t.resident_id, t.assessment_id, c.enrolled_fen, c.enrolled_on, c.coverage_start,
          c.coverage_end, c.rule, c.reason, c.held_fen, c.message
        FROM {COMMON.name} t JOIN {OUTCOMES.name} c ON {same}"""
    )
    cursor.execute(f"CREATE INDEX {SETTLED}_0 ON {SETTLED} (resident_id)")
    cursor.execute(f"ANALYZE {SETTLED}")
    cursor.execute(
        f"""INSERT INTO collection_enrollment (campaign_id, resident_id, paid_fen,
          enrolled_on, coverage_start, coverage_end, rule)
        SELECT %s, resident_id, enrolled_fen, enrolled_on, coverage_start, coverage_end, rule
        FROM {SETTLED} WHERE enrolled_fen IS NOT NULL ORDER BY resident_id""",
        [campaign.pk],
    )
    out.enrolled = cursor.rowcount
    cursor.execute(
        f"""INSERT INTO collection_suspense (campaign_id, resident_id, payment_id, reason,
          amount_fen, message, created_at, resolved_at, resolved_by, resolution)
        SELECT %s, resident_id, NULL, reason, held_fen, message, %s, NULL, '', ''
        FROM {SETTLED} WHERE reason IS NOT NULL ORDER BY resident_id""",
        [campaign.pk, now],
    )
    if cursor.rowcount:
        cursor.execute(
            f"SELECT reason, COUNT(*) FROM {SETTLED} WHERE reason IS NOT NULL GROUP BY reason"
        )
        out.count({str(reason): int(count) for reason, count in cursor.fetchall()})
    cursor.execute(
        f"""UPDATE campaigns_assessment SET frozen_at = %s
        WHERE frozen_at IS NULL AND id IN (SELECT assessment_id FROM {SETTLED})""",
        [now],
    )
    for table in (COMMON, OUTCOMES):
        table.drop(cursor)
    return out, SETTLED


def _stage_common(
    cursor: Any, campaign: Campaign, policy: Policy, payments: str, matches: str
) -> bool:
    """Stage the residents of the common case; whether there are any."""
    aged = sorted(policy.identity.aged_categories())
    # The categories are stored comma-separated.
    like = "".join(" OR (',' || a.categories || ',') LIKE %s ESCAPE '!'" for _ in aged)
    patterns = [
        "%," + code.replace("!", "!!").replace("_", "!_").replace("%", "!%") + ",%" for code in aged
    ]
    # Declared column types (not CREATE TABLE AS): SQLite joins on columns of equal affinity.
    COMMON.create(cursor)
    cursor.execute(
        f"""INSERT INTO {COMMON.name} ({", ".join(name for name, _ in COMMON.columns)})
        SELECT g.resident_id, a.id, a.payable_fen, a.subsidy_fen, g.paid_fen, g.paid_on,
          a.categories, g.employee_insured, g.insured_elsewhere, g.id_type,
          CASE WHEN g.birth_date >= %s{like} THEN g.birth_date ELSE %s END,
          g.birth_date
        FROM (SELECT m.resident_id, m.birth_date, m.employee_insured, m.insured_elsewhere,
                m.id_type, SUM(s.amount_fen) AS paid_fen, MAX(s.paid_on) AS paid_on,
                COUNT(*) AS payments
              FROM {payments} s JOIN {matches} m ON m.line = s.line
              WHERE m.resident_id IS NOT NULL
              GROUP BY m.resident_id, m.birth_date, m.employee_insured, m.insured_elsewhere,
                m.id_type) g
        JOIN campaigns_assessment a ON a.campaign_id = %s AND a.resident_id = g.resident_id
        WHERE a.eligible AND a.payable_fen > 0 AND a.subsidy_fen IS NOT NULL
          AND (g.payments = 1 OR g.paid_fen <= a.payable_fen)
          AND NOT EXISTS (SELECT 1 FROM collection_payment p
                          WHERE p.campaign_id = %s AND p.resident_id = g.resident_id)
          AND NOT EXISTS (SELECT 1 FROM collection_enrollment e
                          WHERE e.campaign_id = %s AND e.resident_id = g.resident_id)""",
        [birth_matters_from(policy), *patterns, NO_DAY, campaign.pk, campaign.pk, campaign.pk],
    )
    if not cursor.rowcount:
        return False
    cursor.execute(f"ANALYZE {COMMON.name}")
    return True


def _settle_classes(cursor: Any, policy: Policy) -> None:
    """Run the settlement rule once per class of equal residents: one payment of the class's
    total on its day is settled as the resident's payments are (one payment, or parts that do
    not exceed the payable amount, all completed on the last day if they reach it)."""
    book = QuoteBook(policy)
    names = ", ".join(_CLASS)
    cursor.execute(f"SELECT {names}, MIN(birth_date) FROM {COMMON.name} GROUP BY {names}")
    rows: list[tuple[Any, ...]] = []
    for klass in cursor.fetchall():
        categories, born, employee, elsewhere, id_type, paid_on, payable, subsidy, paid = klass[:9]
        day = _as_date(paid_on)
        assert day is not None
        quotes = book.resident(
            birth_date=_as_date(klass[9] if _as_date(born) == NO_DAY else born),
            categories=[c for c in categories.split(",") if c],
            employee_insured=bool(employee),
            insured_elsewhere=bool(elsewhere),
            id_type=id_type,
        )
        terms = Terms(True, "", int(payable), int(subsidy), {}, "")
        # The channel only matters as "not a department": any person channel will do.
        result = settle(terms, [Paid("tax", day, int(paid))], quotes.at)
        assert len(result.holds) <= 1
        e = result.enrollment
        enrolled = (
            (e.fen, e.on, e.coverage_start, e.coverage_end, e.rule)
            if e is not None
            else (None,) * 5
        )
        hold = result.holds[0] if result.holds else None
        held = (hold.reason, hold.fen, hold.message) if hold is not None else (None,) * 3
        rows.append((*klass[:9], *enrolled, *held))
    OUTCOMES.create(cursor)
    OUTCOMES.load(cursor, rows)
    OUTCOMES.index(cursor)


def _as_date(value: Any) -> date | None:
    """A date as the database returns it (SQLite: ISO text from a derived table)."""
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)
