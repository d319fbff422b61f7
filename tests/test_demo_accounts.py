"""The demo's accounts: one per role for the demo county, made once, each logging in with the
password the demo prints."""

from django.contrib.auth import get_user_model

from canbao.accounts.models import Account, Role
from canbao.demo.accounts import demo_logins, ensure_demo_accounts
from canbao.regions.models import Division
from canbao.registry.models import AuditEntry
from tests.conftest import COUNTY


def test_before_the_divisions_only_the_county_wide_accounts_are_made(db: None) -> None:
    ensure_demo_accounts(COUNTY)
    roles = set(Account.objects.values_list("role", flat=True))
    assert roles == {r.value for r in Role} - {Role.TOWNSHIP_CLERK, Role.VILLAGE_COLLECTOR}
    first = AuditEntry.objects.filter(action="account_create").order_by("pk").first()
    assert first is not None and (first.username, first.details["account"]) == (
        "demo_admin",
        "demo_admin",
    )


def test_every_role_gets_one_account_and_a_second_run_changes_nothing(
    daligang: dict[str, Division],
) -> None:
    ensure_demo_accounts(COUNTY)
    ensure_demo_accounts(COUNTY)
    accounts = {a.role: a for a in Account.objects.select_related("division")}
    assert len(accounts) == len(Role) == Account.objects.count()
    assert accounts[Role.TOWNSHIP_CLERK].division == daligang["township"]
    assert accounts[Role.VILLAGE_COLLECTOR].division == daligang["village"]
    assert accounts[Role.DEPARTMENT_CLERK].funder == "civil_affairs"
    assert accounts[Role.INTEGRATION].channel == "tax"
    assert AuditEntry.objects.filter(action="account_create").count() == len(Role)


def test_each_login_the_demo_prints_works_and_says_what_it_sees(
    daligang: dict[str, Division],
) -> None:
    ensure_demo_accounts(COUNTY)
    logins = demo_logins()
    assert [login.role for login in logins] == [role.label for role in Role]
    users = get_user_model().objects
    for login in logins:
        assert users.get(username=login.username).check_password(login.password)
    sees = {login.username: login.sees for login in logins}
    assert sees["demo_township"].startswith("大栗港镇：本镇")
    assert sees["demo_collector"].startswith("大栗港社区居委会：本村")
    assert "特困人员、农村低保对象、城镇低保对象" in sees["demo_department"]
