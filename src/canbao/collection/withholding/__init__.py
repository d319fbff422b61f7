"""Bank withholding (银行委托代扣) under three-party agreements (resident, bank, bureau).

The round trip, as Wuming's notice describes it:

1. ``import_agreements``: the villages' signed agreements (姓名, 公民身份号码, 开户银行, 账号, 户名,
   签订日期) enter as one import batch; one active agreement per resident.
2. ``create_batch``: a deduction file for the bank, one line per active agreement not yet sent in
   this campaign whose resident owes something and is not enrolled.
3. ``import_returns``: the bank's return file; each line's code is classified
   (``classify_return``); successes become payments through
   ``canbao.collection.services.record_payments`` (channel ``withholding``, key
   ``"<批次号>-<行号>"``).
4. ``followup``: the failures the townships must chase, insufficient balance first.
5. ``create_retry``: a new batch (``retry_of`` set) of the retryable failures only.

Money is integer fen throughout. Every write is atomic and leaves an audit row.

The package: ``common`` (columns, return codes, cells), ``agreements``, ``deduction`` (the
batch files), ``returns`` and ``followup``.
"""

from canbao.collection.withholding.agreements import import_agreements
from canbao.collection.withholding.common import (
    AGREEMENT_COLUMNS,
    BATCH_HEADER,
    CODE_TABLE,
    FOLLOWUP_ORDER,
    NEEDS_NEW_AGREEMENT,
    RETRYABLE,
    RETURN_COLUMNS,
    WithholdingError,
)
from canbao.collection.withholding.deduction import (
    BatchResult,
    create_batch,
    create_retry,
)
from canbao.collection.withholding.followup import (
    FollowupRow,
    followup,
    write_followup_xlsx,
)
from canbao.collection.withholding.returns import ReturnSummary, classify_return, import_returns

__all__ = [
    "AGREEMENT_COLUMNS",
    "BATCH_HEADER",
    "CODE_TABLE",
    "FOLLOWUP_ORDER",
    "NEEDS_NEW_AGREEMENT",
    "RETRYABLE",
    "RETURN_COLUMNS",
    "BatchResult",
    "FollowupRow",
    "ReturnSummary",
    "WithholdingError",
    "classify_return",
    "create_batch",
    "create_retry",
    "followup",
    "import_agreements",
    "import_returns",
    "write_followup_xlsx",
]
