"""The money pages, for each role: recording a cash payment (in scope only, exactly once, amounts
read exactly), the suspense list and its actions (recheck, reverse), withholding rounds and daily
reconciliation; who may see and who may act. The ledger is checked after every test
(tests.conftest)."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from canbao.collection.models import (
    Channel,
    Enrollment,
    Payment,
    Receipt,
    ReconciliationDay,
    Suspense,
    WithholdingBatch,
)
from canbao.collection.withholding import import_agreements
from canbao.masking import mask_id
from canbao.registry.models import AuditEntry
from tests.conftest import PASSWORD, csv_file
from tests.web.money_season import (
    LI,
    PAID_ON,
    STRANGER,
    SUN,
    ZHANG,
    ZHAO,
    MoneySeason,
    build_money_season,
    fix_the_registry,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def season(accounts: dict[str, Any], tmp_path: Path) -> MoneySeason:
    return build_money_season(tmp_path, accounts["admin"].user)


def logged_in(client: Client, username: str) -> Client:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, username
    return client


def pay(client: Client, pk: int, amount: str = "250", receipt: str = "1001") -> str:
    response = client.post(
        f"/payments/record/{pk}/",
        {"amount": amount, "receipt": receipt, "paid_on": PAID_ON.isoformat()},
    )
    assert response.status_code == 200
    return response.content.decode()


def without_csrf(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", html)


def hold_of(reason: str) -> Suspense:
    return Suspense.objects.get(reason=reason, resolved_at__isnull=True)


def cash() -> list[tuple[str, int, str]]:
    return list(
        Payment.objects.filter(channel=Channel.CASH).values_list(
            "key", "amount_fen", "resident__id_number"
        )
    )


# --- recording a cash payment ------------------------------------------------------------------


def test_a_collector_records_a_cash_payment_for_a_resident_of_her_village(
    client: Client, season: MoneySeason
) -> None:
    page = pay(logged_in(client, "collector"), season.pk(ZHANG))
    assert "已记账：收据 No.0001001，张建国缴费 250.00 元" in page
    assert "已参保：2019年11月20日缴清，待遇期 2020年1月1日 至 2020年12月31日" in page
    assert cash() == [("1001", 25000, ZHANG)]
    assert Receipt.objects.get(number=1001).payment.resident.id_number == ZHANG  # type: ignore[union-attr]
    assert Enrollment.objects.filter(resident__id_number=ZHANG).exists()
    actions = set(AuditEntry.objects.filter(username="collector").values_list("action", flat=True))
    assert {"use_receipts", "record_payments"} <= actions


def test_a_partial_cash_payment_shows_the_amount_held_and_why(
    client: Client, season: MoneySeason
) -> None:
    page = pay(logged_in(client, "collector"), season.pk(LI), amount="200.50")
    assert "尚未参保" in page
    assert "挂账 200.50 元（金额不足）：已缴200.5元，应缴250元" in page


def test_a_collector_gets_404_for_another_villages_resident_as_for_a_missing_one(
    client: Client, season: MoneySeason
) -> None:
    logged_in(client, "collector")
    other = client.get(f"/payments/record/{season.pk(SUN)}/")
    missing = client.get("/payments/record/999999/")
    assert other.status_code == missing.status_code == 404
    assert without_csrf(other.content.decode()) == without_csrf(missing.content.decode())
    posted = client.post(
        f"/payments/record/{season.pk(SUN)}/",
        {"amount": "250", "receipt": "2001", "paid_on": PAID_ON.isoformat()},
    )
    assert posted.status_code == 404
    assert cash() == []


def test_the_search_for_a_payer_finds_only_the_collectors_own_residents(
    client: Client, season: MoneySeason
) -> None:
    logged_in(client, "collector")
    page = client.post("/payments/record/", {"q": "张建国"}).content.decode()
    assert f'href="/payments/record/{season.pk(ZHANG)}/"' in page
    page = client.post("/payments/record/", {"q": SUN}).content.decode()
    assert "孙八" not in page
    assert "没有找到符合条件的人员" in page


def test_a_double_submitted_payment_records_once_and_says_so(
    client: Client, season: MoneySeason
) -> None:
    logged_in(client, "collector")
    pay(client, season.pk(ZHANG))
    again = pay(client, season.pk(ZHANG))
    assert "已记录：收据 No.0001001 的这笔缴费（250.00 元）此前已记账，本次没有重复记账" in again
    assert cash() == [("1001", 25000, ZHANG)]
    assert Receipt.objects.count() == 1
    assert AuditEntry.objects.filter(action="record_payments", username="collector").count() == 1


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        ("250.001", "金额“250.001”超过两位小数（分以下），请核对"),
        ("abc", "金额“abc”无法识别，请写成以元为单位的数字，例如 250 或 250.00"),
        ("0", "金额须大于0。"),
        ("-250", "金额“-250”无法识别"),
        ("3000", "超过本政策个人缴费250.00元的十倍"),
    ],
)
def test_an_amount_that_is_not_exact_yuan_is_refused_in_chinese_and_nothing_written(
    client: Client, season: MoneySeason, amount: str, said: str
) -> None:
    page = pay(logged_in(client, "collector"), season.pk(ZHANG), amount=amount)
    assert said in page
    assert cash() == []
    assert not Receipt.objects.exists()


def test_an_amount_in_yuan_becomes_exact_fen(client: Client, season: MoneySeason) -> None:
    pay(logged_in(client, "collector"), season.pk(LI), amount="0.29", receipt="1002")
    assert cash() == [("1002", 29, LI)]


def test_a_receipt_of_another_villages_book_is_refused(client: Client, season: MoneySeason) -> None:
    page = pay(logged_in(client, "collector"), season.pk(ZHANG), receipt="2001")
    assert "未记账：收据 No.0002001 属于德茂园村委会的收据本（收款人 陈收款）" in page
    assert cash() == []


def test_a_receipt_used_for_someone_else_is_refused(client: Client, season: MoneySeason) -> None:
    logged_in(client, "collector")
    pay(client, season.pk(ZHANG))
    page = pay(client, season.pk(LI))
    assert "收据 No.0001001 已于" in page
    assert "每张收据只能使用一次" in page
    assert cash() == [("1001", 25000, ZHANG)]


def test_a_receipt_number_that_is_not_a_number_is_refused(
    client: Client, season: MoneySeason
) -> None:
    page = pay(logged_in(client, "collector"), season.pk(ZHANG), receipt="No.A1")
    assert "收据号码“No.A1”须为收据上印的正整数号码" in page
    assert cash() == []


def test_a_township_clerk_records_for_any_village_of_the_township(
    client: Client, season: MoneySeason
) -> None:
    page = pay(logged_in(client, "township"), season.pk(SUN), receipt="2001")
    assert "已记账" in page
    assert cash() == [("2001", 25000, SUN)]


@pytest.mark.parametrize("username", ["auditor", "finance", "department"])
def test_roles_without_cash_collection_cannot_record_a_payment(
    client: Client, season: MoneySeason, username: str
) -> None:
    logged_in(client, username)
    response = client.post(
        f"/payments/record/{season.pk(ZHANG)}/",
        {"amount": "250", "receipt": "1001", "paid_on": PAID_ON.isoformat()},
    )
    assert response.status_code == 403
    assert cash() == []


# --- the suspense list ---------------------------------------------------------------------


def test_the_suspense_list_names_each_reason_and_what_resolves_it(
    client: Client, season: MoneySeason
) -> None:
    page = logged_in(client, "clerk").get("/payments/suspense/").content.decode()
    assert "未处理的挂账 2 笔，合计 500.00 元" in page
    stranger = hold_of(Suspense.Reason.UNKNOWN_PERSON)
    zhao = hold_of(Suspense.Reason.NOT_ELIGIBLE)
    assert f"/payments/suspense/{stranger.pk}/reverse/" in page
    assert f"/payments/suspense/{stranger.pk}/recheck/" not in page
    assert f"/payments/suspense/{zhao.pk}/recheck/" in page
    assert "已参加职工基本医疗保险，不能参加城乡居民医保" in page
    assert "改正登记、重新核定后重新核对" in page
    assert STRANGER in page


def test_the_auditor_sees_the_suspense_list_masked_and_cannot_act(
    client: Client, season: MoneySeason
) -> None:
    logged_in(client, "auditor")
    page = client.get("/payments/suspense/").content.decode()
    assert mask_id(STRANGER) in page
    assert STRANGER not in page
    assert "/reverse/" not in page
    assert "/recheck/" not in page
    stranger = hold_of(Suspense.Reason.UNKNOWN_PERSON)
    for url, data in (
        (f"/payments/suspense/{stranger.pk}/reverse/", {"reason": "退库"}),
        (f"/payments/suspense/{stranger.pk}/recheck/", {}),
        ("/payments/suspense/recheck/", {}),
    ):
        assert client.post(url, data).status_code == 403
    assert Suspense.objects.filter(resolved_at__isnull=True).count() == 2


@pytest.mark.parametrize("username", ["finance", "auditor"])
def test_finance_and_the_auditor_may_read_the_money_but_every_post_is_refused(
    client: Client, season: MoneySeason, username: str
) -> None:
    logged_in(client, username)
    assert client.get("/payments/").url == "/payments/suspense/"  # type: ignore[attr-defined]
    assert client.get("/payments/reconcile/").status_code == 200
    assert client.get("/payments/withholding/").status_code == 403
    for url in (
        "/payments/reconcile/",
        "/payments/reconcile/2019-11-20/close/",
        "/payments/withholding/file/",
        "/imports/?kind=payments",
    ):
        assert client.post(url, {"reason": "x"}).status_code == 403, url
    assert not ReconciliationDay.objects.exists()


def test_recheck_resolves_a_held_payment_once_the_registry_is_fixed(
    client: Client, season: MoneySeason, accounts: dict[str, Any], tmp_path: Path
) -> None:
    zhao = hold_of(Suspense.Reason.NOT_ELIGIBLE)
    fix_the_registry(tmp_path, accounts["admin"].user, season.campaign)
    logged_in(client, "clerk")
    row = client.post(f"/payments/suspense/{zhao.pk}/recheck/", headers=HTMX).content.decode()
    assert row.startswith('<div class="card mb-2" id="hold-')
    assert "已重新核对挂账缴费：新参保1人，挂账已处理1笔。" in row
    assert "已处理：已缴足，2019-11-20缴清参保" in row
    assert Enrollment.objects.filter(resident__id_number=ZHAO).exists()
    assert AuditEntry.objects.filter(action="recheck_held_payments", username="clerk").exists()


def test_recheck_before_the_registry_is_fixed_leaves_the_money_held(
    client: Client, season: MoneySeason
) -> None:
    zhao = hold_of(Suspense.Reason.NOT_ELIGIBLE)
    logged_in(client, "clerk")
    row = client.post(f"/payments/suspense/{zhao.pk}/recheck/", headers=HTMX).content.decode()
    assert "新参保0人" in row
    assert 'data-state="resolved"' not in row
    assert not Enrollment.objects.filter(resident__id_number=ZHAO).exists()


def test_a_clerk_reverses_an_unknown_persons_payment_from_the_list(
    client: Client, season: MoneySeason
) -> None:
    stranger = hold_of(Suspense.Reason.UNKNOWN_PERSON)
    logged_in(client, "clerk")
    row = client.post(
        f"/payments/suspense/{stranger.pk}/reverse/",
        {f"s{stranger.pk}-payment": stranger.payment_id, f"s{stranger.pk}-reason": "税务退库"},
        headers=HTMX,
    ).content.decode()
    assert "已冲正流水号T-STRANGER，冲正金额250.00元。" in row
    assert "已处理：该笔缴费已冲正：税务退库" in row
    reversal = Payment.objects.get(key="reversal:T-STRANGER")
    assert reversal.amount_fen == -25000
    audit = AuditEntry.objects.get(action="reverse_payment")
    assert (audit.username, audit.details["reason"]) == ("clerk", "税务退库")


def test_a_reversal_without_a_reason_is_refused_in_its_row(
    client: Client, season: MoneySeason
) -> None:
    stranger = hold_of(Suspense.Reason.UNKNOWN_PERSON)
    logged_in(client, "clerk")
    row = client.post(
        f"/payments/suspense/{stranger.pk}/reverse/",
        {f"s{stranger.pk}-payment": stranger.payment_id, f"s{stranger.pk}-reason": " "},
        headers=HTMX,
    ).content.decode()
    assert "未冲正：请写明冲正原因。" in row
    assert not Payment.objects.filter(reverses__isnull=False).exists()


def test_without_javascript_an_action_returns_to_the_list_with_its_outcome(
    client: Client, season: MoneySeason
) -> None:
    stranger = hold_of(Suspense.Reason.UNKNOWN_PERSON)
    logged_in(client, "clerk")
    response = client.post(
        f"/payments/suspense/{stranger.pk}/reverse/",
        {f"s{stranger.pk}-payment": stranger.payment_id, f"s{stranger.pk}-reason": "退还本人"},
        follow=True,
    )
    page = response.content.decode()
    assert "已冲正流水号T-STRANGER" in page
    assert "未处理的挂账 1 笔，合计 250.00 元" in page


def test_a_hold_of_another_campaign_or_none_at_all_is_not_found(
    client: Client, season: MoneySeason
) -> None:
    logged_in(client, "clerk")
    assert client.post("/payments/suspense/999999/recheck/").status_code == 404


# --- menus and tabs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "first_tab", "imports"),
    [
        ("clerk", "/payments/suspense/", True),
        ("collector", "/payments/record/", False),
        ("township", "/payments/record/", False),
        ("finance", "/payments/suspense/", False),
    ],
)
def test_the_menu_offers_money_and_imports_to_the_roles_that_have_them(
    client: Client, season: MoneySeason, username: str, first_tab: str, imports: bool
) -> None:
    logged_in(client, username)
    landing = client.get("/payments/")
    assert landing.url == first_tab  # type: ignore[attr-defined]
    page = client.get(first_tab).content.decode()
    assert 'class="nav-link active" href="/payments/"' in page
    assert ('href="/imports/"' in page) is imports


def test_a_department_clerk_has_imports_but_no_money_pages(
    client: Client, season: MoneySeason
) -> None:
    logged_in(client, "department")
    assert client.get("/payments/").status_code == 403
    page = client.get("/imports/").content.decode()
    assert 'href="/payments/"' not in page


# --- withholding ---------------------------------------------------------------------------


def test_a_clerk_makes_the_deduction_file_of_a_round_and_sees_the_round(
    client: Client, season: MoneySeason, accounts: dict[str, Any], tmp_path: Path
) -> None:
    agreements = csv_file(
        tmp_path / "agreements.csv",
        [["李秀英", LI, "农业银行", "6228480011112222", "李秀英", "2019-10-01"]],
        ("姓名", "公民身份号码", "开户银行", "账号", "户名", "签订日期"),
    )
    assert not import_agreements(path=agreements, actor=accounts["admin"].user).errors
    logged_in(client, "clerk")
    response = client.post("/payments/withholding/file/", {"retry": "0", "fmt": "csv"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert LI in text and "6228480011112222" in text and "25000" in text
    assert WithholdingBatch.objects.get().sequence == 1
    assert AuditEntry.objects.filter(action="withholding_batch", username="clerk").exists()
    page = client.get("/payments/withholding/").content.decode()
    assert "未回盘" in page
    assert "有效的三方协议 1 份" in page


def test_nothing_to_deduct_says_so_and_makes_no_round(client: Client, season: MoneySeason) -> None:
    logged_in(client, "clerk")
    response = client.post(
        "/payments/withholding/file/", {"retry": "0", "fmt": "xlsx"}, follow=True
    )
    assert "没有需要代扣的协议" in response.content.decode()
    assert not WithholdingBatch.objects.exists()


# --- daily reconciliation ------------------------------------------------------------------

TAX_HEADER = ("缴费日期", "交易流水号", "姓名", "公民身份号码", "金额（元）")


def reconcile(client: Client, tmp_path: Path, rows: list[list[str]]) -> Any:
    tax = csv_file(tmp_path / "tax.csv", rows, TAX_HEADER, title=None)
    with tax.open("rb") as stream:
        return client.post(
            "/payments/reconcile/",
            {"day": PAID_ON.isoformat(), "tax_file": stream},
            follow=True,
        )


def test_a_clerk_reconciles_a_day_explains_its_difference_closes_and_reopens_it(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    rows = [
        ["2019-11-20", "T-ZHAO", "赵六", ZHAO, "250"],
        ["2019-11-20", "T-STRANGER", "谢文", STRANGER, "250"],
    ]
    page = reconcile(client, tmp_path, rows).content.decode()
    assert "2019-11-20未对平：差异1项，其中1项未说明" in page
    assert "未导入该银行当日的入账" in page
    difference = ReconciliationDay.objects.get().differences.get()
    closed = client.post("/payments/reconcile/2019-11-20/close/", follow=True).content.decode()
    assert "还有1项差异未说明，不能结账" in closed
    row = client.post(
        f"/payments/reconcile/differences/{difference.pk}/explain/",
        {"reason": "银行次日补传"},
        headers=HTMX,
    ).content.decode()
    assert "已说明：银行次日补传（clerk）" in row
    closed = client.post("/payments/reconcile/2019-11-20/close/", follow=True).content.decode()
    assert "2019-11-20已结账（1项差异均已说明）" in closed
    assert ReconciliationDay.objects.get().status == "closed"
    refused = client.post(
        "/payments/reconcile/2019-11-20/reopen/", {"reason": ""}, follow=True
    ).content.decode()
    assert "须写明原因" in refused
    reopened = client.post(
        "/payments/reconcile/2019-11-20/reopen/", {"reason": "补录迟到缴费"}, follow=True
    ).content.decode()
    assert "已重新打开（原因：补录迟到缴费）" in reopened
    assert AuditEntry.objects.get(action="reopen_day").details["reason"] == "补录迟到缴费"


def test_a_tax_file_with_errors_is_refused_on_the_page_and_no_day_is_made(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    logged_in(client, "clerk")
    page = reconcile(
        client, tmp_path, [["2019-11-20", "T-ZHAO", "赵六", ZHAO, "250.001"]]
    ).content.decode()
    assert "税务明细有1处错误，未对账" in page
    assert "第2行【金额（元）】金额“250.001”超过两位小数" in page
    assert not ReconciliationDay.objects.exists()


def test_the_auditor_reads_a_reconciled_day_without_its_forms(
    client: Client, season: MoneySeason, tmp_path: Path
) -> None:
    reconcile(logged_in(client, "clerk"), tmp_path, [["2019-11-20", "T-ZHAO", "赵六", ZHAO, "250"]])
    client.post("/logout/")
    logged_in(client, "auditor")
    page = client.get("/payments/reconcile/2019-11-20/").content.decode()
    assert "2019年11月20日" in page
    assert "/close/" not in page and "/explain/" not in page
    difference = ReconciliationDay.objects.get().differences.first()
    assert difference is not None
    response = client.post(
        f"/payments/reconcile/differences/{difference.pk}/explain/", {"reason": "x"}
    )
    assert response.status_code == 403
    assert client.get("/payments/reconcile/2019-13-45/").status_code == 404
