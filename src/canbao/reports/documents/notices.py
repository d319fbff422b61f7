"""A village's household payment notices (缴费通知单), for the publicity phase: per household,
each member's attribute and payable amount after the subsidies, the household's total, the
deadline (the end of the policy's concentrated period for its enrollment unit) and how to pay
(the policy's ``channels``). Printed two to an A4 page, to be cut and handed out; the same data as
a workbook.

The amounts are the campaign's assessments (核定), as ``campaign assess`` froze or last computed
them; an amount the policy has not announced prints as pending (待公布). Members who cannot
enroll are listed with the reason, members already enrolled as paid. ID numbers are printed
masked on the paper notice (it is handed over and posted), in full in the workbook.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.selectors import campaign_policy, reference_day
from canbao.collection.models import Enrollment
from canbao.masking import mask_id
from canbao.regions.models import Division
from canbao.registry.models import Resident
from canbao.reports.documents.formats import date_text, yuan_text
from canbao.reports.documents.pdf import write_pdf
from canbao.reports.documents.sheets import Row, Styles, header

__all__ = ["Notices", "build_notices", "write_notices_pdf", "write_notices_xlsx"]

HEAD = "户主"


@dataclass(frozen=True)
class NoticeMember:
    name: str
    id_number: str
    relation: str
    attribute: str
    eligible: bool
    refusal: str  # why the member cannot enroll ("" when eligible)
    personal_fen: int | None
    subsidy_fen: int | None
    payable_fen: int | None  # None: not announced yet, or not assessed
    enrolled: bool

    @property
    def masked_id(self) -> str:
        return mask_id(self.id_number)

    @property
    def status(self) -> str:
        if not self.eligible:
            return f"不需缴费：{self.refusal}"
        if self.enrolled:
            return "已缴费参保"
        if self.payable_fen is None:
            return "应缴金额待公布"
        return "全额资助，不需个人缴费" if self.payable_fen == 0 else "未缴费"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "relation": self.relation,
            "attribute": self.attribute,
            "eligible": self.eligible,
            "refusal": self.refusal,
            "personal_fen": self.personal_fen,
            "subsidy_fen": self.subsidy_fen,
            "payable_fen": self.payable_fen,
            "enrolled": self.enrolled,
        }


@dataclass(frozen=True)
class Notice:
    household: str
    head: str
    address: str
    members: list[NoticeMember]

    @property
    def owes(self) -> bool:
        """Some member may enroll, has not, and has something (or a pending amount) to pay."""
        return any(m.eligible and not m.enrolled and m.payable_fen != 0 for m in self.members)

    @property
    def payable_fen(self) -> int | None:
        """What the household's eligible members pay together; None while any is pending."""
        return _total(m for m in self.members if m.eligible)

    @property
    def unpaid_fen(self) -> int | None:
        """What of it the members not yet enrolled still have to pay."""
        return _total(m for m in self.members if m.eligible and not m.enrolled)

    def as_json(self) -> dict[str, Any]:
        return {
            "household": self.household,
            "head": self.head,
            "address": self.address,
            "payable_fen": self.payable_fen,
            "unpaid_fen": self.unpaid_fen,
            "members": [m.as_json() for m in self.members],
        }


def _total(members: Iterable[NoticeMember]) -> int | None:
    amounts = [m.payable_fen for m in members]
    if any(a is None for a in amounts):
        return None
    return sum(a for a in amounts if a is not None)


@dataclass(frozen=True)
class Notices:
    title: str
    policy_title: str
    document: str
    issuer: str
    campaign_id: int
    village_code: str
    village: str
    township: str
    coverage_year: int
    personal_fen: int
    by_household: bool
    deadline: date
    covered_from_year_start: bool  # paying by the deadline covers the whole coverage year
    channels: list[str]
    issued_on: date
    notices: list[Notice]
    unpaid_only: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "campaign": self.campaign_id,
            "village": {"code": self.village_code, "name": self.village},
            "township": self.township,
            "coverage_year": self.coverage_year,
            "personal_fen": self.personal_fen,
            "enrollment_unit": "household" if self.by_household else "person",
            "deadline": self.deadline.isoformat(),
            "channels": self.channels,
            "issued_on": self.issued_on.isoformat(),
            "households": len(self.notices),
            "unpaid_only": self.unpaid_only,
            "notices": [n.as_json() for n in self.notices],
        }


def build_notices(
    *, campaign: Campaign, village: Division, today: date, unpaid_only: bool = False
) -> Notices:
    """One notice per household of the village with an active resident, or with `unpaid_only`
    per household that still has to pay (a reminder round); `today` is the date printed."""
    policy = campaign_policy(campaign)
    by_household = policy.enrollment_unit == "household"
    residents = list(
        Resident.objects.filter(village=village, status=Resident.Status.ACTIVE)
        .select_related("household")
        .order_by("household__number", "pk")
    )
    ids = [r.pk for r in residents]
    assessments = {
        a.resident_id: a for a in Assessment.objects.filter(campaign=campaign, resident_id__in=ids)
    }
    enrolled = set(
        Enrollment.objects.filter(campaign=campaign, resident_id__in=ids).values_list(
            "resident_id", flat=True
        )
    )
    households: dict[str, list[Resident]] = {}
    for resident in residents:
        households.setdefault(resident.household.number, []).append(resident)
    notices = [
        _notice(number, people, assessments, enrolled) for number, people in households.items()
    ]
    if unpaid_only:
        notices = [n for n in notices if n.owes]
    township = village.parent.name if village.parent else ""
    return Notices(
        title=f"{campaign.area.name}{policy.coverage_year}年度城乡居民基本医疗保险缴费通知单",
        policy_title=policy.title,
        document=policy.document,
        issuer=policy.issuer,
        campaign_id=campaign.pk,
        village_code=village.code,
        village=village.name,
        township=township,
        coverage_year=policy.coverage_year,
        personal_fen=policy.contribution.personal_fen,
        by_household=by_household,
        deadline=reference_day(policy),
        covered_from_year_start=all(
            rule.coverage == "year_start"
            for rule in policy.enrollment
            if rule.concentrated and rule.by_household in (None, by_household)
        ),
        channels=list(policy.channels),
        issued_on=today,
        notices=notices,
        unpaid_only=unpaid_only,
    )


def _notice(
    number: str,
    people: list[Resident],
    assessments: dict[int, Assessment],
    enrolled: set[int],
) -> Notice:
    head = next((r for r in people if r.relation == HEAD), people[0])
    members = []
    for resident in sorted(people, key=lambda r: (r.relation != HEAD, r.pk)):
        assessment = assessments.get(resident.pk)
        if assessment is None:
            members.append(
                NoticeMember(
                    *(resident.name, resident.id_number, resident.relation, ""),
                    eligible=True,
                    refusal="",
                    personal_fen=None,
                    subsidy_fen=None,
                    payable_fen=None,
                    enrolled=resident.pk in enrolled,
                )
            )
            continue
        members.append(
            NoticeMember(
                *(resident.name, resident.id_number, resident.relation, assessment.attribute),
                eligible=assessment.eligible,
                refusal=assessment.refusal,
                personal_fen=assessment.personal_fen,
                subsidy_fen=assessment.subsidy_fen,
                payable_fen=assessment.payable_fen,
                enrolled=resident.pk in enrolled,
            )
        )
    return Notice(number, head.name, head.address, members)


def write_notices_pdf(notices: Notices, path: Path) -> None:
    write_pdf("notices.html", {"doc": notices}, path)


NOTICE_HEADER = [
    "户编号",
    "户主",
    "家庭住址",
    "姓名",
    "公民身份号码",
    "与户主关系",
    "身份属性",
    "个人缴费标准（元）",
    "资助（元）",
    "应缴（元）",
    "状态",
    "本户应缴合计（元）",
    "本户尚未缴纳（元）",
]


def write_notices_xlsx(notices: Notices, path: Path) -> None:
    """The notices as a workbook: one row per member, the household's total on its head's row,
    and the deadline and channels above the table."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        styles = Styles(workbook)
        sheet = workbook.add_worksheet("缴费通知单")
        sheet.write_string(
            0, 0, f"{notices.title}（{notices.township}{notices.village}）", styles.title
        )
        unit = "以户为单位" if notices.by_household else "以个人为单位"
        sheet.write_string(
            1,
            0,
            f"依据《{notices.policy_title}》{notices.document}：个人缴费标准 "
            f"{yuan_text(notices.personal_fen)} 元/人·年，{unit}缴费，"
            f"缴费截止日期 {date_text(notices.deadline)}。",
            styles.subtitle,
        )
        sheet.write_string(2, 0, "缴费方式：" + "；".join(notices.channels), styles.subtitle)
        widths = [18, 10, 24, 10, 20, 10, 18, 12, 10, 10, 30, 14, 14]
        header(sheet, styles, 4, NOTICE_HEADER, widths)
        line = 5
        for notice in notices.notices:
            for index, member in enumerate(notice.members):
                row = Row(sheet, styles, line)
                row.text(notice.household).text(notice.head).text(notice.address)
                row.text(member.name).text(member.id_number).text(member.relation)
                row.text(member.attribute or None).money(member.personal_fen)
                row.money(member.subsidy_fen).money(member.payable_fen).text(member.status)
                if index == 0:
                    row.money(notice.payable_fen).money(notice.unpaid_fen)
                line += 1
        sheet.freeze_panes(5, 4)
        sheet.autofilter(4, 0, line - 1, len(NOTICE_HEADER) - 1)
