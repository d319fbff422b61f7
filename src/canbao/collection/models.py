"""Money as it arrives: payments (append-only), enrollments, the suspense list, receipt books,
bank withholding, and daily reconciliation.

A posted payment is never updated (a database trigger refuses it): a correction is a reversing
entry, a payment of the opposite amount that names the payment it reverses.
"""

from django.db import models

from canbao.campaigns.models import Campaign
from canbao.regions.models import Division
from canbao.registry.models import ImportBatch, Resident


class Channel(models.TextChoices):
    TAX = "tax", "税务（银行、微信、支付宝、POS 等代收）"
    BANK = "bank", "银行代收"
    CASH = "cash", "现金（收款收据）"
    WITHHOLDING = "withholding", "银行委托代扣"
    PROXY = "proxy", "部门代缴"


class ReceiptBook(models.Model):
    """A book of numbered official receipts issued to a collector."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="receipt_books")
    collector = models.CharField("收款人", max_length=100)
    village = models.ForeignKey(
        Division, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    first_number = models.BigIntegerField("起始号码")
    last_number = models.BigIntegerField("终止号码")
    issued_at = models.DateTimeField("发放时间", auto_now_add=True)
    issued_by = models.CharField("发放人", max_length=150)
    cancelled_at = models.DateTimeField("缴销时间", null=True, blank=True)
    cancelled_by = models.CharField("缴销人", max_length=150, blank=True)

    class Meta:
        verbose_name = "收据本"
        verbose_name_plural = "收据本"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_number__gt=0)
                & models.Q(last_number__gte=models.F("first_number")),
                name="receipt_book_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_number}–{self.last_number}（{self.collector}）"


class Receipt(models.Model):
    """A receipt number that was used for a cash payment, or voided; each number once."""

    class Status(models.TextChoices):
        USED = "used", "已使用"
        VOIDED = "voided", "作废"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="receipts")
    book = models.ForeignKey(ReceiptBook, on_delete=models.PROTECT, related_name="receipts")
    number = models.BigIntegerField("收据号码")
    status = models.CharField("状态", max_length=8, choices=Status.choices)
    reason = models.CharField("作废原因", max_length=200, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)
    by = models.CharField("操作人", max_length=150)

    class Meta:
        verbose_name = "收据"
        verbose_name_plural = "收据"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="receipt_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.get_status_display()}"


class Payment(models.Model):
    """One amount received (or reversed) for one person through one channel. Append-only."""

    # Indexed by the composite indexes below, which all start with the campaign.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    # Unique within the channel: tax transaction id, bank serial, receipt number, withholding
    # batch line, department batch line; a reversal's key is "reversal:<key>".
    key = models.CharField("流水号", max_length=100)
    paid_on = models.DateField("缴费日期")
    amount_fen = models.BigIntegerField("金额（分）")
    id_number = models.CharField("证件号码（原文）", max_length=40)
    name = models.CharField("姓名（原文）", max_length=100)
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    funder = models.CharField("代缴部门", max_length=40, blank=True)
    bank = models.CharField("银行", max_length=60, blank=True)
    receipt = models.OneToOneField(
        Receipt, on_delete=models.PROTECT, null=True, blank=True, related_name="payment"
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    recorded_at = models.DateTimeField("入账时间")
    recorded_by = models.CharField("操作人", max_length=150)

    class Meta:
        verbose_name = "缴费"
        verbose_name_plural = "缴费"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "key"], name="payment_idempotency_key"
            ),
            models.CheckConstraint(
                condition=(models.Q(reverses__isnull=True) & models.Q(amount_fen__gt=0))
                | (models.Q(reverses__isnull=False) & models.Q(amount_fen__lt=0)),
                name="payment_sign_matches_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "paid_on"], name="payment_day"),
            models.Index(fields=["campaign", "resident"], name="payment_resident"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.key} {self.amount_fen}"


class Enrollment(models.Model):
    """A resident enrolled for a campaign: paid in full, with the coverage the policy gives."""

    # Indexed by the unique (campaign, resident) constraint.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="enrollments", db_index=False
    )
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="enrollments")
    paid_fen = models.BigIntegerField("已缴（分）")
    enrolled_on = models.DateField("缴清日期")
    coverage_start = models.DateField("待遇起始")
    coverage_end = models.DateField("待遇终止")
    rule = models.CharField("适用规则", max_length=100)

    class Meta:
        verbose_name = "参保"
        verbose_name_plural = "参保"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "resident"], name="enrollment_once"),
            models.CheckConstraint(
                condition=models.Q(coverage_start__lte=models.F("coverage_end")),
                name="enrollment_coverage_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.coverage_start}–{self.coverage_end}"


class Suspense(models.Model):
    """Money held until someone resolves it: an amount, its reason and whose it is.

    A known resident's holds are derived by the settlement rule from all their live payments
    (``payment`` is empty: the amount may span several payments). A payment whose person the
    registry does not know (or knows under another name) is held on its own (``resident`` is
    empty, ``payment`` names it) until it is reversed.
    """

    class Reason(models.TextChoices):
        UNKNOWN_PERSON = "unknown_person", "查无此人"
        NOT_ELIGIBLE = "not_eligible", "不符合参保条件"
        OUTSIDE_WINDOW = "outside_window", "不在缴费期内"
        PARTIAL = "partial", "金额不足"
        EXCESS = "excess", "金额超出"
        PENDING_AMOUNT = "pending_amount", "应缴金额尚未公布"
        NOT_ASSESSED = "not_assessed", "尚未核定"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="suspense", db_index=False
    )
    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, null=True, blank=True, related_name="suspense"
    )
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="suspense"
    )
    reason = models.CharField("原因", max_length=20, choices=Reason.choices)
    amount_fen = models.BigIntegerField("挂账金额（分）")
    message = models.CharField("说明", max_length=300)
    created_at = models.DateTimeField("挂账时间")
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)
    resolved_by = models.CharField("处理人", max_length=150, blank=True)
    resolution = models.CharField("处理结果", max_length=300, blank=True)

    class Meta:
        verbose_name = "挂账"
        verbose_name_plural = "挂账"
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="suspense_positive"),
            models.CheckConstraint(
                condition=models.Q(resident__isnull=False) | models.Q(payment__isnull=False),
                name="suspense_names_whose",
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "resolved_at"], name="suspense_open"),
            models.Index(fields=["campaign", "resident"], name="suspense_resident"),
        ]

    def __str__(self) -> str:
        whose = self.resident_id or self.payment_id
        return f"{whose} {self.get_reason_display()} {self.amount_fen}"


class WithholdingAgreement(models.Model):
    """A three-party withholding agreement: the resident, the bank account, the bureau."""

    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="withholding_agreements"
    )
    bank = models.CharField("开户银行", max_length=60)
    account_number = models.CharField("账号", max_length=40)
    account_name = models.CharField("户名", max_length=100)
    signed_on = models.DateField("签订日期")
    active = models.BooleanField("有效", default=True)
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "委托代扣协议"
        verbose_name_plural = "委托代扣协议"
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(active=True),
                name="one_active_agreement_per_resident",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_name} {self.bank} {self.account_number}"


class WithholdingBatch(models.Model):
    """A deduction file sent to the bank: the first round, or a retry of earlier failures."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="withholding_batches"
    )
    sequence = models.PositiveIntegerField("批次号")
    retry_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="retries"
    )
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    created_by = models.CharField("操作人", max_length=150)
    returned_at = models.DateTimeField("回盘时间", null=True, blank=True)

    class Meta:
        verbose_name = "代扣批次"
        verbose_name_plural = "代扣批次"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "sequence"], name="withholding_sequence"),
        ]

    def __str__(self) -> str:
        return f"代扣批次 {self.sequence}"


class WithholdingLine(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", "扣款成功"
        INSUFFICIENT_BALANCE = "insufficient_balance", "余额不足"
        ACCOUNT_CLOSED = "account_closed", "账户已销户"
        ACCOUNT_FROZEN = "account_frozen", "账户冻结"
        NAME_MISMATCH = "name_mismatch", "户名不符"
        ACCOUNT_NOT_FOUND = "account_not_found", "账号不存在"
        OTHER = "other", "其他原因"

    batch = models.ForeignKey(WithholdingBatch, on_delete=models.PROTECT, related_name="lines")
    line_no = models.PositiveIntegerField("行号")
    agreement = models.ForeignKey(WithholdingAgreement, on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField("扣款金额（分）")
    result = models.CharField("结果", max_length=24, choices=Result.choices, blank=True)
    bank_code = models.CharField("银行返回码", max_length=20, blank=True)
    bank_message = models.CharField("银行返回说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "代扣明细"
        verbose_name_plural = "代扣明细"
        constraints = [
            models.UniqueConstraint(fields=["batch", "line_no"], name="withholding_line_once"),
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="withholding_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}-{self.line_no}"


class BankCredit(models.Model):
    """A bank's credit to the treasury pending account (待报解账户) for one day."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="bank_credits")
    day = models.DateField("日期")
    bank = models.CharField("银行", max_length=60)
    amount_fen = models.BigIntegerField("入账金额（分）")
    count = models.PositiveIntegerField("笔数")
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "银行入账"
        verbose_name_plural = "银行入账"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day", "bank"], name="bank_credit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.bank} {self.amount_fen}"


# The channel a day's reconciliation counts (the tax bureau's detail): once a day is closed, no
# payment of it is recorded or reversed until the day is reopened, with a reason.
RECONCILED_CHANNEL = Channel.TAX


class ReconciliationDay(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "未平"
        CLOSED = "closed", "已结账"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="days")
    day = models.DateField("日期")
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.OPEN)
    tax_fen = models.BigIntegerField("税务明细金额（分）", default=0)
    tax_count = models.PositiveIntegerField("税务明细笔数", default=0)
    bank_fen = models.BigIntegerField("银行入账金额（分）", default=0)
    recorded_fen = models.BigIntegerField("本系统入账金额（分）", default=0)
    recorded_count = models.PositiveIntegerField("本系统入账笔数", default=0)
    checked_at = models.DateTimeField("核对时间", null=True, blank=True)
    closed_at = models.DateTimeField("结账时间", null=True, blank=True)
    closed_by = models.CharField("结账人", max_length=150, blank=True)

    class Meta:
        verbose_name = "日对账"
        verbose_name_plural = "日对账"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="reconciliation_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_status_display()}"


class Difference(models.Model):
    class Kind(models.TextChoices):
        MISSING_IN_CANBAO = "missing_in_canbao", "税务有、本系统无"
        MISSING_IN_TAX = "missing_in_tax", "本系统有、税务无"
        AMOUNT_DIFFERS = "amount_differs", "金额不符"
        DUPLICATE = "duplicate", "重复"
        BANK_TOTAL_DIFFERS = "bank_total_differs", "银行入账合计不符"

    day = models.ForeignKey(ReconciliationDay, on_delete=models.CASCADE, related_name="differences")
    kind = models.CharField("类型", max_length=24, choices=Kind.choices)
    key = models.CharField("流水号或银行", max_length=100)
    expected_fen = models.BigIntegerField("应为（分）", null=True, blank=True)
    actual_fen = models.BigIntegerField("实为（分）", null=True, blank=True)
    detail = models.CharField("说明", max_length=300)
    explanation = models.CharField("差异原因", max_length=300, blank=True)
    explained_by = models.CharField("说明人", max_length=150, blank=True)
    explained_at = models.DateTimeField("说明时间", null=True, blank=True)

    class Meta:
        verbose_name = "对账差异"
        verbose_name_plural = "对账差异"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}"
