"""One cash payment as a collector records it on the page: the receipt is claimed and the
payment recorded in one transaction, the receipt number being the payment's key (as in a cash
file), so that the same receipt submitted twice records once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from canbao.campaigns.locks import lock_campaign
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.collection.models import Channel, Payment, ReceiptBook
from canbao.collection.payment_values import PaymentLimits
from canbao.collection.receipts import ReceiptError, claim_receipts, receipt_label
from canbao.collection.services import PaymentError, PaymentRow, record_payments
from canbao.policy.money import yuan
from canbao.registry.models import Resident

__all__ = ["CashOutcome", "record_cash_payment"]


@dataclass(frozen=True)
class CashOutcome:
    """The payment recorded, or (``repeated``) the one this receipt recorded before."""

    payment: Payment
    repeated: bool


def record_cash_payment(
    *,
    campaign: Campaign,
    resident: Resident,
    receipt: int,
    amount_fen: int,
    paid_on: date,
    actor: AbstractBaseUser,
) -> CashOutcome:
    """Record ``amount_fen`` paid in cash by ``resident`` against receipt number ``receipt``,
    a receipt of a book issued to the resident's village. The same receipt, person, amount and
    day recorded already is a repeat: nothing is written. Refused (``PaymentError`` or
    ``ReceiptError``, nothing written) when the campaign is over, the amount or day is not
    plausible for it, or the receipt is not issued, cancelled, voided, of another village or
    used for something else."""
    if campaign.status != Campaign.Status.OPEN:
        raise PaymentError("campaign_closed", f"{campaign}已结束，不能再记缴费。")
    limits = PaymentLimits.of(campaign_policy(campaign))
    if amount_fen <= 0:
        raise PaymentError("amount_not_positive", "金额须大于0。")
    problem = limits.amount_problem(amount_fen, yuan(amount_fen)) or limits.date_problem(paid_on)
    if problem:
        raise PaymentError("payment_implausible", problem)
    key = str(receipt)
    label = receipt_label(receipt)
    with transaction.atomic():
        # Two submissions of one receipt wait for each other here; the second finds the first.
        lock_campaign(campaign.pk)
        earlier = Payment.objects.filter(campaign=campaign, channel=Channel.CASH, key=key).first()
        if earlier is not None:
            if (earlier.resident_id, earlier.amount_fen, earlier.paid_on) == (
                resident.pk,
                amount_fen,
                paid_on,
            ):
                return CashOutcome(payment=earlier, repeated=True)
            raise ReceiptError(
                "receipt_used",
                f"收据 {label} 已于 {timezone.localtime(earlier.recorded_at):%Y-%m-%d} 记为"
                f"{earlier.name} {earlier.paid_on.isoformat()} 缴费 {yuan(earlier.amount_fen)} 元，"
                "每张收据只能使用一次",
            )
        book = (
            ReceiptBook.objects.filter(
                campaign=campaign, first_number__lte=receipt, last_number__gte=receipt
            )
            .select_related("village")
            .first()
        )
        if book is not None and book.village_id != resident.village_id:
            village = book.village.name if book.village is not None else "其他村"
            raise ReceiptError(
                "receipt_other_village",
                f"收据 {label} 属于{village}的收据本（收款人 {book.collector}），"
                "不能用于本村居民的缴费",
            )
        receipts, problems = claim_receipts(campaign=campaign, numbers=[receipt], actor=actor)
        if problems:
            raise ReceiptError(problems[0].code, problems[0].message)
        record_payments(
            campaign=campaign,
            channel=Channel.CASH,
            rows=[
                PaymentRow(
                    key=key,
                    paid_on=paid_on,
                    amount_fen=amount_fen,
                    id_number=resident.id_number,
                    name=resident.name,
                    receipt=receipts[receipt],
                )
            ],
            batch=None,
            actor=actor,
        )
        payment = Payment.objects.get(campaign=campaign, channel=Channel.CASH, key=key)
    return CashOutcome(payment=payment, repeated=False)
