"""A village's follow-up list (催缴名单): its residents who may enroll and have not, by household,
with phone, the amount each still owes and why any money of theirs is waiting, for the village
cadres who go from door to door.

Every amount is the ledger's (``canbao.collection.ledger.positions``): what is due after the
subsidies, what the person has paid so far (held until the payment is complete), what each
department still owes; nothing is added up here. Special-group members come first (their
households first, then they within the household): the members of the groups the policy wants at
100% (``targets.special_groups``) and anyone a department subsidises. A failed bank deduction is
marked from the withholding follow-up, held money with its reason.

The registry keeps no village group (村民小组) for a resident, so a village's list is one section,
not one page per group leader; the document says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.collection.ledger import Position, positions
from canbao.collection.models import Enrollment
from canbao.collection.withholding import followup as withholding_followup
from canbao.policy.codes import FUNDER_NAMES
from canbao.regions.models import Division
from canbao.registry.models import Resident
from canbao.reports.documents.formats import date_text, yuan_text
from canbao.reports.documents.pdf import write_pdf
from canbao.reports.documents.sheets import Row, Styles, header

__all__ = ["FollowupList", "build_followup_list", "write_followup_pdf", "write_followup_xlsx"]

HEAD = "户主"
NO_GROUPS = (
    "登记库未记录村民小组，本名单以村（社区）为一节，不分组；"
    "各组长可按户编号、家庭住址分领本组的户。"
)


@dataclass(frozen=True)
class Member:
    resident_id: int
    name: str
    id_number: str
    relation: str
    phone: str
    attribute: str
    special: bool
    due_fen: int | None  # payable after subsidies; None: not assessed or not announced
    paid_fen: int  # paid in person so far, held until complete
    owing_fen: int | None  # still to pay in person
    department_owing: dict[str, int]  # funder -> what it still owes
    withholding: dict[str, str] | None  # the failed deduction, if any: result, reason, action
    held: list[dict[str, Any]]  # money held: reason, reason_label, fen, message
    pending: bool  # the amount is not announced (or not assessed) yet

    @property
    def notes(self) -> list[str]:
        """Why the member is still listed, in Chinese, one line each."""
        lines = []
        if self.pending:
            lines.append("应缴金额尚未核定或待公布")
        if self.withholding is not None:
            reason, action = self.withholding["reason"], self.withholding["action"]
            # Some of the withholding follow-up's actions start with the reason already.
            lines.append(f"银行代扣失败：{action if reason in action else f'{reason}，{action}'}")
        lines += [
            f"挂账 {yuan_text(h['fen'])} 元（{h['reason_label']}）：{h['message']}"
            for h in self.held
        ]
        lines += [
            f"待{FUNDER_NAMES.get(funder, funder)}代缴 {yuan_text(fen)} 元"
            for funder, fen in sorted(self.department_owing.items())
        ]
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "relation": self.relation,
            "phone": self.phone,
            "attribute": self.attribute,
            "special": self.special,
            "due_fen": self.due_fen,
            "paid_fen": self.paid_fen,
            "owing_fen": self.owing_fen,
            "department_owing": [
                {"funder": f, "fen": fen} for f, fen in sorted(self.department_owing.items())
            ],
            "withholding": self.withholding,
            "held": self.held,
            "pending": self.pending,
        }


@dataclass(frozen=True)
class Household:
    number: str
    head: str
    address: str
    phone: str
    members: list[Member]

    @property
    def special(self) -> bool:
        return any(m.special for m in self.members)

    @property
    def owing_fen(self) -> int:
        return sum(m.owing_fen or 0 for m in self.members)

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "head": self.head,
            "address": self.address,
            "phone": self.phone,
            "special": self.special,
            "owing_fen": self.owing_fen,
            "members": [m.as_json() for m in self.members],
        }


@dataclass(frozen=True)
class FollowupList:
    title: str
    campaign_id: int
    village_code: str
    village: str
    township: str
    as_of: date
    households: list[Household] = field(default_factory=list)

    @property
    def residents(self) -> int:
        return sum(len(h.members) for h in self.households)

    @property
    def special(self) -> int:
        return sum(m.special for h in self.households for m in h.members)

    @property
    def owing_fen(self) -> int:
        return sum(h.owing_fen for h in self.households)

    @property
    def withholding_failures(self) -> int:
        return sum(m.withholding is not None for h in self.households for m in h.members)

    @property
    def held(self) -> int:
        return sum(bool(m.held) for h in self.households for m in h.members)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "campaign": self.campaign_id,
            "village": {"code": self.village_code, "name": self.village},
            "township": self.township,
            "as_of": self.as_of.isoformat(),
            "note": NO_GROUPS,
            "households_count": len(self.households),
            "residents": self.residents,
            "special": self.special,
            "withholding_failures": self.withholding_failures,
            "held": self.held,
            "owing_fen": self.owing_fen,
            "households": [h.as_json() for h in self.households],
        }


def build_followup_list(*, campaign: Campaign, village: Division, today: date) -> FollowupList:
    """The village's residents who may enroll in the campaign and are not enrolled, as the
    ledger stands now (`today` is the date printed on the list)."""
    policy = campaign_policy(campaign)
    special_codes: set[str] = set(policy.targets.special_groups)
    enrolled = Enrollment.objects.filter(campaign=campaign).values("resident_id")
    residents = list(
        Resident.objects.filter(village=village, status=Resident.Status.ACTIVE)
        .exclude(pk__in=enrolled)
        .select_related("household")
        .order_by("household__number", "pk")
    )
    assessments = {
        a.resident_id: a
        for a in Assessment.objects.filter(
            campaign=campaign, resident_id__in=[r.pk for r in residents]
        )
    }
    residents = [r for r in residents if r.pk not in assessments or assessments[r.pk].eligible]
    ledger = positions(campaign=campaign, resident_ids=[r.pk for r in residents])
    failures = _withholding_failures(campaign, village)
    heads = {
        head.household_id: head
        for head in Resident.objects.filter(
            household_id__in={r.household_id for r in residents}, relation=HEAD
        )
    }
    households: dict[int, list[Resident]] = {}
    members: dict[int, Member] = {}
    for resident in residents:
        assessment = assessments.get(resident.pk)
        members[resident.pk] = _member(
            resident,
            assessment,
            ledger[resident.pk],
            special_codes,
            failures.get(resident.id_number),
        )
        households.setdefault(resident.household_id, []).append(resident)
    listed = [
        _household(people, heads.get(household_id), members)
        for household_id, people in households.items()
    ]
    listed.sort(key=lambda h: (not h.special, h.number))
    township = village.parent.name if village.parent else ""
    return FollowupList(
        title=f"{township}{village.name}{policy.coverage_year}年度城乡居民医保未参保人员催缴名单",
        campaign_id=campaign.pk,
        village_code=village.code,
        village=village.name,
        township=township,
        as_of=today,
        households=listed,
    )


def _withholding_failures(campaign: Campaign, village: Division) -> dict[str, dict[str, str]]:
    township = village.parent.code if village.parent else None
    return {
        row.id_number: {"result": row.result, "reason": row.reason, "action": row.action}
        for row in withholding_followup(campaign=campaign, township=township)
        if row.village_code == village.code
    }


def _member(
    resident: Resident,
    assessment: Assessment | None,
    position: Position,
    special_codes: set[str],
    withholding: dict[str, str] | None,
) -> Member:
    categories = set(filter(None, assessment.categories.split(","))) if assessment else set()
    subsidised = bool(assessment and assessment.subsidy_fen)
    due = position.due_fen
    return Member(
        resident_id=resident.pk,
        name=resident.name,
        id_number=resident.id_number,
        relation=resident.relation,
        phone=resident.phone,
        attribute=assessment.attribute if assessment else "",
        special=bool(categories & special_codes) or subsidised,
        due_fen=due,
        paid_fen=position.person_fen,
        owing_fen=None if due is None else max(due - position.person_fen, 0),
        department_owing={
            funder: fen - position.by_funder.get(funder, 0)
            for funder, fen in position.shares.items()
            if fen > position.by_funder.get(funder, 0)
        },
        withholding=withholding,
        held=[
            {"reason": h.reason, "reason_label": h.reason_label, "fen": h.fen, "message": h.message}
            for h in position.held
        ],
        pending=due is None,
    )


def _household(
    people: list[Resident], head: Resident | None, members: dict[int, Member]
) -> Household:
    """A household's listed members (special ones first, then the head, then as registered),
    under its head as the registry knows them (the head may have paid already)."""
    head = head or people[0]
    listed = sorted(
        (members[r.pk] for r in people),
        key=lambda m: (not m.special, m.relation != HEAD, m.resident_id),
    )
    phone = head.phone or next((r.phone for r in people if r.phone), "")
    return Household(people[0].household.number, head.name, head.address, phone, listed)


def write_followup_pdf(followup: FollowupList, path: Path) -> None:
    write_pdf("followup.html", {"list": followup, "note": NO_GROUPS}, path)


FOLLOWUP_HEADER = [
    "户编号",
    "户主",
    "家庭住址",
    "姓名",
    "公民身份号码",
    "与户主关系",
    "身份属性",
    "特殊群体",
    "联系电话",
    "应缴（元）",
    "已缴待处理（元）",
    "尚需缴（元）",
    "情况说明",
]


def write_followup_xlsx(followup: FollowupList, path: Path) -> None:
    """The list as a workbook: one row per resident, the household's columns repeated so the
    sheet can be filtered and sorted."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        styles = Styles(workbook)
        sheet = workbook.add_worksheet("催缴名单")
        sheet.write_string(0, 0, followup.title, styles.title)
        sheet.write_string(
            1,
            0,
            f"截至{date_text(followup.as_of)}：{len(followup.households)} 户 "
            f"{followup.residents} 人未参保，其中特殊群体 {followup.special} 人，"
            f"尚需缴 {yuan_text(followup.owing_fen)} 元。{NO_GROUPS}",
            styles.subtitle,
        )
        widths = [14, 10, 24, 10, 20, 10, 16, 8, 14, 11, 13, 11, 60]
        header(sheet, styles, 3, FOLLOWUP_HEADER, widths)
        line = 4
        for household in followup.households:
            for member in household.members:
                row = Row(sheet, styles, line)
                row.text(household.number).text(household.head).text(household.address)
                row.text(member.name).text(member.id_number).text(member.relation)
                row.text(member.attribute).text("是" if member.special else "")
                row.text(member.phone or household.phone)
                row.money(member.due_fen).money(member.paid_fen).money(member.owing_fen)
                row.text("；".join(member.notes))
                line += 1
        total = Row(sheet, styles, line, total=True).text("合计")
        total.text(f"{len(followup.households)} 户").text("").text(f"{followup.residents} 人")
        for _ in range(7):
            total.text("")
        total.money(followup.owing_fen).text("")
        sheet.freeze_panes(4, 4)
        sheet.autofilter(3, 0, line - 1, len(FOLLOWUP_HEADER) - 1)
