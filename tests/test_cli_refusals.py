"""A refusal is worded for people, its code only in --json; what a policy leaves pending is named
in Chinese, not by its code."""

import io
import json

import pytest
from django.core.management import call_command

from canbao.campaigns.models import Campaign
from canbao.campaigns.services import open_campaign
from canbao.policy.codes import pending_names
from tests.conftest import COUNTY, VILLAGE, staff


@pytest.fixture
def campaign(daligang: dict[str, object]) -> Campaign:
    return open_campaign(area_code=COUNTY, policy="daligang-2020", actor=staff("t"))


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as stop:
        return int(stop.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_a_refused_reversal_is_worded_without_its_code(as_admin: None, campaign: Campaign) -> None:
    args = ("payments", "reverse", "3431211003580", "--channel", "tax", "--reason", "重复缴费")
    code, out, _ = run(*args)
    assert code == 1
    assert out == (
        "未冲正：本工作中没有税务（银行、微信、支付宝、POS 等代收）渠道流水号为3431211003580"
        "的缴费\n"
    )
    code, out, _ = run(*args, "--json")
    assert json.loads(out)["errors"][0]["code"] == "unknown_payment"


def test_a_refused_receipt_book_is_worded_without_its_code(
    as_admin: None, campaign: Campaign
) -> None:
    args = ("receipts", "issue", "--collector", "", "--village", VILLAGE, "--from", "1")
    args = (*args, "--to", "9")
    code, _, err = run(*args)
    assert code == 1 and err == "未执行：请填写收款人姓名\n"
    code, out, _ = run(*args, "--json")
    assert json.loads(out)["error"]["code"] == "collector_required"


def test_what_a_policy_leaves_pending_is_named_in_chinese() -> None:
    assert pending_names("fiscal_subsidy") == "财政补助标准"
    assert pending_names("subsidy:orphan,subsidy:extreme_poverty") == (
        "孤儿的资助金额、特困人员的资助金额"
    )
    assert pending_names("") == ""
