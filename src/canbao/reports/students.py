"""Students by school and grade (在校学生参保情况), as Chuxiong's education bureau reports them
monthly: per school and grade, the students its roster lists on the day, those of them who may
enroll in the campaign, those enrolled by then and the rate, and the unpaid ones by name for the
school to chase.

Who is at which school on a day is the school roster in effect that day (``valid_from`` <= D,
not ended before D: see ``canbao.registry.schools``). Who is enrolled by then is the ledger's
enrollment with ``enrolled_on`` <= D, as in the coverage report, so a report for a past day comes
out the same when run again later, with the coverage report's exceptions (a payment of that period
reversed since, a payment dated by D recorded later). "May enroll" is read as coverage reads the
special groups: assessed eligible in the campaign (and still registered) or enrolled; a student
insured elsewhere, or registered in another county, is listed but not chased. The amount an
unpaid student owes is their ledger position's due amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from django.db import connection

from canbao.campaigns.models import Campaign
from canbao.collection.ledger import positions
from canbao.registry.models import Resident
from canbao.reports.coverage import percent, percent_text
from canbao.reports.documents.formats import count_text, date_text, rate_text
from canbao.reports.documents.sheets import Row, Styles, header

__all__ = [
    "GradeStudents",
    "SchoolStudents",
    "StudentCounts",
    "StudentsReport",
    "UnpaidStudent",
    "student_statistics",
    "students_text",
    "write_students_xlsx",
]

# Unpaid students named per grade in the text; --json and --xlsx list them all.
NAMES_LISTED = 20

# One row per student on a roster in effect on the day, in the rosters' order: whether they may
# enroll in the campaign and whether they were enrolled by the day.
_STUDENTS_SQL = """
SELECT s.school, s.grade, s.class_name, s.student_number,
       r.id, r.name, r.id_number, r.phone, v.code, v.name,
       CASE WHEN (a.eligible = %(true)s AND r.status = %(active)s) OR e.id IS NOT NULL
            THEN 1 ELSE 0 END AS may_enroll,
       CASE WHEN e.enrolled_on <= %(as_of)s THEN 1 ELSE 0 END AS enrolled
FROM registry_schoolenrollment s
JOIN registry_resident r ON r.id = s.resident_id
JOIN regions_division v ON v.id = r.village_id
LEFT JOIN campaigns_assessment a ON a.campaign_id = %(campaign)s AND a.resident_id = r.id
LEFT JOIN collection_enrollment e ON e.campaign_id = %(campaign)s AND e.resident_id = r.id
WHERE s.valid_from <= %(as_of)s AND (s.valid_to IS NULL OR s.valid_to >= %(as_of)s)
ORDER BY s.id
"""


@dataclass
class StudentCounts:
    listed: int = 0  # on the rosters in effect
    eligible: int = 0  # of them, may enroll in the campaign (or did)
    enrolled: int = 0  # of them, enrolled by the day

    @property
    def unpaid(self) -> int:
        return self.eligible - self.enrolled

    @property
    def rate(self) -> Decimal | None:
        """Enrolled of those who may enroll, in percent with one decimal; None without any."""
        return percent(self.enrolled, self.eligible)

    def add(self, eligible: bool, enrolled: bool) -> None:
        self.listed += 1
        self.eligible += eligible
        self.enrolled += enrolled

    def as_json(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "eligible": self.eligible,
            "enrolled": self.enrolled,
            "unpaid": self.unpaid,
            "rate": percent_text(self.rate),
        }

    def text(self) -> str:
        return (
            f"名册 {count_text(self.listed)} 人，可参保 {count_text(self.eligible)} 人，"
            f"已参保 {count_text(self.enrolled)} 人，参保率 {rate_text(self.rate)}，"
            f"未参保 {count_text(self.unpaid)} 人"
        )


@dataclass(frozen=True)
class UnpaidStudent:
    name: str
    id_number: str
    class_name: str
    student_number: str
    village_code: str
    village: str
    phone: str
    payable_fen: int | None  # None while not assessed or the amount is pending

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "class_name": self.class_name,
            "student_number": self.student_number,
            "village_code": self.village_code,
            "village": self.village,
            "phone": self.phone,
            "payable_fen": self.payable_fen,
        }


@dataclass
class GradeStudents:
    grade: str
    counts: StudentCounts = field(default_factory=StudentCounts)
    unpaid: list[UnpaidStudent] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            **self.counts.as_json(),
            "unpaid_students": [s.as_json() for s in self.unpaid],
        }


@dataclass
class SchoolStudents:
    school: str
    counts: StudentCounts = field(default_factory=StudentCounts)
    grades: dict[str, GradeStudents] = field(default_factory=dict)  # in the roster's order

    def as_json(self) -> dict[str, Any]:
        return {
            "school": self.school,
            **self.counts.as_json(),
            "grades": [g.as_json() for g in self.grades.values()],
        }


@dataclass(frozen=True)
class StudentsReport:
    campaign: Campaign
    as_of: date
    schools: list[SchoolStudents]  # by name
    total: StudentCounts

    @property
    def title(self) -> str:
        campaign = self.campaign
        return (
            f"{campaign.area.name}{campaign.coverage_year}年度在校学生参保情况"
            f"（截至{date_text(self.as_of)}）"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign.pk,
            "as_of": self.as_of.isoformat(),
            "schools": [s.as_json() for s in self.schools],
            "total": self.total.as_json(),
        }


def student_statistics(*, campaign: Campaign, as_of: date) -> StudentsReport:
    """The students of the rosters in effect on `as_of` by school and grade, enrolled in the
    campaign by the end of that day, and the unpaid ones by name."""
    params: dict[str, Any] = {
        "campaign": campaign.pk,
        "as_of": as_of,
        "true": True,
        "active": Resident.Status.ACTIVE.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(_STUDENTS_SQL, params)
        rows = cursor.fetchall()
    schools: dict[str, SchoolStudents] = {}
    total = StudentCounts()
    unpaid: list[tuple[GradeStudents, tuple[Any, ...]]] = []
    for row in rows:
        school_name, grade_name, *_, may_enroll, enrolled = row
        school = schools.setdefault(school_name, SchoolStudents(school_name))
        grade = school.grades.setdefault(grade_name, GradeStudents(grade_name))
        for counts in (total, school.counts, grade.counts):
            counts.add(bool(may_enroll), bool(enrolled))
        if may_enroll and not enrolled:
            unpaid.append((grade, row))
    ledger = positions(campaign=campaign, resident_ids=[row[4] for _, row in unpaid])
    for grade, row in unpaid:
        _, _, class_name, number, resident_id, name, id_number, phone, code, village, *_ = row
        grade.unpaid.append(
            UnpaidStudent(
                name=name,
                id_number=id_number,
                class_name=class_name,
                student_number=number,
                village_code=code,
                village=village,
                phone=phone,
                payable_fen=ledger[resident_id].due_fen,
            )
        )
    return StudentsReport(
        campaign=campaign,
        as_of=as_of,
        schools=[schools[name] for name in sorted(schools)],
        total=total,
    )


def students_text(report: StudentsReport) -> str:
    lines = [report.title]
    if not report.schools:
        lines.append("截至当日没有学校名册（canbao import schools 导入）。")
        return "\n".join(lines) + "\n"
    lines.append(f"合计：{report.total.text()}")
    for school in report.schools:
        lines.append(f"{school.school}：{school.counts.text()}")
        for grade in school.grades.values():
            lines.append(f"  {grade.grade}：{grade.counts.text()}")
            if grade.unpaid:
                named = "、".join(
                    f"{s.name}（{s.class_name}）" if s.class_name else s.name
                    for s in grade.unpaid[:NAMES_LISTED]
                )
                more = len(grade.unpaid) - NAMES_LISTED
                rest = f"…… 另有 {more} 人（全部见 --xlsx）" if more > 0 else ""
                lines.append(f"    未参保：{named}{rest}")
    return "\n".join(lines) + "\n"


def write_students_xlsx(report: StudentsReport, path: Path) -> None:
    """Two sheets: the counts by school and grade (each school's subtotal after its grades, the
    total last), and the unpaid students, one a row, for the schools to chase."""
    with xlsxwriter.Workbook(str(path)) as workbook:
        styles = Styles(workbook)
        sheet = workbook.add_worksheet("按学校年级")
        sheet.write_string(0, 0, report.title, styles.title)
        names = ["学校", "年级", "名册人数", "可参保", "已参保", "参保率", "未参保"]
        header(sheet, styles, 2, names, [30, 12, 11, 11, 11, 9, 10])
        row = 3
        for school in report.schools:
            for grade in school.grades.values():
                _counts(Row(sheet, styles, row).text(school.school).text(grade.grade), grade.counts)
                row += 1
            subtotal = Row(sheet, styles, row, total=True).text(school.school).text("小计")
            _counts(subtotal, school.counts)
            row += 1
        _counts(Row(sheet, styles, row, total=True).text("合计").text(""), report.total)
        sheet.freeze_panes(3, 0)

        unpaid = workbook.add_worksheet("未参保学生")
        unpaid.write_string(0, 0, f"{report.title}：未参保学生名单", styles.title)
        names = ["学校", "年级", "班级", "学籍号", "姓名", "公民身份号码", "村（社区）"]
        names += ["联系电话", "应缴（元）"]
        header(unpaid, styles, 2, names, [30, 12, 10, 22, 12, 22, 20, 14, 12])
        row = 3
        for school in report.schools:
            for grade in school.grades.values():
                for s in grade.unpaid:
                    cells = Row(unpaid, styles, row).text(school.school).text(grade.grade)
                    cells.text(s.class_name).text(s.student_number).text(s.name)
                    cells.text(s.id_number).text(s.village).text(s.phone).money(s.payable_fen)
                    row += 1
        unpaid.freeze_panes(3, 0)


def _counts(row: Row, counts: StudentCounts) -> None:
    row.count(counts.listed).count(counts.eligible).count(counts.enrolled)
    row.rate(counts.rate).count(counts.unpaid)
