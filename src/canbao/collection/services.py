"""Money as it arrives: recording payments from every channel, applying them to enrollments and
the suspense list, and reversing them.

Payments are append-only (a database trigger refuses UPDATE). Each channel gives each payment a
key of its own (tax transaction id, bank serial, receipt number, withholding batch line,
department batch line); a key already recorded for the campaign and channel is skipped as
unchanged, so the same rows may arrive twice, in one file or in two, and nothing changes.

Recording is set-based: the rows go into a temporary staging table (executemany on SQLite, COPY
on PostgreSQL, as every import does), the resident is matched there, and one INSERT ... SELECT
writes the payments. Enrollment and suspense are then derived per affected resident
(``apply_payments``): they are state, not money, and are recomputed whenever a payment or a
reversal changes a person's totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from canbao.campaigns.models import Assessment, AssessmentShare, Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.campaigns.services import facts_of, freeze
from canbao.collection.models import Channel, Enrollment, Payment, Receipt, Suspense
from canbao.errors import InputError
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan
from canbao.policy.quote import Quote, quote
from canbao.policy.schema import Policy
from canbao.registry.batches import StageSpec, acting_username, record_audit
from canbao.registry.models import ImportBatch, Resident

__all__ = [
    "PERSON_CHANNELS",
    "PaymentError",
    "PaymentRow",
    "RecordOutcome",
    "apply_payments",
    "recheck_held_payments",
    "record_payments",
    "reverse_payment",
]

APPLY_CHUNK = 5_000
KEY_MAX = 90  # leaves room for the "reversal:" prefix within Payment.key's 100 characters
REVERSAL_PREFIX = "reversal:"
PERSON_CHANNELS = frozenset({Channel.TAX, Channel.BANK, Channel.CASH, Channel.WITHHOLDING})
OTHER_ID_TYPES = tuple(t for t in Resident.IdType.values if t != Resident.IdType.RESIDENT_ID)

Reason = Suspense.Reason


class PaymentError(InputError):
    """A payment operation refused as asked (unknown key, reversed twice, conflicting key)."""


@dataclass(frozen=True)
class PaymentRow:
    """One payment as a channel reports it. ``receipt``: a cash receipt already validated and
    claimed by ``canbao.collection.receipts``."""

    key: str
    paid_on: date
    amount_fen: int
    id_number: str
    name: str
    funder: str = ""
    bank: str = ""
    receipt: Receipt | None = None


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
        for reason, count in other.suspended.items():
            self.suspended[reason] = self.suspended.get(reason, 0) + count


@dataclass
class RecordOutcome:
    """What recording did: rows new and already recorded, their money, and what applying the new
    ones changed (enrollments made or withdrawn, suspense rows opened by reason, resolved)."""

    created: int = 0
    unchanged: int = 0
    created_fen: int = 0
    unchanged_fen: int = 0
    enrolled: int = 0
    withdrawn: int = 0
    suspended: dict[str, int] = field(default_factory=dict)
    resolved: int = 0
    # The new rows whose person the registry does not know (line, ID number, name): held.
    unknown: list[tuple[int, str, str]] = field(default_factory=list)

    def take(self, applied: ApplyOutcome) -> None:
        self.enrolled += applied.enrolled
        self.withdrawn += applied.withdrawn
        self.resolved += applied.resolved
        for reason, count in applied.suspended.items():
            self.suspended[reason] = self.suspended.get(reason, 0) + count

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "created_fen": self.created_fen,
            "unchanged_fen": self.unchanged_fen,
            "enrolled": self.enrolled,
            "withdrawn": self.withdrawn,
            "suspended": dict(sorted(self.suspended.items())),
            "resolved": self.resolved,
        }


# --- the staging table shared by record_payments and the channel file imports ---------------

PAYMENT_STAGE = StageSpec(
    name="canbao_stage_payments",
    columns=(
        ("line", "integer"),
        ("pkey", "varchar(100)"),
        ("paid_on", "date"),
        ("amount_fen", "bigint"),
        ("id_number", "varchar(40)"),
        ("name", "varchar(100)"),
        ("funder", "varchar(40)"),
        ("bank", "varchar(60)"),
        ("receipt_id", "bigint"),
        ("state", "varchar(10)"),
    ),
    indexes=(("pkey",), ("line",)),
)
# The registry's resident of each new staged row with a known ID number: written once, beside
# the staging table (rewriting a million staged rows costs more than the lookup itself).
MATCH_STAGE = StageSpec(
    name="canbao_stage_payment_match",
    columns=(
        ("line", "integer"),
        ("candidate_id", "bigint"),
        ("known_name", "varchar(100)"),
        ("resident_id", "bigint"),
        # What the quote of the common case needs of the resident (see _stage_simple).
        ("birth_date", "date"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
        ("id_type", "varchar(40)"),
    ),
    indexes=(("line",),),
)


def staged_row(line: int, row: PaymentRow) -> tuple[Any, ...]:
    """A payment row as the staging table holds it."""
    return (
        line,
        row.key,
        row.paid_on,
        row.amount_fen,
        row.id_number,
        row.name,
        row.funder,
        row.bank,
        row.receipt.pk if row.receipt is not None else None,
        "new",
    )


@dataclass(frozen=True)
class StagedProblem:
    """A staged row that cannot be recorded: the line, the column key, a code, a message."""

    line: int
    column: str
    code: str
    message: str


def staged_problems(cursor: Any, campaign: Campaign, channel: str) -> list[StagedProblem]:
    """Keys repeated within the staged rows, and keys already recorded with other content."""
    s = PAYMENT_STAGE.name
    problems: list[StagedProblem] = []
    cursor.execute(
        f"""SELECT a.line, f.line, a.pkey,
          CASE WHEN a.paid_on = f.paid_on AND a.amount_fen = f.amount_fen
                AND a.id_number = f.id_number AND a.name = f.name AND a.funder = f.funder
               THEN 1 ELSE 0 END
        FROM {s} a
        JOIN (SELECT pkey, MIN(line) AS first_line FROM {s} GROUP BY pkey
              HAVING COUNT(*) > 1) m ON m.pkey = a.pkey
        JOIN {s} f ON f.line = m.first_line
        WHERE a.line <> m.first_line ORDER BY a.line"""
    )
    for line, first_line, key, same in cursor.fetchall():
        what = "内容相同，是重复的行，请删除" if same else "但内容不同，请核对"
        problems.append(
            StagedProblem(
                line, "key", "duplicate_in_file", f"流水号{key}与第{first_line}行重复，{what}。"
            )
        )
    cursor.execute(
        f"""SELECT s.line, s.pkey, p.paid_on, p.amount_fen, p.id_number, p.name, p.batch_id
        FROM {s} s JOIN collection_payment p
          ON p.campaign_id = %s AND p.channel = %s AND p."key" = s.pkey
        WHERE p.paid_on <> s.paid_on OR p.amount_fen <> s.amount_fen
           OR p.id_number <> s.id_number OR p.name <> s.name OR p.funder <> s.funder
        ORDER BY s.line""",
        [campaign.pk, channel],
    )
    for line, key, paid_on, amount, id_number, name, batch_id in cursor.fetchall():
        where = f"批次{batch_id}" if batch_id else "此前"
        problems.append(
            StagedProblem(
                line,
                "key",
                "key_conflict",
                f"流水号{key}已于{where}入账（{paid_on} {name} {id_number} {yuan(amount)}元），"
                "本行内容与之不同：同一流水号不能入账两次，更正请先冲正原记录。",
            )
        )
    return problems


def post_staged(
    cursor: Any,
    *,
    campaign: Campaign,
    channel: str,
    batch: ImportBatch | None,
    username: str,
    now: datetime,
    write: bool = True,
) -> RecordOutcome:
    """Record the staged rows whose key is new, match their residents, hold the unknown ones in
    suspense and apply the rest. With ``write`` false, only count (and list the unknown). The
    caller has checked ``staged_problems`` and holds the transaction."""
    s, m = PAYMENT_STAGE.name, MATCH_STAGE.name
    # Rows are staged as 'new' (staged_row); this rewrites only the rows already recorded.
    cursor.execute(
        f"""UPDATE {s} SET state = 'unchanged' WHERE EXISTS (
          SELECT 1 FROM collection_payment p
          WHERE p.campaign_id = %s AND p.channel = %s AND p."key" = {s}.pkey)""",
        [campaign.pk, channel],
    )
    out = RecordOutcome()
    cursor.execute(f"SELECT state, COUNT(*), SUM(amount_fen) FROM {s} GROUP BY state")
    for state, count, fen in cursor.fetchall():
        if state == "new":
            out.created, out.created_fen = int(count), int(fen or 0)
        else:
            out.unchanged, out.unchanged_fen = int(count), int(fen or 0)
    if out.created == 0:
        return out
    # The resident: by resident ID card number first, then by the other document types; the
    # payment is theirs when the name is the registry's too.
    MATCH_STAGE.create(cursor)
    marks = ", ".join(["%s"] * len(OTHER_ID_TYPES))
    cursor.execute(
        f"""INSERT INTO {m} ({", ".join(name for name, _ in MATCH_STAGE.columns)})
        SELECT s.line, r.id, r.name, CASE WHEN r.name = s.name THEN r.id END,
          r.birth_date, r.employee_insured, r.insured_elsewhere, r.id_type
        FROM {s} s JOIN registry_resident r ON r.id_type = %s AND r.id_number = s.id_number
        WHERE s.state = 'new'
        UNION ALL
        SELECT s.line, r.id, r.name, CASE WHEN r.name = s.name THEN r.id END,
          r.birth_date, r.employee_insured, r.insured_elsewhere, r.id_type
        FROM {s} s
          JOIN (SELECT id_number, MIN(id) AS id FROM registry_resident
                WHERE id_type IN ({marks}) GROUP BY id_number) o ON o.id_number = s.id_number
          JOIN registry_resident r ON r.id = o.id
        WHERE s.state = 'new' AND NOT EXISTS (
          SELECT 1 FROM registry_resident x WHERE x.id_type = %s AND x.id_number = s.id_number)""",
        [Resident.IdType.RESIDENT_ID, *OTHER_ID_TYPES, Resident.IdType.RESIDENT_ID],
    )
    MATCH_STAGE.index(cursor)
    out.unknown = [
        (int(line), id_number, name)
        for line, id_number, name in _fetch(
            cursor,
            f"""SELECT s.line, s.id_number, s.name FROM {s} s LEFT JOIN {m} m ON m.line = s.line
            WHERE s.state = 'new' AND m.resident_id IS NULL ORDER BY s.line""",
        )
    ]
    if not write:
        MATCH_STAGE.drop(cursor)
        return out
    # The common case, settled in a few statements: see _stage_simple.
    simple = channel in PERSON_CHANNELS and _stage_simple(cursor, campaign)
    cursor.execute(
        f"""INSERT INTO collection_payment (
          campaign_id, channel, "key", paid_on, amount_fen, id_number, name, resident_id,
          funder, bank, receipt_id, reverses_id, batch_id, recorded_at, recorded_by)
        SELECT %s, %s, s.pkey, s.paid_on, s.amount_fen, s.id_number, s.name, m.resident_id,
          s.funder, s.bank, s.receipt_id, NULL, %s, %s, %s
        FROM {s} s LEFT JOIN {m} m ON m.line = s.line
        WHERE s.state = 'new' ORDER BY s.line""",
        [campaign.pk, channel, batch.pk if batch is not None else None, now, username],
    )
    # Unknown persons, and known ID numbers under another name: recorded, held in suspense.
    unknown = 0
    if out.unknown:
        cursor.execute(
            f"""INSERT INTO collection_suspense (
              payment_id, reason, message, created_at, resolved_at, resolved_by, resolution)
            SELECT p.id, %s, CASE
                WHEN m.candidate_id IS NULL
                  THEN '登记库中没有证件号码为' || s.id_number || '的人员（缴费记录姓名：'
                       || s.name || '）'
                ELSE '证件号码' || s.id_number || '在登记库中的姓名是“' || m.known_name
                     || '”，缴费记录上是“' || s.name || '”，请核对后处理'
              END, %s, NULL, '', ''
            FROM {s} s LEFT JOIN {m} m ON m.line = s.line
              JOIN collection_payment p
              ON p.campaign_id = %s AND p.channel = %s AND p."key" = s.pkey
            WHERE s.state = 'new' AND m.resident_id IS NULL""",
            [Reason.UNKNOWN_PERSON, now, campaign.pk, channel],
        )
        unknown = cursor.rowcount
    if unknown:
        out.suspended[str(Reason.UNKNOWN_PERSON)] = unknown
    done = ""
    if simple:
        out.take(_settle_simple(cursor, campaign, channel, now))
        done = f"AND resident_id NOT IN (SELECT resident_id FROM {SETTLED})"
    residents = [
        int(r)
        for (r,) in _fetch(
            cursor, f"SELECT DISTINCT resident_id FROM {m} WHERE resident_id IS NOT NULL {done}"
        )
    ]
    for table in (MATCH_STAGE.name, SIMPLE.name, QUOTES.name, SETTLED):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    out.take(apply_payments(campaign=campaign, resident_ids=residents, now=now, username=username))
    return out


# --- the common case, set-based --------------------------------------------------------------
#
# A known resident with no payment recorded before and no enrollment, whose new person-channel
# payments add up exactly to the positive payable amount of an eligible assessment, is enrolled
# by the last of them (in the order paid), with the coverage of its quote: what apply_payments
# would do, one resident at a time. The residents are staged in one statement, their quotes
# computed once per class of equal facts (as apply_payments memoizes them), and the enrollments
# written, the payments their quote holds (window closed, waiting period past the year) held
# and the assessments frozen in one statement each. Anyone else, and anyone whose quote holds
# the last of several payments, goes through apply_payments.

SIMPLE = StageSpec(
    name="canbao_stage_simple",
    columns=(
        ("resident_id", "bigint"),
        ("assessment_id", "bigint"),
        ("paid_fen", "bigint"),
        ("paid_on", "date"),
        ("categories", "varchar(300)"),
        ("birth_date", "date"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
        ("id_type", "varchar(40)"),
        ("born", "date"),
        ("payments", "integer"),
        ("last_line", "integer"),
    ),
)
SETTLED = "canbao_stage_settled"
NO_DAY = date(1, 1, 1)  # the birth date of a class whose members' birth dates do not matter
_CLASS = ("categories", "born", "employee_insured", "insured_elsewhere", "id_type", "paid_on")
QUOTES = StageSpec(
    name="canbao_stage_quotes",
    columns=(
        ("categories", "varchar(300)"),
        ("born", "date"),
        ("employee_insured", "boolean"),
        ("insured_elsewhere", "boolean"),
        ("id_type", "varchar(40)"),
        ("paid_on", "date"),
        ("coverage_start", "date"),
        ("coverage_end", "date"),
        ("rule", "varchar(100)"),
        ("reason", "varchar(20)"),
        ("message", "varchar(300)"),
    ),
    indexes=(_CLASS,),
)


def _stage_simple(cursor: Any, campaign: Campaign) -> bool:
    """Stage the residents of the common case (before the new payments are written: "no
    payment before" is then "no payment yet"); whether there are any."""
    s = PAYMENT_STAGE.name
    policy = campaign_policy(campaign)
    aged = sorted(policy.identity.aged_categories())
    like = "".join(
        " OR (',' || a.categories || ',') LIKE %s ESCAPE '!'" for _ in aged
    )  # the categories are stored comma-separated
    patterns = [
        "%," + code.replace("!", "!!").replace("_", "!_").replace("%", "!%") + ",%" for code in aged
    ]
    # Declared column types (not CREATE TABLE AS): SQLite joins on columns of equal affinity.
    SIMPLE.create(cursor)
    cursor.execute(
        f"""INSERT INTO {SIMPLE.name} ({", ".join(name for name, _ in SIMPLE.columns)})
        SELECT g.resident_id, a.id AS assessment_id, g.paid_fen, g.paid_on, a.categories,
          g.birth_date, g.employee_insured, g.insured_elsewhere, g.id_type,
          CASE WHEN g.birth_date >= %s{like} THEN g.birth_date ELSE %s END AS born,
          g.payments, g.last_line
        FROM (SELECT m.resident_id, m.birth_date, m.employee_insured, m.insured_elsewhere,
                m.id_type, SUM(s.amount_fen) AS paid_fen, MAX(s.paid_on) AS paid_on,
                COUNT(*) AS payments, MAX(s.line) AS last_line
              FROM {s} s JOIN {MATCH_STAGE.name} m ON m.line = s.line
              WHERE m.resident_id IS NOT NULL
              GROUP BY m.resident_id, m.birth_date, m.employee_insured, m.insured_elsewhere,
                m.id_type) g
        JOIN campaigns_assessment a ON a.campaign_id = %s AND a.resident_id = g.resident_id
        WHERE a.eligible AND a.payable_fen > 0 AND a.subsidy_fen IS NOT NULL
          AND a.payable_fen = g.paid_fen
          AND NOT EXISTS (SELECT 1 FROM collection_payment p
                          WHERE p.campaign_id = %s AND p.resident_id = g.resident_id)
          AND NOT EXISTS (SELECT 1 FROM collection_enrollment e
                          WHERE e.campaign_id = %s AND e.resident_id = g.resident_id)""",
        [_young_from(policy), *patterns, NO_DAY, campaign.pk, campaign.pk, campaign.pk],
    )
    if not cursor.rowcount:
        return False
    SIMPLE.index(cursor)
    return True


def _settle_simple(cursor: Any, campaign: Campaign, channel: str, now: datetime) -> ApplyOutcome:
    """Quote each class of the staged residents once; enroll those whose quote covers them,
    hold the single payment of those whose quote does not, and freeze their assessments. The
    rest (a quote that holds one of several payments) are left to apply_payments."""
    policy = campaign_policy(campaign)
    names = ", ".join(_CLASS)
    cursor.execute(f"SELECT {names}, MIN(birth_date) FROM {SIMPLE.name} GROUP BY {names}")
    quotes: dict[tuple[Any, ...], Quote] = {}
    rows: list[tuple[Any, ...]] = []
    for categories, born, employee, elsewhere, id_type, paid_on, birth_date in cursor.fetchall():
        day = _as_date(paid_on)
        assert day is not None
        q = _quote_for(
            policy,
            quotes,
            categories=[c for c in categories.split(",") if c],
            birth_date=_as_date(birth_date if _as_date(born) == NO_DAY else born),
            employee_insured=bool(employee),
            insured_elsewhere=bool(elsewhere),
            id_type=id_type,
            paid_on=day,
        )
        held = _held_by(q, day)
        covered: tuple[Any, ...] = ()
        if held is not None:
            covered = (None, None, None, str(held[0]), held[1])
        else:
            assert q.rule is not None
            covered = (q.coverage_start, q.coverage_end, q.rule.name[:100], "", "")
        rows.append((categories, born, employee, elsewhere, id_type, paid_on, *covered))
    QUOTES.create(cursor)
    QUOTES.load(cursor, rows)
    QUOTES.index(cursor)
    same = " AND ".join(f"c.{name} = t.{name}" for name in _CLASS)
    cursor.execute(f"DROP TABLE IF EXISTS {SETTLED}")
    cursor.execute(
        f"""CREATE TEMPORARY TABLE {SETTLED} AS
        SELECT t.resident_id, t.assessment_id, t.paid_fen, t.paid_on, t.last_line,
          c.coverage_start, c.coverage_end, c.rule, c.reason, c.message
        FROM {SIMPLE.name} t JOIN {QUOTES.name} c ON {same}
        WHERE c.reason = '' OR t.payments = 1"""
    )
    cursor.execute(f"ANALYZE {SETTLED}")
    cursor.execute(
        f"""INSERT INTO collection_enrollment (campaign_id, resident_id, paid_fen,
          enrolled_on, coverage_start, coverage_end, rule)
        SELECT %s, resident_id, paid_fen, paid_on, coverage_start, coverage_end, rule
        FROM {SETTLED} WHERE reason = '' ORDER BY resident_id""",
        [campaign.pk],
    )
    out = ApplyOutcome(enrolled=cursor.rowcount)
    cursor.execute(
        f"""INSERT INTO collection_suspense (
          payment_id, reason, message, created_at, resolved_at, resolved_by, resolution)
        SELECT p.id, t.reason, t.message, %s, NULL, '', ''
        FROM {SETTLED} t JOIN {PAYMENT_STAGE.name} s ON s.line = t.last_line
          JOIN collection_payment p
          ON p.campaign_id = %s AND p.channel = %s AND p."key" = s.pkey
        WHERE t.reason <> '' ORDER BY t.last_line""",
        [now, campaign.pk, channel],
    )
    if cursor.rowcount:
        for reason, count in _fetch(
            cursor, f"SELECT reason, COUNT(*) FROM {SETTLED} WHERE reason <> '' GROUP BY reason"
        ):
            out.suspended[reason] = int(count)
    cursor.execute(
        f"""UPDATE campaigns_assessment SET frozen_at = %s
        WHERE frozen_at IS NULL AND id IN (SELECT assessment_id FROM {SETTLED})""",
        [now],
    )
    return out


def _fetch(cursor: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def _as_date(value: Any) -> date | None:
    """A date as the database returns it (SQLite: ISO text from a derived table)."""
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def record_payments(
    *,
    campaign: Campaign,
    channel: str,
    rows: Iterable[PaymentRow],
    batch: ImportBatch | None,
    username: str,
    now: datetime | None = None,
    actor: AbstractBaseUser | None = None,
) -> RecordOutcome:
    """Record payments of one channel; rows whose key the channel already recorded for the
    campaign are skipped as unchanged. A key repeated among ``rows``, or recorded before with
    other content, refuses the whole call (``PaymentError``), nothing written."""
    if channel not in Channel.values:
        raise PaymentError("unknown_channel", f"未知的缴费渠道“{channel}”")
    now = now or timezone.now()
    staged: list[tuple[Any, ...]] = []
    for line, row in enumerate(rows, start=1):
        _check_row(line, row, channel)
        staged.append(staged_row(line, row))
    with transaction.atomic(), connection.cursor() as cursor:
        PAYMENT_STAGE.create(cursor)
        for start in range(0, len(staged), 20_000):
            PAYMENT_STAGE.load(cursor, staged[start : start + 20_000])
        PAYMENT_STAGE.index(cursor)
        problems = staged_problems(cursor, campaign, channel)
        if problems:
            raise PaymentError(
                problems[0].code, "；".join(f"第{p.line}笔：{p.message}" for p in problems[:20])
            )
        out = post_staged(
            cursor, campaign=campaign, channel=channel, batch=batch, username=username, now=now
        )
        PAYMENT_STAGE.drop(cursor)
        record_audit(
            action="record_payments",
            actor=actor,
            username=username,
            batch=batch,
            details={"campaign": campaign.pk, "channel": channel, **out.as_json()},
        )
    return out


def _check_row(line: int, row: PaymentRow, channel: str) -> None:
    problem = ""
    if not row.key or len(row.key) > KEY_MAX:
        problem = f"流水号须为1至{KEY_MAX}个字符"
    elif row.key.startswith(REVERSAL_PREFIX):
        problem = f"流水号不能以“{REVERSAL_PREFIX}”开头（冲正记录专用）"
    elif row.amount_fen <= 0:
        problem = "金额须大于0（更正请做冲正）"
    elif channel == Channel.PROXY and row.funder not in FUNDER_NAMES:
        problem = f"部门代缴须注明代缴部门，“{row.funder}”不是资助方代码"
    elif channel != Channel.PROXY and row.funder:
        problem = "只有部门代缴才有代缴部门"
    elif (row.receipt is not None) != (channel == Channel.CASH):
        problem = "现金缴费须有收款收据，其他渠道不能有"
    if problem:
        raise PaymentError("payment_row", f"第{line}笔（流水号{row.key}）：{problem}")


# --- application: enrollment and suspense, per affected resident ----------------------------


@dataclass(frozen=True)
class _Pay:
    id: int
    channel: str
    key: str
    paid_on: date
    amount_fen: int
    funder: str
    reverses_id: int | None


class _Assessed(NamedTuple):
    pk: int
    eligible: bool
    refusal: str
    categories: str
    payable_fen: int | None
    subsidy_fen: int | None
    pending: str
    frozen_at: datetime | None


class _Person(NamedTuple):
    birth_date: date | None
    employee_insured: bool
    insured_elsewhere: bool
    id_type: str


@dataclass
class _Target:
    """What a resident's payments come to: suspense rows wanted and the enrollment, if any."""

    held: dict[int, tuple[str, str]] = field(default_factory=dict)
    enrollment: tuple[int, date, date, date, str] | None = None
    freeze: bool = False


def apply_payments(
    *, campaign: Campaign, resident_ids: Sequence[int], now: datetime, username: str
) -> ApplyOutcome:
    """Derive enrollment and suspense again for these residents from all their payments.

    Person payments (tax, bank, cash, withholding) are held against the assessment's payable
    amount, department payments (proxy) against the funder's share. Reaching the payable amount
    exactly enrolls the person with the coverage the policy gives for the day it was reached.
    The assessment is frozen at the first payment applied to it (and unfrozen when every payment
    was reversed). Suspense rows that no longer hold are resolved, with the reason why.
    """
    out = ApplyOutcome()
    if not resident_ids:
        return out
    policy = campaign_policy(campaign)
    quotes: dict[tuple[Any, ...], Quote] = {}
    ids = sorted(set(resident_ids))
    for start in range(0, len(ids), APPLY_CHUNK):
        out.add(
            _apply_chunk(campaign, policy, ids[start : start + APPLY_CHUNK], now, username, quotes)
        )
    return out


def _apply_chunk(
    campaign: Campaign,
    policy: Policy,
    ids: list[int],
    now: datetime,
    username: str,
    quotes: dict[tuple[Any, ...], Quote],
) -> ApplyOutcome:
    assessments = {
        row[1]: _Assessed(row[0], *row[2:])
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
        )
    }
    shares: dict[int, dict[str, int]] = {}
    for assessment_id, funder, fen in AssessmentShare.objects.filter(
        assessment__campaign=campaign, assessment__resident_id__in=ids
    ).values_list("assessment_id", "funder", "fen"):
        shares.setdefault(assessment_id, {})[funder] = fen
    residents = {
        row[0]: _Person(*row[1:])
        for row in Resident.objects.filter(pk__in=ids).values_list(
            "pk", "birth_date", "employee_insured", "insured_elsewhere", "id_type"
        )
    }
    payments: dict[int, list[_Pay]] = {}
    # Sorted here, not by the database: an ORDER BY paid_on lets SQLite walk the whole
    # campaign's (campaign, paid_on) index once per chunk instead of looking up the residents.
    for resident_id, pk, channel, key, paid_on, amount, funder, reverses_id in sorted(
        Payment.objects.filter(campaign=campaign, resident_id__in=ids).values_list(
            "resident_id", "pk", "channel", "key", "paid_on", "amount_fen", "funder", "reverses_id"
        ),
        key=lambda row: (row[4], row[1]),
    ):
        assert resident_id is not None
        payments.setdefault(resident_id, []).append(
            _Pay(pk, channel, key, paid_on, amount, funder, reverses_id)
        )
    # Open suspense rows of these payments (looked up by payment: a plain index lookup).
    owner = {p.id: r for r, mine in payments.items() for p in mine}
    known = sorted(owner)
    open_rows: list[tuple[int, int, int, str, str]] = []
    for start in range(0, len(known), APPLY_CHUNK):
        open_rows.extend(
            (pk, payment_id, owner[payment_id], reason, message)
            for pk, payment_id, reason, message in Suspense.objects.filter(
                payment_id__in=known[start : start + APPLY_CHUNK], resolved_at__isnull=True
            ).values_list("pk", "payment_id", "reason", "message")
        )
    enrollments = {
        row[1]: (row[0], tuple(row[2:]))
        for row in Enrollment.objects.filter(campaign=campaign, resident_id__in=ids).values_list(
            "pk", "resident_id", "paid_fen", "enrolled_on", "coverage_start", "coverage_end", "rule"
        )
    }

    targets: dict[int, _Target] = {}
    reversed_ids: set[int] = set()
    for resident_id in ids:
        mine = payments.get(resident_id, [])
        reversed_ids.update(p.reverses_id for p in mine if p.reverses_id is not None)
        assessment = assessments.get(resident_id)
        targets[resident_id] = _settle(
            policy,
            residents[resident_id],
            assessment,
            shares.get(assessment.pk, {}) if assessment is not None else {},
            mine,
            quotes,
        )

    out = ApplyOutcome()
    # Assessments: frozen at the first applied payment; unfrozen when none is left.
    to_freeze = [assessments[r].pk for r, t in targets.items() if t.freeze and r in assessments]
    freeze(assessment_ids=to_freeze, at=now)
    to_thaw = [
        a.pk
        for r, a in assessments.items()
        if a.frozen_at is not None and not _live(payments.get(r, []))
    ]
    if to_thaw:
        Assessment.objects.filter(pk__in=to_thaw).update(frozen_at=None)

    # Enrollments: derived state, replaced when it no longer matches.
    stale: list[int] = []
    fresh: list[tuple[Any, ...]] = []
    for resident_id, target in targets.items():
        existing = enrollments.get(resident_id)
        wanted = target.enrollment
        if (existing[1] if existing is not None else None) == wanted:
            continue
        if existing is not None:
            stale.append(existing[0])
            if wanted is None:
                out.withdrawn += 1
        if wanted is not None:
            fresh.append((campaign.pk, resident_id, *wanted))
            if existing is None:
                out.enrolled += 1
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

    # Suspense: open what is newly wanted, resolve what no longer holds.
    wanted_rows = {
        (payment_id, reason): message
        for target in targets.values()
        for payment_id, (reason, message) in target.held.items()
    }
    seen: set[tuple[int, str]] = set()
    resolutions: dict[str, list[int]] = {}
    for pk, payment_id, resident_id, reason, message in open_rows:
        wanted_message = wanted_rows.get((payment_id, reason))
        if wanted_message is not None and (payment_id, reason) not in seen:
            seen.add((payment_id, reason))
            if wanted_message != message:
                Suspense.objects.filter(pk=pk).update(message=wanted_message)
            continue
        target = targets[resident_id]
        if payment_id in reversed_ids:
            text = "该笔缴费已冲正"
        elif target.enrollment is not None:
            text = f"已缴足，{target.enrollment[1].isoformat()}缴清参保"
        elif payment_id in target.held:
            text = f"已重新核对，改为：{Reason(target.held[payment_id][0]).label}"
        else:
            text = "已重新核对，不再挂账"
        resolutions.setdefault(text, []).append(pk)
    for text, pks in resolutions.items():
        out.resolved += Suspense.objects.filter(pk__in=pks).update(
            resolved_at=now, resolved_by=username, resolution=text
        )
    new_rows = [
        Suspense(payment_id=payment_id, reason=reason, message=message, created_at=now)
        for (payment_id, reason), message in wanted_rows.items()
        if (payment_id, reason) not in seen
    ]
    Suspense.objects.bulk_create(new_rows, batch_size=1000)
    for row in new_rows:
        reason = str(row.reason)
        out.suspended[reason] = out.suspended.get(reason, 0) + 1
    return out


def _live(payments: list[_Pay]) -> list[_Pay]:
    """Payments neither reversed nor reversals, in the order they were paid."""
    reversed_ids = {p.reverses_id for p in payments if p.reverses_id is not None}
    return [p for p in payments if p.reverses_id is None and p.id not in reversed_ids]


def _settle(
    policy: Policy,
    resident: _Person,
    assessment: _Assessed | None,
    shares: dict[str, int],
    payments: list[_Pay],
    quotes: dict[tuple[Any, ...], Quote],
) -> _Target:
    live = _live(payments)
    target = _Target()
    if not live:
        return target
    if assessment is None:
        for p in live:
            target.held[p.id] = (
                Reason.NOT_ASSESSED,
                "此人尚未核定应缴金额（不在本工作的统筹区，或尚未运行核定），请核实后处理",
            )
        return target
    if not assessment.eligible:
        for p in live:
            target.held[p.id] = (Reason.NOT_ELIGIBLE, assessment.refusal or "不符合参保条件")
        return target
    payable, subsidy = assessment.payable_fen, assessment.subsidy_fen
    if payable is None or subsidy is None:
        for p in live:
            target.held[p.id] = (
                Reason.PENDING_AMOUNT,
                f"政策尚未公布此人的应缴金额（待公布：{assessment.pending or '金额'}）",
            )
        return target
    target.freeze = True

    # Department payments, each against its funder's share.
    covered: dict[str, int] = dict.fromkeys(shares, 0)
    last_proxy: _Pay | None = None
    for p in live:
        if p.channel != Channel.PROXY:
            continue
        name = FUNDER_NAMES.get(p.funder, p.funder)
        if p.funder not in shares:
            payers = "、".join(FUNDER_NAMES.get(f, f) for f in shares) or "无"
            target.held[p.id] = (
                Reason.EXCESS,
                f"{name}不是此人的资助方（此人的资助方：{payers}），代缴{yuan(p.amount_fen)}元多缴",
            )
        elif covered[p.funder] + p.amount_fen > shares[p.funder]:
            target.held[p.id] = (
                Reason.EXCESS,
                f"{name}应代缴{yuan(shares[p.funder])}元，此前已代缴{yuan(covered[p.funder])}元，"
                f"本笔{yuan(p.amount_fen)}元超出",
            )
        else:
            covered[p.funder] += p.amount_fen
            last_proxy = p
    proxy_fen = sum(covered.values())

    # Person payments, in the order paid, against the payable amount.
    person = [p for p in live if p.channel in PERSON_CHANNELS]
    completing: _Pay | None = None
    running = 0
    for p in person:
        if completing is not None:
            target.held[p.id] = (
                Reason.EXCESS,
                f"已于{completing.paid_on.isoformat()}缴足{yuan(payable)}元，"
                f"本笔{yuan(p.amount_fen)}元为多缴",
            )
            continue
        running += p.amount_fen
        if payable > 0 and running == payable:
            completing = p
        elif running > payable:
            target.held[p.id] = (
                Reason.EXCESS,
                f"已缴{yuan(running)}元，应缴{yuan(payable)}元，多缴{yuan(running - payable)}元",
            )
    if payable == 0:
        if subsidy > 0 and shares and all(covered[f] == fen for f, fen in shares.items()):
            completing = last_proxy
        elif last_proxy is not None:
            target.held[last_proxy.id] = (
                Reason.PARTIAL,
                f"部门已代缴{yuan(proxy_fen)}元，应代缴{yuan(subsidy)}元",
            )
    elif completing is None and person and running < payable:
        target.held[person[-1].id] = (
            Reason.PARTIAL,
            f"已缴{yuan(running)}元，应缴{yuan(payable)}元",
        )
    if completing is None:
        return target

    categories = [c for c in assessment.categories.split(",") if c]
    q = _quote_for(
        policy,
        quotes,
        categories=categories,
        birth_date=resident.birth_date,
        employee_insured=resident.employee_insured,
        insured_elsewhere=resident.insured_elsewhere,
        id_type=resident.id_type,
        paid_on=completing.paid_on,
    )
    held = _held_by(q, completing.paid_on)
    if held is not None:
        target.held[completing.id] = held
        return target
    assert q.coverage_start is not None and q.coverage_end is not None and q.rule is not None
    paid_fen = (running if payable > 0 else 0) + proxy_fen
    target.enrollment = (
        paid_fen,
        completing.paid_on,
        q.coverage_start,
        q.coverage_end,
        q.rule.name[:100],
    )
    return target


def _young_from(policy: Policy) -> date:
    """Residents born on or after this day may have a quote of their own (newborn windows,
    coverage from birth); older ones share it with everyone of the same facts."""
    return date(policy.coverage_year - 2, 1, 1)


def _quote_for(
    policy: Policy,
    quotes: dict[tuple[Any, ...], Quote],
    *,
    categories: list[str],
    birth_date: date | None,
    employee_insured: bool,
    insured_elsewhere: bool,
    id_type: str,
    paid_on: date,
) -> Quote:
    """The quote of a payment completed on ``paid_on``, memoized: most residents share theirs,
    the birth date mattering only to the young and to categories with an age limit."""
    born = birth_date
    if (
        born is not None
        and born < _young_from(policy)
        and not policy.identity.aged_categories().intersection(categories)
    ):
        born = None
    key = (tuple(categories), born, employee_insured, insured_elsewhere, id_type, paid_on)
    q = quotes.get(key)
    if q is None:
        facts = facts_of(
            birth_date=birth_date,
            categories=categories,
            employee_insured=employee_insured,
            insured_elsewhere=insured_elsewhere,
            id_type=id_type,
        )
        q = quotes[key] = quote(policy, facts, paid_on)
    return q


def _held_by(q: Quote, paid_on: date) -> tuple[str, str] | None:
    """Why a payment completing the amount on ``paid_on`` enrolls no one, if it does not."""
    if q.refusal is not None:
        reason = Reason.OUTSIDE_WINDOW if q.refusal.code == "window_closed" else Reason.NOT_ELIGIBLE
        return (reason, q.refusal.message[:300])
    if q.coverage_start is None or q.coverage_end is None or q.rule is None:
        return (
            Reason.OUTSIDE_WINDOW,
            f"{paid_on.isoformat()}缴费，等待期届满已在参保年度之后，本年度不享受待遇",
        )
    return None


def recheck_held_payments(
    *,
    campaign: Campaign,
    username: str | None = None,
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> ApplyOutcome:
    """Apply again the payments of every known resident with an open suspense row: after an
    assessment (not_assessed), a policy amount announced (pending_amount) or a registry fix."""
    who = acting_username(actor, username)
    now = now or timezone.now()
    with transaction.atomic():
        residents = list(
            Suspense.objects.filter(
                payment__campaign=campaign,
                resolved_at__isnull=True,
                payment__resident__isnull=False,
            )
            .values_list("payment__resident_id", flat=True)
            .distinct()
        )
        ids = [r for r in residents if r is not None]
        out = apply_payments(campaign=campaign, resident_ids=ids, now=now, username=who)
        record_audit(
            action="recheck_held_payments",
            actor=actor,
            username=who,
            details={
                "campaign": campaign.pk,
                "residents": len(ids),
                "enrolled": out.enrolled,
                "resolved": out.resolved,
                "suspended": out.suspended,
            },
        )
    return out


# --- reversal --------------------------------------------------------------------------------


def reverse_payment(
    *,
    campaign: Campaign,
    channel: str,
    key: str,
    reason: str,
    username: str | None = None,
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Payment:
    """Reverse a recorded payment: a payment of the opposite amount, key ``reversal:<key>``, that
    names the original; its suspense is resolved and the person's enrollment derived again."""
    reason = reason.strip()
    if not reason:
        raise PaymentError("reason_required", "冲正须写明原因")
    who = acting_username(actor, username)
    now = now or timezone.now()
    with transaction.atomic():
        original = (
            Payment.objects.select_for_update()
            .filter(campaign=campaign, channel=channel, key=key)
            .first()
        )
        if original is None:
            raise PaymentError(
                "unknown_payment",
                f"本工作中没有{Channel(channel).label if channel in Channel.values else channel}"
                f"渠道流水号为{key}的缴费",
            )
        if original.reverses_id is not None:
            raise PaymentError("reversal_of_reversal", f"{key}本身是冲正记录，不能再冲正")
        done = Payment.objects.filter(reverses=original).first()
        if done is not None:
            raise PaymentError(
                "already_reversed",
                f"流水号{key}已于{timezone.localtime(done.recorded_at):%Y-%m-%d %H:%M}"
                f"由{done.recorded_by}冲正，不能重复冲正",
            )
        reversal = Payment.objects.create(
            campaign=campaign,
            channel=channel,
            key=f"{REVERSAL_PREFIX}{key}",
            paid_on=timezone.localdate(now),
            amount_fen=-original.amount_fen,
            id_number=original.id_number,
            name=original.name,
            resident_id=original.resident_id,
            funder=original.funder,
            bank=original.bank,
            reverses=original,
            recorded_at=now,
            recorded_by=who,
        )
        Suspense.objects.filter(payment=original, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by=who, resolution=f"该笔缴费已冲正：{reason}"[:300]
        )
        if original.resident_id is not None:
            apply_payments(
                campaign=campaign, resident_ids=[original.resident_id], now=now, username=who
            )
        record_audit(
            action="reverse_payment",
            actor=actor,
            username=who,
            details={
                "campaign": campaign.pk,
                "channel": channel,
                "key": key,
                "amount_fen": original.amount_fen,
                "payment": original.pk,
                "reversal": reversal.pk,
                "reason": reason,
            },
        )
    return reversal
