"""The money pages in a real browser, on a county of their own (tests.web.money_season) served by
``canbao serve``: the county clerk imports a payment file with errors, downloads the error list
and imports the good file; a collector records a cash payment on her phone; the clerk reverses a
held payment from the suspense list and reconciles a day. Screenshots at phone and desktop width.

The tests run in order on the one county of this module."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from canbao.tabular import Column, read_table
from tests.browser.conftest import PHONE, County, log_in, screenshots, serve_county
from tests.conftest import csv_file
from tests.web.money_season import LI, STRANGER, ZHANG

MONEY_COUNTY = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.web.money_season import build_money_county
print(json.dumps(build_money_county(Path(sys.argv[1]))))
"""
TAX_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（元）")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    yield from serve_county(tmp_path_factory.mktemp("money-county"), MONEY_COUNTY)


def in_county(county: County, code: str) -> str:
    """Run Python ``code`` against the served county's database; its last printed line."""
    setup = "import django\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", setup + code],
        env=county.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def upload_payments(page: Page, path: Path) -> None:
    page.get_by_label("缴费渠道").select_option("tax")
    page.get_by_label("文件", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="导入", exact=True).click()


def test_the_clerk_imports_a_file_with_errors_downloads_them_then_imports_the_good_one(
    page: Page, county: County, tmp_path: Path
) -> None:
    bad = csv_file(
        tmp_path / "税务明细-有错.csv",
        [
            ["2019-11-21", "T1002", "李秀英", LI, "250.001"],
            ["2019-11-32", "T1003", "张建国", ZHANG, "250"],
        ],
        TAX_HEADER,
        title=None,
    )
    good = csv_file(
        tmp_path / "税务明细.csv",
        [["2019-11-21", "T1002", "李秀英", LI, "250"]],
        TAX_HEADER,
        title=None,
    )
    log_in(page, "clerk")
    page.get_by_role("link", name="导入").click()
    page.get_by_role("link", name="缴费明细").click()
    screenshots(page, "imports")

    upload_payments(page, bad)
    expect(page.get_by_text("发现2处错误，整批未导入")).to_be_visible()
    errors = page.locator("[data-table=errors]")
    expect(errors).to_contain_text("金额“250.001”超过两位小数（分以下），请核对")
    expect(errors).to_contain_text("缴费日期“2019-11-32”无法识别")
    screenshots(page, "import-errors")
    with page.expect_download() as downloading:
        page.get_by_role("link", name="下载错误清单（.xlsx）").click()
    saved = tmp_path / "errors.xlsx"
    downloading.value.save_as(saved)
    columns = (Column("row", ("行号",)), Column("message", ("说明",)))
    rows = [values for _, values in read_table(saved, columns).rows()]
    assert [row[0] for row in rows] == ["2", "3"]
    assert "超过两位小数" in rows[0][1]

    page.get_by_role("link", name="改正后重新导入").click()
    upload_payments(page, good)
    done = page.locator("#job[data-status=done]")
    expect(done).to_contain_text("已导入（批次")
    expect(done).to_contain_text("共1行，新增1")
    expect(done).to_contain_text("新参保1人")
    screenshots(page, "import-done")
    expect(page.locator("[data-table=batches]")).to_be_hidden()
    page.goto("/imports/?kind=payments")
    batches = page.locator("[data-table=batches]")
    expect(batches).to_contain_text("税务明细.csv")
    expect(batches).to_contain_text("有错误，未导入")


def test_a_running_import_shows_its_progress_and_the_page_turns_to_the_result_by_itself(
    page: Page, county: County
) -> None:
    job = in_county(
        county,
        "from django.contrib.auth import get_user_model\n"
        "from canbao.web.models import ImportJob\n"
        "job = ImportJob.objects.create(user=get_user_model().objects.get(username='clerk'),"
        " kind='payments', label='缴费明细（税务）', file_name='税务明细-全县.csv',"
        " status='running')\n"
        "print(job.pk)",
    )
    log_in(page, "clerk")
    page.goto(f"/imports/jobs/{job}/")
    progress = page.locator("[data-section=progress]")
    expect(progress).to_contain_text("正在导入")
    screenshots(page, "import-progress")
    result = {"message": "已导入（批次99）：共120000行，新增120000、更新0、未变0。", "rows": 120000}
    in_county(
        county,
        "from canbao.web.models import ImportJob\n"
        f"ImportJob.objects.filter(pk={job}).update(status='done', result={result!r})",
    )
    expect(page.locator("[data-section=done]")).to_contain_text("已导入（批次99）", timeout=5_000)
    assert page.url.endswith(f"/imports/jobs/{job}/")


def test_a_collector_records_a_cash_payment_on_her_phone(page: Page, county: County) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, "collector")
    page.goto("/payments/")
    page.get_by_label("谁缴的钱？输入身份证号码、姓名或户编号").fill("张建国")
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name="张建国").click()
    expect(page.locator("[data-section=payer]")).to_contain_text("尚未参保")
    page.get_by_label("金额（元）").fill("250.001")
    page.get_by_label("收据号码").fill("1001")
    page.get_by_label("缴费日期").fill("2019-11-20")
    page.get_by_role("button", name="记账").click()
    expect(page.get_by_text("金额“250.001”超过两位小数（分以下），请核对")).to_be_visible()
    screenshots(page, "record-payment")
    page.set_viewport_size(PHONE)
    page.get_by_label("金额（元）").fill("250")
    page.get_by_role("button", name="记账").click()
    expect(page.locator("[data-section=recorded]")).to_contain_text(
        "已记账：收据 No.0001001，张建国缴费 250.00 元（2019年11月20日）"
    )
    expect(page.locator("[data-state=enrolled]")).to_contain_text("已参保：2019年11月20日缴清")
    screenshots(page, "record-payment-done")


def test_the_clerk_reverses_a_held_payment_in_its_row_of_the_suspense_list(
    page: Page, county: County
) -> None:
    log_in(page, "clerk")
    page.get_by_role("link", name="收缴").click()
    expect(page.get_by_text("未处理的挂账 2 笔，合计 500.00 元")).to_be_visible()
    screenshots(page, "suspense")
    hold = page.locator("[data-reason=unknown_person]")
    expect(hold).to_contain_text(STRANGER)
    hold.get_by_text("冲正……").click()
    hold.get_by_label("冲正原因").fill("税务退库")
    hold.get_by_role("button", name="冲正", exact=True).click()
    expect(hold).to_contain_text("已冲正流水号T-STRANGER，冲正金额250.00元。")
    expect(hold.locator("[data-state=resolved]")).to_contain_text("该笔缴费已冲正：税务退库")
    assert page.url.endswith("/payments/suspense/")
    screenshots(page, "suspense-resolved")


def test_the_clerk_reconciles_a_day_explains_its_difference_and_closes_it(
    page: Page, county: County, tmp_path: Path
) -> None:
    tax = csv_file(
        tmp_path / "税务-1121.csv",
        [["2019-11-21", "T1002", "李秀英", LI, "250"]],
        TAX_HEADER,
        title=None,
    )
    log_in(page, "clerk")
    page.goto("/payments/reconcile/")
    page.get_by_label("对账日期").fill("2019-11-21")
    page.get_by_label("税务部门当日缴费明细").set_input_files(str(tax))
    page.get_by_role("button", name="对账").click()
    expect(page.get_by_text("2019-11-21未对平：差异1项，其中1项未说明")).to_be_visible()
    difference = page.locator("[data-difference]")
    expect(difference).to_contain_text("未导入该银行当日的入账")
    difference.get_by_label("差异原因").fill("银行次日补传")
    difference.get_by_role("button", name="说明").click()
    expect(difference.locator("[data-state=explained]")).to_contain_text("银行次日补传")
    page.get_by_role("button", name="结账").click()
    expect(page.get_by_text("2019-11-21已结账（1项差异均已说明）")).to_be_visible()
    screenshots(page, "reconcile-day")
    page.goto("/payments/reconcile/")
    expect(page.locator("[data-table=days]")).to_contain_text("已结账")
    screenshots(page, "reconcile")
    page.goto("/payments/withholding/")
    expect(page.get_by_text("还没有生成过代扣文件")).to_be_visible()
    screenshots(page, "withholding")
    closed = json.loads(
        in_county(
            county,
            "import json\nfrom canbao.collection.models import ReconciliationDay\n"
            "print(json.dumps(list(ReconciliationDay.objects.values_list('status', flat=True))))",
        )
    )
    assert closed == ["closed"]
