"""The test accounts: one per role in 大栗港镇, and a collector of the other village (the
outsider whom the collector's residents must stay hidden from). The ``accounts`` fixture and
the browser tests' served county both create exactly these."""

from typing import Any

from canbao.accounts.models import Role
from tests.conftest import OTHER_VILLAGE, TOWNSHIP, VILLAGE

ACCOUNT_OPTIONS: dict[str, dict[str, Any]] = {
    "clerk": {"role": Role.COUNTY_CLERK},
    "township": {"role": Role.TOWNSHIP_CLERK, "division_code": TOWNSHIP},
    "collector": {"role": Role.VILLAGE_COLLECTOR, "division_code": VILLAGE},
    "outsider": {"role": Role.VILLAGE_COLLECTOR, "division_code": OTHER_VILLAGE},
    "department": {
        "role": Role.DEPARTMENT_CLERK,
        "funder": "civil_affairs",
        "categories": ("rural_dibao",),
    },
    "finance": {"role": Role.FINANCE},
    "auditor": {"role": Role.AUDITOR},
    "tax": {"role": Role.INTEGRATION, "channel": "tax"},
}
