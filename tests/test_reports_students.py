"""Students by school and grade (Chuxiong's monthly student statistics): the rosters in effect on
the day, enrollment as of the day from the ledger, the rate and the unpaid students by name."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from python_calamine import CalamineWorkbook

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import Channel
from canbao.collection.services import PaymentRow, record_payments
from canbao.idnumber import make
from canbao.regions.models import Division
from canbao.registry.rosters import import_roster
from canbao.registry.schools import import_schools
from canbao.registry.services import import_residents
from canbao.reports.students import StudentsReport, student_statistics
from tests.conftest import csv_file, resident, staff

pytestmark = pytest.mark.django_db

CHUXIONG = "532301"
LUCHENG, DONGGUA = "532301100001", "532301101201"
SCHOOL_HEADER = ("学校名称", "年级", "班级", "姓名", "公民身份号码", "学籍号")
PRIMARY, MIDDLE = "鹿城小学", "楚雄市第一中学"
AS_OF, LATER = date(2020, 11, 30), date(2020, 12, 31)
# Chuxiong's notice: 280 yuan a person; 建档立卡贫困人口 are subsidised 180, so pay 100.
FULL_FEN, POOR_FEN = 28_000, 10_000


def person(sequence: int, name: str, born: date, sex: str = "M") -> tuple[str, str]:
    return name, make(CHUXIONG, born, sequence, sex)  # type: ignore[arg-type]


LI_GUOHUA = person(1, "李国华", date(1982, 4, 3))
LI_MING = person(2, "李明", date(2013, 9, 1))
LI_LI = person(3, "李丽", date(2010, 2, 14), "F")
WANG_FANG = person(4, "王芳", date(1985, 7, 8), "F")
WANG_QIANG = person(5, "王强", date(2011, 5, 20))
ZHAO_GANG = person(6, "赵刚", date(1980, 1, 1))
ZHAO_PENG = person(7, "赵鹏", date(2006, 3, 3))  # insured elsewhere: listed, not chased
ZHAO_XUE = person(8, "赵雪", date(2013, 11, 11), "F")
CHEN_YONG = person(9, "陈勇", date(1979, 12, 12))
CHEN_CHEN = person(10, "陈晨", date(2011, 8, 8))
STRANGER = person(11, "周游", date(2006, 6, 6))  # not in the registry


@pytest.fixture
def campaign(db: None, tmp_path: Path) -> Campaign:
    county = Division.objects.create(code=CHUXIONG, name="楚雄市", level="county")
    for township, village, names in (
        ("532301100", LUCHENG, ("鹿城镇", "北浦社区居委会")),
        ("532301101", DONGGUA, ("东瓜镇", "东瓜村委会")),
    ):
        parent = Division.objects.create(
            code=township, name=names[0], level="township", parent=county
        )
        Division.objects.create(code=village, name=names[1], level="village", parent=parent)
    rows = [
        resident(*LI_GUOHUA, "H1", village=LUCHENG, phone="13908780001"),
        resident(*LI_MING, "H1", "子", LUCHENG),
        resident(*LI_LI, "H1", "女", LUCHENG),
        resident(*WANG_FANG, "H2", village=LUCHENG, phone="13908780002"),
        resident(*WANG_QIANG, "H2", "子", LUCHENG),
        resident(*ZHAO_GANG, "H3", village=DONGGUA),
        resident(*ZHAO_PENG, "H3", "子", DONGGUA, elsewhere="是"),
        resident(*ZHAO_XUE, "H3", "女", DONGGUA, phone="13908780003"),
        resident(*CHEN_YONG, "H4", village=DONGGUA),
        resident(*CHEN_CHEN, "H4", "子", DONGGUA),
    ]
    assert not import_residents(path=csv_file(tmp_path / "r.csv", rows), actor=staff("t")).errors
    poor = csv_file(tmp_path / "poor.csv", [list(WANG_QIANG)], ("姓名", "公民身份号码"))
    assert not import_roster(
        path=poor, category="registered_poor", source="rural_revitalization", actor=staff("t")
    ).errors
    schools(
        tmp_path / "september.csv",
        date(2020, 9, 1),
        [PRIMARY, "一年级", "1班", *LI_MING],
        [PRIMARY, "一年级", "2班", *ZHAO_XUE],
        [PRIMARY, "三年级", "1班", *WANG_QIANG],
        [PRIMARY, "三年级", "1班", *CHEN_CHEN],
        [PRIMARY, "五年级", "1班", *LI_LI],
        [MIDDLE, "九年级", "3班", *ZHAO_PENG],
        [MIDDLE, "九年级", "3班", *STRANGER],
    )
    campaign = open_campaign(area_code=CHUXIONG, policy="chuxiong-2021", actor=staff("t"))
    assess_campaign(campaign=campaign, actor=staff("t"))
    pay(campaign, date(2020, 10, 15), LI_MING, FULL_FEN)
    pay(campaign, date(2020, 11, 20), WANG_QIANG, POOR_FEN)
    pay(campaign, date(2020, 11, 25), CHEN_CHEN, 20_000)  # short: held, not enrolled
    pay(campaign, date(2020, 12, 5), ZHAO_XUE, FULL_FEN)  # after the day of the report
    return campaign


def schools(path: Path, as_of: date, *rows: list[str]) -> None:
    rows_with_number = [[*row, ""] for row in rows]
    roster = csv_file(path, rows_with_number, SCHOOL_HEADER, title="楚雄市在校学生名册")
    assert not import_schools(path=roster, as_of=as_of, actor=staff("教育局")).errors


def pay(campaign: Campaign, day: date, who: tuple[str, str], fen: int) -> None:
    name, id_number = who
    key = f"T{day:%m%d}{id_number}"
    row = PaymentRow(key=key, paid_on=day, amount_fen=fen, id_number=id_number, name=name)
    record_payments(
        campaign=campaign, channel=Channel.TAX, rows=[row], batch=None, actor=staff("t")
    )


def figures(report: StudentsReport) -> list[tuple[object, ...]]:
    """(school, grade or "", listed, eligible, enrolled, rate, unpaid names)."""
    rows: list[tuple[object, ...]] = []
    for school in report.schools:
        c = school.counts
        rows.append((school.school, "", c.listed, c.eligible, c.enrolled, c.rate))
        for grade in school.grades.values():
            g = grade.counts
            names = [s.name for s in grade.unpaid]
            rows.append(
                (school.school, grade.grade, g.listed, g.eligible, g.enrolled, g.rate, names)
            )
    return rows


def test_students_by_school_and_grade_enrolled_as_of_the_day(campaign: Campaign) -> None:
    report = student_statistics(campaign=campaign, as_of=AS_OF)
    # Schools by name, grades as the roster lists them; the stranger is not in the registry.
    assert figures(report) == [
        (MIDDLE, "", 1, 0, 0, None),
        (MIDDLE, "九年级", 1, 0, 0, None, []),
        (PRIMARY, "", 5, 5, 2, Decimal("40.0")),
        (PRIMARY, "一年级", 2, 2, 1, Decimal("50.0"), ["赵雪"]),
        (PRIMARY, "三年级", 2, 2, 1, Decimal("50.0"), ["陈晨"]),
        (PRIMARY, "五年级", 1, 1, 0, Decimal("0.0"), ["李丽"]),
    ]
    total = report.total
    assert (total.listed, total.eligible, total.enrolled, total.unpaid, total.rate) == (
        6,
        5,
        2,
        3,
        Decimal("40.0"),
    )
    # The amounts owed are the ledger's: 陈晨's short 200 yuan are held, the 280 still due.
    first_grade = report.schools[1].grades["一年级"]
    zhao_xue = first_grade.unpaid[0]
    assert (zhao_xue.class_name, zhao_xue.village, zhao_xue.phone, zhao_xue.payable_fen) == (
        "2班",
        "东瓜村委会",
        "13908780003",
        FULL_FEN,
    )
    assert report.schools[1].grades["三年级"].unpaid[0].payable_fen == FULL_FEN


def test_a_registered_poor_student_is_chased_for_100_yuan(campaign: Campaign) -> None:
    before = student_statistics(campaign=campaign, as_of=date(2020, 11, 19))
    third = before.schools[1].grades["三年级"]
    assert [(s.name, s.payable_fen) for s in third.unpaid] == [
        ("王强", POOR_FEN),
        ("陈晨", FULL_FEN),
    ]


def test_a_past_day_comes_out_the_same_after_payments_and_a_later_roster(
    campaign: Campaign, tmp_path: Path
) -> None:
    before = student_statistics(campaign=campaign, as_of=AS_OF).as_json()
    # December: 李丽 has left 鹿城小学, 陈晨 moved to class 2, and 陈晨 pays the rest.
    schools(
        tmp_path / "december.csv",
        date(2020, 12, 1),
        [PRIMARY, "一年级", "1班", *LI_MING],
        [PRIMARY, "一年级", "2班", *ZHAO_XUE],
        [PRIMARY, "三年级", "1班", *WANG_QIANG],
        [PRIMARY, "三年级", "2班", *CHEN_CHEN],
    )
    pay(campaign, date(2020, 12, 10), CHEN_CHEN, 8_000)

    assert student_statistics(campaign=campaign, as_of=AS_OF).as_json() == before
    later = student_statistics(campaign=campaign, as_of=LATER)
    assert figures(later)[2:] == [
        (PRIMARY, "", 4, 4, 4, Decimal("100.0")),
        (PRIMARY, "一年级", 2, 2, 2, Decimal("100.0"), []),
        (PRIMARY, "三年级", 2, 2, 2, Decimal("100.0"), []),
    ]


def run(*args: str) -> str:
    out = StringIO()
    call_command("report", "students", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_json_text_and_a_workbook(
    as_admin: None, campaign: Campaign, tmp_path: Path
) -> None:
    data = json.loads(run("--as-of", "2020-11-30", "--json"))
    assert set(data) == {"campaign", "as_of", "schools", "total"}
    assert data["total"] == {
        "listed": 6,
        "eligible": 5,
        "enrolled": 2,
        "unpaid": 3,
        "rate": "40.0",
    }
    primary = data["schools"][1]
    assert set(primary) == {"school", "listed", "eligible", "enrolled", "unpaid", "rate", "grades"}
    fifth = primary["grades"][2]
    assert (fifth["grade"], fifth["rate"]) == ("五年级", "0.0")
    assert fifth["unpaid_students"] == [
        {
            "name": "李丽",
            "id_number": LI_LI[1],
            "class_name": "1班",
            "student_number": "",
            "village_code": LUCHENG,
            "village": "北浦社区居委会",
            "phone": "",
            "payable_fen": FULL_FEN,
        }
    ]
    assert data["schools"][0]["rate"] is None  # no student of it may enroll here

    text = run("--as-of", "2020-11-30")
    assert text.splitlines()[:3] == [
        "楚雄市2021年度在校学生参保情况（截至2020年11月30日）",
        "合计：名册 6 人，可参保 5 人，已参保 2 人，参保率 40.0%，未参保 3 人",
        f"{MIDDLE}：名册 1 人，可参保 0 人，已参保 0 人，参保率 —，未参保 0 人",
    ]
    assert "    未参保：赵雪（2班）" in text.splitlines()

    path = tmp_path / "students.xlsx"
    run("--as-of", "2020-11-30", "--xlsx", str(path))
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["按学校年级", "未参保学生"]
    counts = book.get_sheet_by_name("按学校年级").to_python()
    assert counts[5][:7] == [PRIMARY, "一年级", 2, 2, 1, 0.5, 1]
    assert counts[-1][:7] == ["合计", "", 6, 5, 2, 0.4, 3]
    unpaid = book.get_sheet_by_name("未参保学生").to_python()
    assert [r[4] for r in unpaid[3:]] == ["赵雪", "陈晨", "李丽"]
    assert unpaid[3][8] == 280
