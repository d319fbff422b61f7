"""The imports page, for each role: the kinds it may import, the same services as the command
(counts, row errors and their workbook, a check without importing, a repeat), the job polled
while it runs, and the audit rows each import and each download leave."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from canbao.collection.models import Enrollment, Payment
from canbao.registry.models import AuditEntry, CategoryFact, ImportBatch
from canbao.tabular import Column, read_table
from canbao.web.background import abandon_interrupted_imports, progress_of
from canbao.web.models import ImportJob
from canbao.web.views import imports
from tests.conftest import PASSWORD, csv_file
from tests.web.money_season import LI, ZHANG, MoneySeason, build_money_season

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
TAX_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（元）")


@pytest.fixture(autouse=True)
def uploads(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads wait in the test's folder; the import runs in the request, which sees the test's
    data (a thread's connection would not, on PostgreSQL)."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    monkeypatch.setattr(imports, "run_in_background", lambda work: work())
    return settings.UPLOAD_DIR


@pytest.fixture
def season(accounts: dict[str, Any], tmp_path: Path) -> MoneySeason:
    return build_money_season(tmp_path, accounts["admin"].user)


def logged_in(client: Client, username: str) -> Client:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, username
    return client


def tax_file(path: Path, *rows: list[str]) -> Path:
    return csv_file(path, list(rows), TAX_HEADER, title=None)


GOOD = (
    ["2019-11-20", "T1001", "张建国", ZHANG, "250"],
    ["2019-11-21", "T1002", "李秀英", LI, "250.00"],
)


def upload(client: Client, kind: str, path: Path, **fields: str) -> Any:
    with path.open("rb") as stream:
        return client.post(f"/imports/?kind={kind}", {"file": stream, **fields}, follow=True)


def test_a_county_clerk_imports_a_tax_payment_file_and_sees_what_it_did(
    client: Client, season: MoneySeason, tmp_path: Path, uploads: Path
) -> None:
    logged_in(client, "clerk")
    response = upload(client, "payments", tax_file(tmp_path / "税务明细.csv", *GOOD), channel="tax")
    page = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/imports/jobs/")
    assert "已导入（批次" in page and "共2行，新增2" in page
    assert "金额合计500.00元，其中新入账500.00元" in page and "新参保2人" in page
    batch = ImportBatch.objects.get(kind="payments")
    assert (batch.status, batch.file_name, batch.username) == ("committed", "税务明细.csv", "clerk")
    assert Enrollment.objects.filter(resident__id_number__in=[ZHANG, LI]).count() == 2
    audit = list(AuditEntry.objects.filter(batch=batch).values_list("action", flat=True))
    assert sorted(audit) == ["import_payments", "record_payments"]
    assert list(uploads.iterdir()) == []


def test_a_file_with_errors_shows_its_row_errors_and_the_workbook_downloads_with_them(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    bad = tax_file(
        tmp_path / "bad.csv",
        ["2019-11-20", "T1001", "张建国", ZHANG, "250.001"],
        ["2019-13-01", "T1002", "李秀英", LI, "250"],
    )
    page = upload(client, "payments", bad, channel="tax").content.decode()
    assert "发现2处错误，整批未导入" in page
    assert "第2行</td><td>金额（元）</td><td>金额“250.001”超过两位小数（分以下），请核对" in page
    assert "第3行</td><td>缴费日期</td><td>缴费日期“2019-13-01”无法识别" in page
    batch = ImportBatch.objects.get(kind="payments")
    assert batch.status == "refused"
    assert not Payment.objects.filter(key__in=["T1001", "T1002"]).exists()
    download = client.get(f"/imports/batches/{batch.pk}/errors.xlsx")
    assert download.status_code == 200
    saved = tmp_path / "errors.xlsx"
    saved.write_bytes(b"".join(download.streaming_content))  # type: ignore[attr-defined]
    columns = (Column("row", ("行号",)), Column("message", ("说明",)))
    rows = [values for _, values in read_table(saved, columns).rows()]
    assert rows[0][0] == "2" and "超过两位小数" in rows[0][1]
    assert rows[1][0] == "3" and "无法识别" in rows[1][1]
    export = AuditEntry.objects.get(action="export")
    assert (export.username, export.details["what"], export.details["batch"]) == (
        "clerk",
        "import_errors",
        batch.pk,
    )
    assert AuditEntry.objects.filter(action="import_payments_refused", batch=batch).count() == 1


def test_more_errors_than_the_page_lists_are_counted_and_all_in_the_workbook(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    rows = [["2019-11-20", f"T{n}", "张建国", ZHANG, "abc"] for n in range(25)]
    page = upload(client, "payments", tax_file(tmp_path / "many.csv", *rows), channel="tax")
    text = page.content.decode()
    assert text.count("无法识别") == 20
    assert "另有 5 处错误，见错误清单" in text


def test_a_check_without_importing_writes_nothing_and_its_errors_download_too(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    good = tax_file(tmp_path / "good.csv", *GOOD)
    page = upload(client, "payments", good, channel="tax", check="1").content.decode()
    assert "试导入：共2行，将新增2" in page and "未写入任何数据" in page
    assert not ImportBatch.objects.filter(kind="payments").exists()
    assert not Payment.objects.filter(key="T1001").exists()
    checked = AuditEntry.objects.get(action="import_payments_dry_run")
    assert (checked.username, checked.details["rows"]) == ("clerk", 2)
    bad = tax_file(tmp_path / "bad.csv", ["2019-11-20", "T1", "张建国", ZHANG, "x"])
    page = upload(client, "payments", bad, channel="tax", check="1").content.decode()
    assert "试导入：发现1处错误" in page
    job = ImportJob.objects.latest("pk")
    assert f"/imports/jobs/{job.pk}/errors.xlsx" in page
    assert client.get(f"/imports/jobs/{job.pk}/errors.xlsx").status_code == 200


def test_the_same_file_again_is_a_repeat_that_changes_nothing(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    path = tax_file(tmp_path / "good.csv", *GOOD)
    upload(client, "payments", path, channel="tax")
    page = upload(client, "payments", path, channel="tax").content.decode()
    assert "该文件已于" in page and "本次未作任何改动" in page
    assert ImportBatch.objects.filter(kind="payments").count() == 1
    assert Payment.objects.filter(key__in=["T1001", "T1002"]).count() == 2


def test_a_department_clerk_imports_its_own_category_and_no_other(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "department")
    page = client.get("/imports/").content.decode()
    assert "导入部门名册" in page
    assert "?kind=payments" not in page and "?kind=residents" not in page
    assert '<option value="rural_dibao"' in page and "extreme_poverty" not in page
    roster = csv_file(tmp_path / "低保.csv", [["李秀英", LI]], ("姓名", "公民身份号码"))
    done = upload(client, "roster", roster, category="rural_dibao", source="civil_affairs")
    assert "已导入（批次" in done.content.decode()
    assert CategoryFact.objects.filter(resident__id_number=LI, category="rural_dibao").exists()
    other = roster.with_name("特困.csv")
    other.write_bytes(roster.read_bytes() + f"张建国,{ZHANG}\n".encode())
    refused = upload(client, "roster", other, category="extreme_poverty", source="civil_affairs")
    assert refused.status_code == 403
    assert not CategoryFact.objects.filter(category="extreme_poverty").exists()
    assert upload(client, "payments", other, channel="tax").status_code == 403
    assert list(ImportBatch.objects.exclude(kind="residents").values_list("kind", flat=True)) == [
        "roster"
    ]


def test_a_department_clerk_sees_only_its_own_batches(client: Client, season: MoneySeason) -> None:
    logged_in(client, "department")
    page = client.get("/imports/?kind=roster").content.decode()
    assert "residents.csv" not in page  # the season's residents batch is the county's
    assert "还没有导入过" in page


@pytest.mark.parametrize("username", ["collector", "township", "auditor", "finance"])
def test_roles_without_an_import_permission_cannot_open_or_post_the_imports_page(
    client: Client, season: MoneySeason, tmp_path: Path, username: str
) -> None:
    logged_in(client, username)
    assert client.get("/imports/").status_code == 403
    path = tax_file(tmp_path / "good.csv", *GOOD)
    assert upload(client, "payments", path, channel="tax").status_code == 403
    assert not ImportBatch.objects.filter(kind="payments").exists()


def test_someone_elses_job_is_not_found(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    upload(client, "payments", tax_file(tmp_path / "good.csv", *GOOD), channel="tax")
    job = ImportJob.objects.get()
    client.post("/logout/")
    logged_in(client, "admin")
    assert client.get(f"/imports/jobs/{job.pk}/").status_code == 404
    assert client.get("/imports/jobs/999999/").status_code == 404


def test_the_page_polls_a_running_import_every_second_until_it_ends(
    client: Client, season: MoneySeason, accounts: dict[str, Any]
) -> None:
    job = ImportJob.objects.create(
        user=accounts["clerk"].user,
        kind="payments",
        label="缴费明细（税务）",
        file_name="big.csv",
        status=ImportJob.Status.RUNNING,
    )
    progress_of(job.pk)(40000)
    logged_in(client, "clerk")
    running = client.get(f"/imports/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert '已读取 <span data-figure="rows">40000</span> 行' in running
    job.status, job.result = ImportJob.Status.DONE, {"message": "已导入（批次9）", "rows": 1}
    job.save()
    done = client.get(f"/imports/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in done
    assert "已导入（批次9）" in done
    cache.clear()


def test_an_import_a_stopped_server_left_running_stops_polling_when_the_server_starts_again(
    client: Client, season: MoneySeason, accounts: dict[str, Any]
) -> None:
    job = ImportJob.objects.create(
        user=accounts["clerk"].user,
        kind="payments",
        label="缴费明细（税务）",
        file_name="big.csv",
        status=ImportJob.Status.RUNNING,
    )
    assert abandon_interrupted_imports() == 1
    logged_in(client, "clerk")
    page = client.get(f"/imports/jobs/{job.pk}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in page
    assert "网页服务重新启动时这次导入尚未完成，没有写入任何数据，请重新导入。" in page
    assert abandon_interrupted_imports() == 0


def test_a_usage_error_of_the_service_is_said_in_chinese(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    path = tax_file(tmp_path / "proxy.csv", *GOOD)
    page = upload(
        client, "payments", path, channel="tax", funder="medical_assistance"
    ).content.decode()
    assert "只有部门代缴才能指定代缴部门" in page
    assert not ImportJob.objects.exists()


def test_a_campaign_kind_before_any_campaign_is_refused_on_the_form(
    client: Client, accounts: dict[str, Any], tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    page = upload(client, "payments", tax_file(tmp_path / "t.csv", *GOOD), channel="tax")
    assert "还没有参保缴费工作，不能导入" in page.content.decode()


def test_a_file_that_is_not_a_table_is_refused_as_a_whole_in_chinese(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    junk = tmp_path / "照片.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a table")
    page = upload(client, "payments", junk, channel="tax").content.decode()
    assert "发现1处错误，整批未导入" in page
    assert "<td>整个文件</td><td></td><td>不支持的文件类型“.jpg”（照片.jpg）" in page


def test_a_file_over_the_upload_limit_is_refused_before_it_is_kept(
    client: Client, season: MoneySeason, tmp_path: Path, settings: Any, uploads: Path
) -> None:
    settings.UPLOAD_MAX_BYTES = 2**20
    logged_in(client, "clerk")
    big = tmp_path / "缴费明细.csv"
    big.write_bytes(b"x" * (2**20 + 1))
    page = upload(client, "payments", big, channel="tax").content.decode()
    assert "文件太大（1 MB），一次最多上传 1 MB" in page
    assert not ImportJob.objects.exists()
    assert not any(path.is_file() for path in uploads.rglob("*"))


def test_the_recent_batches_list_their_counts(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    upload(client, "payments", tax_file(tmp_path / "good.csv", *GOOD), channel="tax")
    page = client.get("/imports/?kind=payments").content.decode()
    assert "缴费明细（税务）" in page
    assert "good.csv" in page
    assert "residents.csv" in page  # the season's registry import, by the admin


def test_an_import_that_fails_unexpectedly_says_so_in_chinese_and_leaves_no_upload(
    client: Client,
    season: MoneySeason,
    tmp_path: Path,
    uploads: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(**arguments: Any) -> Any:
        raise RuntimeError("disk on fire")

    kind = replace(imports.KIND_BY_KEY["payments"], run=broken)
    monkeypatch.setitem(imports.KIND_BY_KEY, "payments", kind)
    logged_in(client, "clerk")
    page = upload(client, "payments", tax_file(tmp_path / "good.csv", *GOOD), channel="tax")
    text = page.content.decode()
    assert "未能导入：导入时出现意外错误，未写入任何数据" in text
    assert "disk on fire" not in text
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED
    assert list(uploads.iterdir()) == []
