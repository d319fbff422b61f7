"""The API's request and response bodies, as the OpenAPI document publishes them. Money is in
integer fen, days are ISO dates; every text a client sends is bounded and free of control
characters."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints

from canbao.collection.payment_values import FEN_MAX

# Printable text: no control characters (PostgreSQL refuses NUL), no lone surrogates.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(min_length=1, max_length=max_length, pattern=PRINTABLE)


IdNumberText = Annotated[str, _text(40)]
KeyText = Annotated[str, _text(90)]
NameText = Annotated[str, _text(100)]
ChannelText = Annotated[str, _text(16)]


def _iso_day(value: object) -> object:
    """A day as the text YYYY-MM-DD only: not a number (a timestamp), not a date and time."""
    if not isinstance(value, str) or not ISO_DAY.match(value):
        raise ValueError("须为日期，写成 YYYY-MM-DD，例如 2019-11-20")
    return value


ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
IsoDay = Annotated[date, BeforeValidator(_iso_day)]
# Money: a JSON integer of fen, never "250.00" or 250.0 read as fen.
Fen = Annotated[int, Field(strict=True, gt=0, le=FEN_MAX)]

# Database ids and campaign numbers: positive and within a 64-bit integer.
Pk = Annotated[int, Field(ge=1, le=2**63 - 1)]
DivisionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6,12}$")]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


# --- errors ----------------------------------------------------------------------------------


class FieldErrorOut(Schema):
    field: str = Field(description="出错的字段，如 payments[0].amount_fen")
    code: str
    message: str


class ErrorOut(Schema):
    code: str = Field(description="稳定的英文错误代码")
    message: str = Field(description="中文说明")
    errors: list[FieldErrorOut] | None = Field(None, description="逐字段的错误（仅 422）")


# The refusals every operation may answer.
ERRORS: dict[int, type[ErrorOut]] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


# --- residents -------------------------------------------------------------------------------


class DivisionRef(Schema):
    code: str
    name: str


class HouseholdOut(Schema):
    number: str
    relation: str = Field(description="与户主关系")


class CategoryOut(Schema):
    category: str
    label: str
    source: str
    valid_from: date | None
    valid_to: date | None


class ResidentOut(Schema):
    id: int = Field(description="内部编号，用于其他接口的路径")
    id_type: str
    id_type_label: str
    id_number: str = Field(description="证件号码；无权查看完整号码的账号只见遮蔽后的号码")
    name: str
    sex: str
    birth_date: date | None
    phone: str
    village: DivisionRef
    township: DivisionRef | None
    household: HouseholdOut
    categories: list[CategoryOut]
    status: str
    status_label: str
    status_date: date | None
    employee_insured: bool
    insured_elsewhere: bool


class ResidentSearchIn(Strict):
    id_number: IdNumberText = Field(description="证件号码（全角、空格、小写 x 均可）")


class ResidentListOut(Schema):
    residents: list[ResidentOut]


class FunderFen(Schema):
    funder: str
    funder_name: str
    fen: int


class HeldOut(Schema):
    reason: str
    reason_label: str
    fen: int
    message: str


class EnrollmentOut(Schema):
    enrolled_on: date
    coverage_start: date
    coverage_end: date
    rule: str = Field(description="缴费时适用的参保规则")
    paid_fen: int


class AssessmentOut(Schema):
    campaign: int
    resident: int
    eligible: bool
    refusal_code: str
    refusal: str
    attribute: str = Field(description="身份属性（决定资助的类别）")
    categories: list[str]
    personal_fen: int | None
    subsidy_fen: int | None
    payable_fen: int | None = Field(description="个人应缴；应缴金额尚未公布时为 null")
    shares: list[FunderFen] = Field(description="各资助方承担的资助")
    pending: str = Field(description="尚未公布的金额，中文")
    assessed_at: datetime
    frozen_at: datetime | None
    reference_day: date = Field(description="核定所依据的日期（集中缴费期最后一天）")
    rule: str | None = Field(description="已参保者缴费时适用的规则，否则为核定日适用的规则")
    explain: list[str] = Field(description="政策的推理，逐条中文")
    coverage_start: date | None
    coverage_end: date | None
    enrollment: EnrollmentOut | None


class StatementPayment(Schema):
    channel: str
    channel_label: str
    key: str
    paid_on: date
    amount_fen: int
    funder: str
    reversal: bool


class PositionOut(Schema):
    campaign: int
    resident: int
    due_fen: int | None
    subsidy_fen: int | None
    shares: list[FunderFen]
    received_fen: int
    reversed_fen: int
    person_fen: int
    by_funder: list[FunderFen]
    enrolled: bool
    enrolled_fen: int
    enrolled_on: date | None
    coverage_start: date | None
    coverage_end: date | None
    held_fen: int
    held: list[HeldOut]
    balanced: bool
    payments: list[StatementPayment]


# --- payments --------------------------------------------------------------------------------


class PaymentIn(Strict):
    key: KeyText = Field(description="幂等键：本渠道的交易流水号（同一渠道内唯一）")
    id_number: IdNumberText = Field(description="缴费人证件号码")
    name: NameText = Field(description="缴费人姓名")
    amount_fen: Fen = Field(description="金额（分），整数")
    paid_on: IsoDay = Field(description="缴费日期 YYYY-MM-DD")


class PaymentsIn(Strict):
    campaign: Pk | None = Field(None, description="参保缴费工作编号；不填为进行中的那一项")
    channel: ChannelText | None = Field(None, description="可不填；填写时须为令牌所属渠道")
    payments: list[PaymentIn] = Field(min_length=1, max_length=1000)


class PaymentAnswer(Schema):
    key: str
    status: Literal["recorded", "unchanged"] = Field(
        description="recorded：由接口入账（重复提交得到同一应答）；unchanged：此前已由文件导入入账"
    )
    matched: bool = Field(description="是否按证件号码和姓名对上登记库中的人员")
    amount_fen: int
    paid_on: date
    recorded_at: datetime
    enrolled: bool
    enrolled_on: date | None
    coverage_start: date | None
    coverage_end: date | None
    held: list[HeldOut] = Field(description="挂账的金额及原因（未挂账为空）")


class PaymentsOut(Schema):
    campaign: int
    channel: str
    payments: list[PaymentAnswer]


# --- reports ---------------------------------------------------------------------------------


class GroupOut(Schema):
    members: int
    enrolled: int
    rate: str | None


class UnitOut(Schema):
    code: str
    name: str
    parent_code: str | None
    parent_name: str | None
    population_base: int
    task: int | None
    task_origin: str | None
    enrolled: int
    enrolled_previous: int
    change: int
    rate_of_task: str | None = Field(description="对任务数的参保率（百分数，一位小数）")
    rate_of_base: str | None
    gap_to_task: int | None
    rank: int | None
    groups: dict[str, GroupOut]


class ShortfallOut(Schema):
    unit_code: str
    unit_name: str
    category: str
    label: str
    members: int
    enrolled: int
    missing: int


class CoverageOut(Schema):
    campaign: int
    as_of: date
    previous_as_of: date
    level: Literal["township", "village"]
    units: list[UnitOut]
    total: UnitOut
    special_groups_rate_percent: str | None
    special_groups: list[ShortfallOut]
    line_percent: str | None
    units_below_line: list[str]


class BillLineOut(Schema):
    name: str
    id_number: str
    village: str
    village_name: str
    township: str
    township_name: str
    attribute: str
    fen: int
    enrolled: bool
    received_fen: int
    balance_fen: int


class SubtotalOut(Schema):
    township: str
    township_name: str
    persons: int
    enrolled: int
    fen: int
    received_fen: int
    balance_fen: int


class UnattributedOut(Schema):
    count: int
    fen: int


class BillOut(Schema):
    campaign: int
    funder: str
    funder_name: str
    persons: int
    enrolled: int
    total_fen: int
    received_fen: int
    balance_fen: int
    unattributed: UnattributedOut
    townships: list[SubtotalOut]
    lines: list[BillLineOut]


class UnbalancedOut(Schema):
    resident: int | None
    payment: int | None
    id_number: str
    name: str
    received_fen: int
    enrolled_fen: int
    held_fen: int
    reversed_fen: int
    difference_fen: int


class ClosedDayOut(Schema):
    day: date
    closed_fen: int
    closed_count: int
    ledger_fen: int
    ledger_count: int


class LedgerCheckOut(Schema):
    campaign: int
    balanced: bool
    received_fen: int
    enrolled_fen: int
    held_fen: int
    reversed_fen: int
    residents: int
    unknown_payments: int
    unbalanced: list[UnbalancedOut]
    closed_days: list[ClosedDayOut]
