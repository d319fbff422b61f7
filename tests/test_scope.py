"""The one scope layer: what each role reaches, denied by default, and "not yours" answered
exactly as "not there"."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from canbao.accounts.models import Account, Role
from canbao.accounts.scope import NotFound, NotPermitted, Permission, Scope
from canbao.accounts.services import account_for_token, create_account, issue_token, revoke_tokens
from canbao.errors import InputError
from canbao.registry.models import Resident
from canbao.registry.rosters import import_roster
from canbao.registry.services import import_residents
from tests.conftest import (
    OTHER_VILLAGE,
    PASSWORD,
    TOWNSHIP,
    csv_file,
    person_id,
    resident,
    xlsx_file,
)

pytestmark = pytest.mark.django_db

COMMUNITY = [("社区甲", person_id(101)), ("社区乙", person_id(102))]
DEMAOYUAN = [("德茂甲", person_id(201))]


@pytest.fixture
def people(accounts: dict[str, Account], tmp_path: Path) -> dict[str, Resident]:
    actor = accounts["admin"].user
    rows = [resident(n, i, f"C{k}") for k, (n, i) in enumerate(COMMUNITY)]
    rows += [resident(n, i, "D0", village=OTHER_VILLAGE) for n, i in DEMAOYUAN]
    assert not import_residents(path=xlsx_file(tmp_path / "r.xlsx", rows), actor=actor).errors
    roster = csv_file(tmp_path / "db.csv", [list(DEMAOYUAN[0])], ("姓名", "公民身份号码"))
    assert not import_roster(
        path=roster, category="rural_dibao", source="civil_affairs", actor=actor
    ).errors
    return {r.name: r for r in Resident.objects.all()}


def names(scope: Scope) -> set[str]:
    return set(scope.residents().values_list("name", flat=True))


def test_each_role_reads_the_residents_of_its_own_jurisdiction_only(
    accounts: dict[str, Account], people: dict[str, Resident]
) -> None:
    everyone = {"社区甲", "社区乙", "德茂甲"}
    seen = {name: names(Scope.of(account.user)) for name, account in accounts.items()}
    assert seen == {
        "admin": everyone,
        "clerk": everyone,
        "township": everyone,
        "collector": {"社区甲", "社区乙"},
        "outsider": {"德茂甲"},
        "department": {"德茂甲"},  # the only rural_dibao member
        "finance": set(),
        "auditor": everyone,
        "tax": set(),
    }


def test_a_resident_outside_the_scope_is_the_same_not_found_as_a_missing_one(
    accounts: dict[str, Account], people: dict[str, Resident]
) -> None:
    collector = Scope.of(accounts["collector"].user)
    assert collector.resident(people["社区甲"].pk) == people["社区甲"]
    with pytest.raises(NotFound) as not_yours:
        collector.resident(people["德茂甲"].pk)
    with pytest.raises(NotFound) as not_there:
        collector.resident(999_999)
    assert str(not_yours.value) == str(not_there.value)
    with pytest.raises(NotFound):
        collector.resident("1 OR 1=1")


def test_no_account_an_inactive_one_or_an_anonymous_visitor_reaches_nothing(
    accounts: dict[str, Account], people: dict[str, Resident], django_user_model: Any
) -> None:
    nobody = django_user_model.objects.create_user(username="nobody", password=PASSWORD)
    accounts["admin"].user.is_active = False
    accounts["admin"].user.save()
    for user in (nobody, accounts["admin"].user, AnonymousUser(), None):
        scope = Scope.of(user)
        assert scope.permissions == frozenset()
        assert not scope.residents().exists()
        assert not scope.divisions().exists()
        with pytest.raises(NotPermitted):
            scope.require(Permission.VIEW_PROGRESS)


def test_a_township_clerk_reads_the_divisions_of_its_township_and_not_the_county(
    accounts: dict[str, Account],
) -> None:
    township = Scope.of(accounts["township"].user)
    assert set(township.divisions().values_list("code", flat=True)) == {
        TOWNSHIP,
        "430922117201",
        OTHER_VILLAGE,
    }
    with pytest.raises(NotFound):
        township.division("430922")
    assert Scope.of(accounts["collector"].user).home().code == "430922117201"  # type: ignore[union-attr]
    assert Scope.of(accounts["clerk"].user).home().code == "430922"  # type: ignore[union-attr]


def test_lists_mask_identity_for_the_roles_that_only_count_people(
    accounts: dict[str, Account],
) -> None:
    masked = {name for name, a in accounts.items() if Scope.of(a.user).masks_identity}
    assert masked == {"finance", "auditor", "tax"}


def test_read_only_roles_may_not_touch_money(accounts: dict[str, Account]) -> None:
    writes = {
        Permission.IMPORT_PAYMENTS,
        Permission.RECORD_PAYMENT,
        Permission.RESOLVE_HELD,
        Permission.RECONCILE,
        Permission.WITHHOLDING,
        Permission.IMPORT_REGISTRY,
        Permission.MANAGE,
    }
    for name in ("finance", "auditor"):
        assert not Scope.of(accounts[name].user).permissions & writes, name


def test_a_department_imports_only_the_rosters_of_its_own_categories(
    accounts: dict[str, Account],
) -> None:
    department = Scope.of(accounts["department"].user)
    assert department.may_import_roster("rural_dibao")
    assert not department.may_import_roster("extreme_poverty")
    assert department.funders() == ("civil_affairs",)
    assert Scope.of(accounts["finance"].user).funders() is None  # every funder
    assert Scope.of(accounts["collector"].user).funders() == ()


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"role": Role.VILLAGE_COLLECTOR}, "unknown_division"),
        ({"role": Role.VILLAGE_COLLECTOR, "division_code": TOWNSHIP}, "unknown_division"),
        ({"role": Role.COUNTY_CLERK, "division_code": TOWNSHIP}, "division_not_for_role"),
        ({"role": Role.DEPARTMENT_CLERK, "funder": "nobody"}, "unknown_funder"),
        (
            {"role": Role.DEPARTMENT_CLERK, "funder": "civil_affairs", "categories": ("x",)},
            "unknown_category",
        ),
        ({"role": Role.INTEGRATION, "channel": "pigeon"}, "unknown_channel"),
        ({"role": Role.FINANCE, "channel": "tax"}, "channel_not_for_role"),
    ],
)
def test_an_account_gets_exactly_the_attachments_its_role_needs(
    accounts: dict[str, Account], options: dict[str, Any], code: str
) -> None:
    with pytest.raises(InputError) as refused:
        create_account(username="x", password=PASSWORD, actor=accounts["admin"].user, **options)
    assert refused.value.code == code


def test_a_weak_password_or_a_taken_name_is_refused(accounts: dict[str, Account]) -> None:
    admin = accounts["admin"].user
    with pytest.raises(InputError) as weak:
        create_account(username="new", password="12345678", role=Role.FINANCE, actor=admin)
    assert weak.value.code == "weak_password"
    with pytest.raises(InputError) as taken:
        create_account(username="finance", password=PASSWORD, role=Role.FINANCE, actor=admin)
    assert taken.value.code == "account_exists"


def test_a_token_names_its_integration_until_revoked(accounts: dict[str, Account]) -> None:
    tax = accounts["tax"]
    token = issue_token(account=tax, actor=accounts["admin"].user)
    assert account_for_token(token) == tax
    assert account_for_token(token + "x") is None
    assert not tax.tokens.filter(digest=token).exists()  # only the digest is kept
    assert revoke_tokens(account=tax, actor=accounts["admin"].user) == 1
    assert account_for_token(token) is None
    with pytest.raises(InputError):
        issue_token(account=accounts["finance"], actor=None)


def test_the_countys_money_is_read_by_county_wide_accounts_only(
    accounts: dict[str, Account],
) -> None:
    reading = {n for n, a in accounts.items() if Scope.of(a.user).allows(Permission.VIEW_MONEY)}
    assert reading == {"admin", "clerk", "finance", "auditor"}
    assert all(Scope.of(accounts[name].user).county_wide for name in reading)
