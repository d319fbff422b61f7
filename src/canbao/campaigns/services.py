"""Opening a campaign and assessing (核定) its residents through the policy engine."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.quotes import QuoteBook
from canbao.campaigns.selectors import campaign_policy, reference_day
from canbao.divisions import is_within, normalize_code
from canbao.errors import InputError
from canbao.policy.loader import parse_policy_text, policy_text
from canbao.policy.quote import Quote
from canbao.policy.schema import Policy
from canbao.regions.models import Division
from canbao.registry.batches import (
    STATISTICS_AFTER_ROWS,
    Progress,
    StageSpec,
    record_audit,
    refresh_statistics,
)
from canbao.registry.models import CategoryFact, Resident

CHUNK = 50_000


class CampaignError(InputError):
    pass


def open_campaign(
    *,
    area_code: str,
    policy: str,
    actor: AbstractBaseUser,
) -> Campaign:
    """Open the campaign of a pooling area for the policy's coverage year; the policy's text is
    kept with the campaign."""
    text, source = policy_text(policy)
    parsed = parse_policy_text(text, source)
    code = normalize_code(area_code)
    area = Division.objects.filter(code=code).first()
    if area is None:
        raise CampaignError("unknown_area", f"区划代码 {code} 不在区划库中，请先导入区划")
    if not (is_within(code, parsed.division_code) or is_within(parsed.division_code, code)):
        raise CampaignError(
            "area_mismatch",
            f"政策 {parsed.id} 适用于 {parsed.pooling_area}（{parsed.division_code}），"
            f"与统筹区 {area.name}（{code}）不符",
        )
    who = actor.get_username()
    with transaction.atomic():
        if Campaign.objects.filter(area=area, coverage_year=parsed.coverage_year).exists():
            raise CampaignError(
                "campaign_exists", f"{area.name} {parsed.coverage_year} 年度的参保缴费工作已开始"
            )
        campaign = Campaign.objects.create(
            area=area,
            coverage_year=parsed.coverage_year,
            policy_id=parsed.id,
            policy_toml=text,
            policy_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            opened_by=who,
        )
        record_audit(
            action="open_campaign",
            actor=actor,
            details={"campaign": campaign.pk, "policy": parsed.id, "area": code},
        )
    return campaign


@dataclass
class AssessResult:
    """What an assessment did; ``as_json`` is the documented object of ``campaign assess
    --json`` (docs/imports.md)."""

    campaign: int
    day: date  # the day the assessment is made for (see reference_day)
    residents: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    frozen: int = 0
    ineligible: int = 0
    pending: int = 0
    # Eligible residents per payable amount, the highest first; null: amount pending.
    payable: list[tuple[int | None, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "day": self.day.isoformat(),
            "payable": [{"payable_fen": fen, "residents": n} for fen, n in self.payable],
        }


ASSESSMENT_STAGE = StageSpec(
    name="canbao_assess_stage",
    columns=(
        ("resident_id", "bigint"),
        ("eligible", "boolean"),
        ("refusal_code", "varchar(40)"),
        ("refusal", "varchar(300)"),
        ("categories", "varchar(300)"),
        ("attribute", "varchar(60)"),
        ("personal_fen", "bigint"),
        ("subsidy_fen", "bigint"),
        ("payable_fen", "bigint"),
        ("pending", "varchar(300)"),
        ("facts_sha256", "varchar(64)"),
    ),
    indexes=(("resident_id",),),
)
SHARE_STAGE = StageSpec(
    name="canbao_assess_share_stage",
    columns=(("resident_id", "bigint"), ("funder", "varchar(40)"), ("fen", "bigint")),
    indexes=(("resident_id",),),
)

_Row = tuple[int, date | None, bool, bool, str]
_Outcome = tuple[tuple[Any, ...], tuple[tuple[str, int], ...]]


class _Assessor:
    """Quotes residents, once per class of facts the policy quotes alike: most share theirs."""

    def __init__(self, campaign: Campaign, policy: Policy) -> None:
        self.book = QuoteBook(policy)
        self.day = reference_day(policy)
        self.salt = campaign.policy_sha256
        self.cache: dict[tuple[Any, ...], _Outcome] = {}

    def outcome(self, row: _Row, categories: list[str]) -> _Outcome:
        _, birth_date, employee_insured, insured_elsewhere, id_type = row
        quotes = self.book.resident(
            birth_date=birth_date,
            categories=categories,
            employee_insured=employee_insured,
            insured_elsewhere=insured_elsewhere,
            id_type=id_type,
        )
        cached = self.cache.get(quotes.key)
        if cached is None:
            cached = self.cache[quotes.key] = self._columns(quotes.at(self.day), quotes.key)
        return cached

    def _columns(self, q: Quote, key: tuple[Any, ...]) -> _Outcome:
        sha = hashlib.sha256(f"{self.salt}|{key!r}".encode()).hexdigest()
        refusal = q.refusal
        values = (
            q.eligible,
            refusal.code if refusal else "",
            refusal.message[:300] if refusal else "",
            ",".join(q.categories),
            q.attribute,
            q.personal_fen,
            q.subsidy_fen,
            q.payable_fen,
            ",".join(q.pending),
            sha,
        )
        return values, tuple((share.funder, share.fen) for share in q.subsidies)


def _residents(area: Division, day: date) -> Iterator[list[tuple[_Row, list[str]]]]:
    """Active residents of the area with the categories valid on `day`, in chunks."""
    residents = Resident.objects.filter(
        status=Resident.Status.ACTIVE, village__code__startswith=area.code
    ).order_by("pk")
    last = 0
    while True:
        rows: list[_Row] = list(
            residents.filter(pk__gt=last).values_list(
                "pk", "birth_date", "employee_insured", "insured_elsewhere", "id_type"
            )[:CHUNK]
        )
        if not rows:
            return
        categories: dict[int, list[str]] = {}
        facts = (
            CategoryFact.objects.filter(resident_id__gte=rows[0][0], resident_id__lte=rows[-1][0])
            .exclude(valid_from__gt=day)
            .exclude(valid_to__lt=day)
        )
        for resident_id, category in facts.values_list("resident_id", "category"):
            held = categories.setdefault(resident_id, [])
            if category not in held:
                held.append(category)
        yield [(row, categories.get(row[0], [])) for row in rows]
        last = rows[-1][0]


def assess_campaign(
    *,
    campaign: Campaign,
    actor: AbstractBaseUser,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> AssessResult:
    """Assess every active resident of the campaign's area. Unfrozen assessments whose facts
    changed are recomputed; frozen ones (the resident has paid) are never touched. `progress`
    is told the residents assessed so far."""
    policy = campaign_policy(campaign)
    assessor = _Assessor(campaign, policy)
    now = now or timezone.now()
    result = AssessResult(campaign=campaign.pk, day=assessor.day)
    with transaction.atomic(), connection.cursor() as cursor:
        lock_campaign(campaign.pk)
        ASSESSMENT_STAGE.create(cursor)
        SHARE_STAGE.create(cursor)
        for chunk in _residents(campaign.area, assessor.day):
            staged: list[tuple[Any, ...]] = []
            shares: list[tuple[int, str, int]] = []
            for row, categories in chunk:
                values, funded = assessor.outcome(row, categories)
                staged.append((row[0], *values))
                shares.extend((row[0], funder, fen) for funder, fen in funded)
                result.ineligible += not values[0]
                result.pending += bool(values[8])
            ASSESSMENT_STAGE.load(cursor, staged)
            SHARE_STAGE.load(cursor, shares)
            result.residents += len(chunk)
            if progress is not None:
                progress(result.residents)
        ASSESSMENT_STAGE.index(cursor)
        SHARE_STAGE.index(cursor)
        _write(cursor, campaign.pk, now, result)
        ASSESSMENT_STAGE.drop(cursor)
        SHARE_STAGE.drop(cursor)
        if result.residents >= STATISTICS_AFTER_ROWS:
            refresh_statistics(cursor)
        result.payable = list(
            Assessment.objects.filter(campaign=campaign, eligible=True)
            .values_list("payable_fen")
            .annotate(n=Count("pk"))
            .order_by(F("payable_fen").desc(nulls_last=True))
        )
        if result.created or result.updated:  # run again on the same registry: nothing to audit
            record_audit(action="assess_campaign", actor=actor, details=result.as_json())
    return result


_COLUMNS = (
    "eligible, refusal_code, refusal, categories, attribute, personal_fen, subsidy_fen, "
    "payable_fen, pending, facts_sha256"
)


def _write(cursor: Any, campaign_id: int, now: datetime, result: AssessResult) -> None:
    stage, shares = ASSESSMENT_STAGE.name, SHARE_STAGE.name
    table, share_table = Assessment._meta.db_table, "campaigns_assessmentshare"
    cursor.execute(
        f"SELECT count(*) FROM {stage} s JOIN {table} a "
        "ON a.campaign_id = %s AND a.resident_id = s.resident_id WHERE a.frozen_at IS NOT NULL",
        [campaign_id],
    )
    result.frozen = cursor.fetchone()[0]
    # The residents whose assessment is new or changed and not frozen: only these are written.
    cursor.execute("DROP TABLE IF EXISTS canbao_assess_changed")
    cursor.execute(
        "CREATE TEMPORARY TABLE canbao_assess_changed AS "
        f"SELECT s.resident_id, a.id AS assessment_id FROM {stage} s LEFT JOIN {table} a "
        "ON a.campaign_id = %s AND a.resident_id = s.resident_id "
        "WHERE a.id IS NULL OR (a.frozen_at IS NULL AND a.facts_sha256 <> s.facts_sha256)",
        [campaign_id],
    )
    cursor.execute(
        "CREATE INDEX canbao_assess_changed_resident ON canbao_assess_changed (resident_id)"
    )
    cursor.execute("SELECT count(*) FROM canbao_assess_changed WHERE assessment_id IS NULL")
    result.created = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM canbao_assess_changed WHERE assessment_id IS NOT NULL")
    result.updated = cursor.fetchone()[0]
    result.unchanged = result.residents - result.created - result.updated - result.frozen

    cursor.execute(
        f"DELETE FROM {share_table} WHERE assessment_id IN "
        "(SELECT assessment_id FROM canbao_assess_changed WHERE assessment_id IS NOT NULL)"
    )
    assignments = ", ".join(f"{c.strip()} = s.{c.strip()}" for c in _COLUMNS.split(","))
    cursor.execute(
        f"UPDATE {table} SET {assignments}, assessed_at = %s FROM {stage} s "
        f"WHERE {table}.campaign_id = %s AND {table}.resident_id = s.resident_id "
        f"AND {table}.id IN (SELECT assessment_id FROM canbao_assess_changed)",
        [now, campaign_id],
    )
    cursor.execute(
        f"INSERT INTO {table} (campaign_id, resident_id, {_COLUMNS}, assessed_at) "
        f"SELECT %s, s.resident_id, {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))}, "
        f"%s FROM {stage} s JOIN canbao_assess_changed c ON c.resident_id = s.resident_id "
        "WHERE c.assessment_id IS NULL",
        [campaign_id, now],
    )
    cursor.execute(
        f"INSERT INTO {share_table} (assessment_id, funder, fen) "
        f"SELECT a.id, sh.funder, sh.fen FROM {shares} sh "
        "JOIN canbao_assess_changed c ON c.resident_id = sh.resident_id "
        f"JOIN {table} a ON a.campaign_id = %s AND a.resident_id = sh.resident_id",
        [campaign_id],
    )
    cursor.execute("DROP TABLE canbao_assess_changed")


def freeze(*, assessment_ids: list[int], at: datetime) -> int:
    """Freeze assessments at payment: from now on the amounts stand, whatever changes."""
    return Assessment.objects.filter(pk__in=assessment_ids, frozen_at__isnull=True).update(
        frozen_at=at
    )
