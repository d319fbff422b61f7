"""The demo's school roster (学校名册), where the notice has the education bureau report students
(Chuxiong: monthly student statistics): the county's registered children of school age on the
first day of the autumn term, each at their township's primary or middle school or the county's
senior high school by age, and one pupil from another county the registry does not know. It is
imported with ``canbao import schools`` and the season ends with ``canbao report students``.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Max

from canbao.campaigns.models import Campaign
from canbao.collection.models import Payment
from canbao.idnumber import make
from canbao.registry.models import Resident
from canbao.reports.documents.formats import count_text, date_text, rate_text

if TYPE_CHECKING:
    from canbao.demo.runner import SeasonDemo

__all__ = ["TERM_STARTS", "school_statistics", "write_school_roster"]

# The presets whose notice names the education bureau's student statistics: the day their
# school roster is dated (the autumn term's first day in the collection period).
TERM_STARTS = {"chuxiong-2021": date(2020, 9, 1)}
GRADES: tuple[str, ...] = ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级")
GRADES += ("七年级", "八年级", "九年级", "高一", "高二", "高三")
FIRST_AGE = 6  # 一年级
HEADER = ("学校名称", "年级", "班级", "姓名", "公民身份号码", "学籍号")
SCHOOLS_SHOWN = 5


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def write_school_roster(*, county_code: str, county_name: str, term_start: date, path: Path) -> int:
    """Write the roster (unchanged bytes when run again, so a second import is a repeat);
    return its number of students."""
    rows: list[tuple[str, ...]] = []
    residents = (
        Resident.objects.filter(
            village__code__startswith=county_code, status=Resident.Status.ACTIVE
        )
        .values_list("name", "id_number", "birth_date", "village__parent__name")
        .order_by("village__code", "household__number", "pk")
    )
    for name, id_number, born, township in residents:
        grade = -1 if born is None else _age(born, term_start) - FIRST_AGE
        if not 0 <= grade < len(GRADES):
            continue
        if grade < 6:
            school = f"{township}中心小学"
        elif grade < 9:
            school = f"{township}中学"
        else:
            school = f"{county_name}第一中学"
        rows.append((school, GRADES[grade], f"{len(rows) % 2 + 1}班", name, id_number))
    # A pupil whose hukou is in another county (楚雄州双柏县): the school lists them, the
    # registry does not know them.
    stranger = make("532322", date(term_start.year - 9, 3, 15), 7, "M")
    school = rows[0][0] if rows else f"{county_name}第一中学"
    rows.append((school, "三年级", "1班", "李想", stranger))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f"{county_name}{term_start.year}年秋季学期在校学生名册"])
    writer.writerow(HEADER)
    writer.writerows([*row, f"G{row[4]}"] for row in rows)
    data = buffer.getvalue().encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return len(rows)


def school_statistics(demo: SeasonDemo, campaign: Campaign) -> None:
    """Import the school roster and print the student statistics as of the season's last
    payment day, where the preset's notice has the education bureau report them."""
    term_start = TERM_STARTS.get(demo.preset.preset)
    as_of = Payment.objects.filter(campaign=campaign).aggregate(day=Max("paid_on"))["day"]
    if term_start is None or as_of is None:
        return
    demo.write("\n== 在校学生参保情况（教育部门按月统计）")
    county = demo.preset.county
    path = demo.out_dir / "学校名册.csv"
    students = write_school_roster(
        county_code=county.code, county_name=county.name, term_start=term_start, path=path
    )
    demo.say(f"学校名册（{date_text(term_start)}起）：{students} 名学生")
    report, status = demo.call("import", "schools", str(path), "--as-of", term_start.isoformat())
    if status:
        demo.refused(report)
        return
    demo.say(report["message"])
    for person in report["unknown"]:
        demo.say(f"  待核实：第{person['row']}行 {person['name']}（{person['id_number']}）")
    report, _ = demo.call(
        "report", "students", "--as-of", as_of.isoformat(), "--campaign", demo.campaign_id
    )
    demo.say(f"截至{date_text(as_of)}：{_counts(report['total'])}")
    for school in report["schools"][:SCHOOLS_SHOWN]:
        demo.say(f"  {school['school']}：{_counts(school)}")
    if len(report["schools"]) > SCHOOLS_SHOWN:
        demo.say(f"  …… 另有 {len(report['schools']) - SCHOOLS_SHOWN} 所学校")


def _counts(row: dict[str, Any]) -> str:
    rate = rate_text(Decimal(row["rate"]) if row["rate"] is not None else None)
    return (
        f"名册 {count_text(row['listed'])} 人，可参保 {count_text(row['eligible'])} 人，"
        f"已参保 {count_text(row['enrolled'])} 人，参保率 {rate}，"
        f"未参保 {count_text(row['unpaid'])} 人"
    )
