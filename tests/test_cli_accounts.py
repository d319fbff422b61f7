"""Accounts on the command line: `canbao account`, and `--as` (or CANBAO_AS) checked before a
command does anything, its work recorded under the account with "命令行" as origin."""

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from canbao.accounts.models import Account, ApiToken
from canbao.accounts.services import account_for_token
from canbao.registry.models import AuditEntry, CategoryFact, ImportBatch
from canbao.request_origin import COMMAND_LINE
from tests.conftest import OTHER_VILLAGE, PASSWORD, VILLAGE, csv_file, person_id, resident

ROSTER_HEADER = ("姓名", "身份证号")


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Exit status, stdout, and stderr (or a usage error's message) of a command."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as stop:
        return int(stop.code or 0), out.getvalue(), err.getvalue()
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    finally:
        sys.stdin = saved
    return 0, out.getvalue(), err.getvalue()


def household(tmp_path: Path) -> Path:
    return csv_file(tmp_path / "户籍.csv", [resident("张建国", person_id(1))])


def roster(tmp_path: Path) -> Path:
    return csv_file(tmp_path / "名册.csv", [["张建国", person_id(1)]], ROSTER_HEADER, title=None)


# --- who a command acts as -------------------------------------------------------------------


def test_an_import_without_an_account_is_a_usage_error_and_writes_nothing(
    accounts: dict[str, Account], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANBAO_AS", raising=False)
    status, _, message = run("import", "residents", str(household(tmp_path)))
    assert status == 2
    assert message == (
        "须指明以哪个账号操作：加 --as 账号，或设环境变量 CANBAO_AS=账号"
        "（账号由 canbao account add 建立）"
    )
    assert not ImportBatch.objects.exists()


def test_an_unknown_account_is_refused_before_any_work(
    accounts: dict[str, Account], tmp_path: Path
) -> None:
    status, _, message = run("import", "residents", str(household(tmp_path)), "--as", "nobody")
    assert (status, message) == (2, "没有账号“nobody”")
    assert not ImportBatch.objects.exists()


def test_an_unknown_account_in_the_environment_says_where_it_came_from(
    accounts: dict[str, Account], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANBAO_AS", "nobody")
    status, _, message = run("import", "residents", str(household(tmp_path)))
    assert (status, message) == (2, "没有账号“nobody”（环境变量 CANBAO_AS）")


def test_a_disabled_account_is_refused(accounts: dict[str, Account], tmp_path: Path) -> None:
    assert run("account", "disable", "clerk", "--as", "admin")[0] == 0
    status, _, message = run("import", "residents", str(household(tmp_path)), "--as", "clerk")
    assert (status, message) == (2, "账号“clerk”已停用")
    assert not ImportBatch.objects.exists()


def test_a_user_without_a_role_is_refused(accounts: dict[str, Account], tmp_path: Path) -> None:
    get_user_model().objects.create_user(username="norole", password=PASSWORD)
    status, _, message = run("import", "residents", str(household(tmp_path)), "--as", "norole")
    assert (status, message) == (2, "账号“norole”没有角色，不能操作 Canbao")


def test_an_auditor_cannot_import_payments(accounts: dict[str, Account], tmp_path: Path) -> None:
    path = tmp_path / "税务.csv"
    args = ("import", "payments", "--channel", "tax", str(path), "--as", "auditor")
    status, _, message = run(*args)
    assert status == 2
    assert message == (
        "账号“auditor”（审计人员）没有“导入缴费明细和银行入账”的权限，不能执行这项操作"
    )


def test_the_auditor_checks_the_ledger_and_the_clerk_may_not(
    accounts: dict[str, Account],
) -> None:
    assert run("check", "ledger", "--as", "auditor")[:2] == (0, "还没有参保缴费工作，无账可核。\n")
    status, _, message = run("check", "ledger", "--as", "clerk")
    assert status == 2 and "没有“审计（操作记录、账目核对）”的权限" in message


def test_a_department_imports_the_roster_of_its_own_category_only(
    accounts: dict[str, Account], tmp_path: Path
) -> None:
    assert run("import", "residents", str(household(tmp_path)), "--as", "clerk")[0] == 0
    other = ("import", "roster", "--category", "extreme_poverty", "--source", "civil_affairs")
    status, _, message = run(*other, str(roster(tmp_path)), "--as", "department")
    assert (status, message) == (2, "账号“department”不负责特困人员名册，不能导入")
    assert not CategoryFact.objects.exists()
    own = ("import", "roster", "--category", "rural_dibao", "--source", "civil_affairs")
    status, out, _ = run(*own, str(roster(tmp_path)), "--as", "department")
    assert status == 0 and out.startswith("已导入")
    assert list(CategoryFact.objects.values_list("category", flat=True)) == ["rural_dibao"]


def test_the_audit_row_names_the_account_and_the_command_line(
    accounts: dict[str, Account], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANBAO_AS", "auditor")  # --as comes first
    assert run("import", "residents", str(household(tmp_path)), "--as", "clerk")[0] == 0
    entry = AuditEntry.objects.get(action="import_residents")
    clerk = accounts["clerk"].user
    assert (entry.user_id, entry.username, entry.origin) == (clerk.pk, "clerk", COMMAND_LINE)
    assert ImportBatch.objects.get().username == "clerk"


def test_a_report_of_totals_needs_no_account_and_its_file_is_an_audited_export(
    accounts: dict[str, Account], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANBAO_AS", raising=False)
    assert run("import", "residents", str(household(tmp_path)), "--as", "clerk")[0] == 0
    opened = ("campaign", "open", "--area", "430922", "--policy", "daligang-2020")
    assert run(*opened, "--as", "admin")[0] == 0
    assert run("report", "coverage", "--as-of", "2019-11-20")[0] == 0
    path = tmp_path / "进度.xlsx"
    status, _, message = run("report", "coverage", "--as-of", "2019-11-20", "--xlsx", str(path))
    assert status == 2 and "须指明以哪个账号操作" in message and not path.exists()
    written = ("report", "coverage", "--as-of", "2019-11-20", "--xlsx", str(path))
    assert run(*written, "--as", "township")[0] == 0 and path.is_file()
    export = AuditEntry.objects.get(action="export")
    assert (export.username, export.origin) == ("township", COMMAND_LINE)
    assert export.details["what"] == "report coverage"
    assert export.details["files"] == [str(path)] and export.details["as_of"] == "2019-11-20"


def test_a_collector_cannot_list_another_villages_follow_up(
    accounts: dict[str, Account], tmp_path: Path
) -> None:
    assert run("import", "residents", str(household(tmp_path)), "--as", "clerk")[0] == 0
    opened = ("campaign", "open", "--area", "430922", "--policy", "daligang-2020")
    assert run(*opened, "--as", "admin")[0] == 0
    status, _, message = run("report", "followup", "--village", VILLAGE, "--as", "outsider")
    assert (status, message) == (2, f"区划代码 {VILLAGE} 不在本账号负责的范围内")
    status, out, _ = run("report", "followup", "--village", OTHER_VILLAGE, "--as", "outsider")
    assert status == 0 and "德茂园村委会" in out


def test_a_resident_outside_the_collectors_village_is_not_there(
    accounts: dict[str, Account], tmp_path: Path
) -> None:
    assert run("import", "residents", str(household(tmp_path)), "--as", "clerk")[0] == 0
    opened = ("campaign", "open", "--area", "430922", "--policy", "daligang-2020")
    assert run(*opened, "--as", "admin")[0] == 0
    number = person_id(1)
    status, _, message = run("payments", "position", number, "--as", "outsider")
    assert (status, message) == (2, f"登记库中没有证件号码为{number}的人员")
    assert not AuditEntry.objects.filter(action="view_resident").exists()
    status, out, _ = run("payments", "position", number, "--as", "collector")
    assert status == 0 and out.startswith("张建国")
    viewed = AuditEntry.objects.get(action="view_resident")
    assert (viewed.username, viewed.origin) == ("collector", COMMAND_LINE)


def test_the_auditor_reads_a_residents_position_with_the_id_number_masked(
    accounts: dict[str, Account], tmp_path: Path
) -> None:
    assert run("import", "residents", str(household(tmp_path)), "--as", "clerk")[0] == 0
    opened = ("campaign", "open", "--area", "430922", "--policy", "daligang-2020")
    assert run(*opened, "--as", "admin")[0] == 0
    number = person_id(1)
    masked = number[:6] + "********" + number[-4:]
    for options in ((), ("--json",)):
        _, audited, _ = run("payments", "position", number, *options, "--as", "auditor")
        _, collected, _ = run("payments", "position", number, *options, "--as", "collector")
        assert masked in audited and number not in audited
        assert number in collected


def test_a_department_reads_its_own_bill_only(accounts: dict[str, Account]) -> None:
    status, _, message = run("bills", "--funder", "medical_assistance", "--as", "department")
    assert (status, message) == (2, "账号“department”只能查看民政部门的账单")


# --- canbao account --------------------------------------------------------------------------


def test_the_first_account_is_made_without_as_and_must_be_a_county_administrator(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANBAO_AS", raising=False)
    clerk = ("account", "add", "liming", "--role", "county_clerk", "--password-stdin")
    status, _, message = run(*clerk, stdin=f"{PASSWORD}\n")
    assert (status, message) == (2, "第一个账号须为县医保局管理员（county_admin）")
    admin = ("account", "add", "wangfang", "--role", "county_admin", "--password-stdin")
    status, out, _ = run(*admin, stdin=f"{PASSWORD}\n")
    assert (status, out) == (0, "已建立账号“wangfang”：县医保局管理员，全县。\n")
    entry = AuditEntry.objects.get(action="account_create")
    assert (entry.username, entry.details["account"]) == ("wangfang", "wangfang")
    status, _, message = run(*clerk, stdin=f"{PASSWORD}\n")
    assert status == 2 and "须指明以哪个账号操作" in message
    assert list(Account.objects.values_list("user__username", flat=True)) == ["wangfang"]


def test_only_an_account_that_manages_may_add_accounts(accounts: dict[str, Account]) -> None:
    add = ("account", "add", "new", "--role", "auditor", "--password-stdin", "--as", "clerk")
    status, _, message = run(*add, stdin=f"{PASSWORD}\n")
    assert status == 2 and "没有“管理（参保缴费工作、核定、任务数、账号）”的权限" in message
    assert not get_user_model().objects.filter(username="new").exists()


def test_a_weak_password_makes_no_account(accounts: dict[str, Account]) -> None:
    add = ("account", "add", "new", "--role", "auditor", "--password-stdin", "--as", "admin")
    status, _, message = run(*add, stdin="12345678\n")
    assert status == 2 and message.startswith("密码不符合要求：")
    assert not get_user_model().objects.filter(username="new").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_password_is_typed_twice_on_the_terminal(
    accounts: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = iter([PASSWORD, PASSWORD + "x", PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    monkeypatch.setattr("sys.stdin", Terminal())
    add = ("account", "add", "new", "--role", "auditor", "--as", "admin")
    status, _, message = run(*add)
    assert (status, message) == (2, "两次输入的密码不一致，未作任何改动")
    assert not get_user_model().objects.filter(username="new").exists()
    assert run(*add)[0] == 0
    assert get_user_model().objects.get(username="new").check_password(PASSWORD)


def test_add_list_token_and_revoke_round_trip(accounts: dict[str, Account]) -> None:
    add = ("account", "add", "bank", "--role", "integration", "--channel", "bank")
    status, out, _ = run(*add, "--password-stdin", "--as", "admin", stdin=f"{PASSWORD}\n")
    assert (status, out) == (
        0,
        "已建立账号“bank”：系统对接（税务、银行），缴费渠道 bank（银行代收）。\n",
    )
    status, out, _ = run("account", "list", "--as", "admin")
    lines = out.splitlines()
    assert status == 0 and len(lines) == len(accounts) + 1
    assert "bank\t系统对接（税务、银行），缴费渠道 bank（银行代收），有效令牌 0 个\t在用" in lines
    assert "township\t乡镇经办人员，大栗港镇（430922117）\t在用" in lines
    assert "department\t部门经办人员，民政部门，负责名册：农村低保对象\t在用" in lines
    status, out, _ = run("account", "token", "bank", "--json", "--as", "admin")
    token = json.loads(out)["token"]
    assert status == 0 and token.startswith("cb_")
    found = account_for_token(token)
    assert found is not None and found.user.get_username() == "bank"
    assert token not in str(list(ApiToken.objects.values()))  # only its digest is kept
    listed: dict[str, Any] = json.loads(run("account", "list", "--json", "--as", "admin")[1])
    (bank,) = [a for a in listed["accounts"] if a["username"] == "bank"]
    assert (bank["role_label"], bank["tokens"], bank["active"]) == (
        "系统对接（税务、银行）",
        1,
        True,
    )
    status, out, _ = run("account", "revoke", "bank", "--as", "admin")
    assert (status, out) == (0, "已吊销账号“bank”的接口令牌 1 个。\n")
    assert account_for_token(token) is None
    actions = AuditEntry.objects.filter(username="admin").values_list("action", flat=True)
    assert {"account_create", "token_issue", "token_revoke"} <= set(actions)


def test_a_token_is_only_for_an_integration(accounts: dict[str, Account]) -> None:
    status, _, message = run("account", "token", "clerk", "--as", "admin")
    assert (status, message) == (2, "只有系统对接账号可以签发接口令牌")


def test_disabling_an_account_revokes_its_tokens_and_not_oneself(
    accounts: dict[str, Account],
) -> None:
    status, out, _ = run("account", "token", "tax", "--json", "--as", "admin")
    token = json.loads(out)["token"]
    assert run("account", "disable", "tax", "--as", "admin")[0] == 0
    assert account_for_token(token) is None
    assert not get_user_model().objects.get(username="tax").is_active
    status, _, message = run("account", "disable", "admin", "--as", "admin")
    assert (status, message) == (2, "不能停用正在使用的账号“admin”")


def test_a_password_is_changed_and_the_old_one_no_longer_works(
    accounts: dict[str, Account],
) -> None:
    new = "daligang-2027-change"
    passwd = ("account", "passwd", "collector", "--password-stdin", "--as", "admin")
    assert run(*passwd, stdin=f"{new}\n")[:2] == (0, "账号“collector”的密码已更改。\n")
    user = get_user_model().objects.get(username="collector")
    assert user.check_password(new) and not user.check_password(PASSWORD)
    status, _, message = run("account", "passwd", "nobody", "--as", "admin", stdin=f"{new}\n")
    assert (status, message) == (2, "没有账号“nobody”")
