"""Official cash receipts (收款收据, 票): books issued to collectors by number range, each number
used once for one cash payment or voided (and kept), books cancelled (缴销) after the campaign.

A receipt number exists as a ``Receipt`` row only once it is used or voided; the numbers of a
book without a row are still blank. Numbers are unique within a campaign, and no two books of a
campaign share a number.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from canbao.campaigns.models import Campaign
from canbao.collection.models import Receipt, ReceiptBook
from canbao.divisions import DivisionCodeError, is_within, normalize_code
from canbao.errors import InputError
from canbao.regions.models import Division
from canbao.registry.batches import record_audit

# A book bigger than this is a typing error (a real book holds 25 to 100 receipts); the bound
# also keeps the list of missing numbers at cancellation readable.
MAX_BOOK_SIZE = 10_000
# Numbers looked up per query (well under SQLite's limit of bound parameters).
LOOKUP_CHUNK = 1_000


class ReceiptError(InputError):
    """A refused receipt operation; nothing was written. ``missing`` lists the blank numbers of
    a book that cannot be cancelled yet."""

    def __init__(self, code: str, message: str, missing: Sequence[int] = ()) -> None:
        super().__init__(code, message)
        self.missing = list(missing)


class ReceiptProblem(NamedTuple):
    number: int
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "code": self.code, "message": self.message}


def receipt_label(number: int) -> str:
    """A receipt number as printed on the receipt: No.0001234."""
    return f"No.{number:07d}"


def number_ranges(numbers: Iterable[int]) -> str:
    """Numbers as compact ranges: No.0000005、No.0000007–No.0000009."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = ordered[i], ordered[j]
        parts.append(
            receipt_label(first)
            if first == last
            else f"{receipt_label(first)}–{receipt_label(last)}"
        )
        i = j + 1
    return "、".join(parts)


def book_label(book: ReceiptBook) -> str:
    return (
        f"第 {book.pk} 号收据本（{receipt_label(book.first_number)}–"
        f"{receipt_label(book.last_number)}，收款人 {book.collector}）"
    )


def _campaign_village(campaign: Campaign, village_code: str) -> Division:
    try:
        code = normalize_code(village_code)
    except DivisionCodeError:
        raise ReceiptError("unknown_village", f"“{village_code}”不是区划代码") from None
    village = Division.objects.filter(code=code).first()
    if village is None or village.level != Division.Level.VILLAGE:
        raise ReceiptError("unknown_village", f"区划库中没有代码为 {code} 的村（社区）")
    if not is_within(code, campaign.area.code):
        raise ReceiptError(
            "village_outside_area",
            f"{village.name}（{code}）不在本次参保缴费工作的统筹区 {campaign.area.name} 内",
        )
    return village


def issue_receipt_book(
    *,
    campaign: Campaign,
    collector: str,
    village_code: str,
    first: int,
    last: int,
    actor: AbstractBaseUser,
) -> ReceiptBook:
    """Issue the receipts numbered ``first``..``last`` (inclusive) to a village's collector.
    Refused when the range overlaps another book of the campaign."""
    collector = collector.strip()
    if not collector:
        raise ReceiptError("collector_required", "请填写收款人姓名")
    if first <= 0 or last < first:
        raise ReceiptError(
            "bad_range", f"收据号码范围 {first}–{last} 无效：起始号码须大于 0 且不大于终止号码"
        )
    if last - first + 1 > MAX_BOOK_SIZE:
        raise ReceiptError(
            "book_too_large",
            f"收据号码范围 {first}–{last} 共 {last - first + 1} 张，"
            f"一本收据不能超过 {MAX_BOOK_SIZE} 张，请核对号码",
        )
    village = _campaign_village(campaign, village_code)
    who = actor.get_username()
    with transaction.atomic():
        # One issuer at a time per campaign, so that two overlapping books cannot both pass.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        overlapping = (
            ReceiptBook.objects.filter(
                campaign=campaign, first_number__lte=last, last_number__gte=first
            )
            .order_by("first_number")
            .first()
        )
        if overlapping is not None:
            raise ReceiptError(
                "range_overlaps",
                f"收据号码 {receipt_label(first)}–{receipt_label(last)} 与已发放的"
                f"{book_label(overlapping)}重叠，同一号码只能发放一次",
            )
        book = ReceiptBook.objects.create(
            campaign=campaign,
            collector=collector,
            village=village,
            first_number=first,
            last_number=last,
            issued_by=who,
        )
        record_audit(
            action="issue_receipt_book",
            actor=actor,
            details={
                "campaign": campaign.pk,
                "book": book.pk,
                "collector": collector,
                "village": village.code,
                "first": first,
                "last": last,
            },
        )
    return book


def _books_covering(campaign: Campaign, numbers: Sequence[int]) -> dict[int, ReceiptBook]:
    """The book of each number that lies in one (one query: books are disjoint ranges)."""
    if not numbers:
        return {}
    books = list(
        ReceiptBook.objects.filter(
            campaign=campaign, first_number__lte=max(numbers), last_number__gte=min(numbers)
        ).order_by("first_number")
    )
    starts = [book.first_number for book in books]
    found: dict[int, ReceiptBook] = {}
    for number in numbers:
        at = bisect.bisect_right(starts, number) - 1
        if at >= 0 and books[at].last_number >= number:
            found[number] = books[at]
    return found


def _existing(campaign: Campaign, numbers: Sequence[int]) -> dict[int, Receipt]:
    distinct = sorted(set(numbers))
    found: dict[int, Receipt] = {}
    for start in range(0, len(distinct), LOOKUP_CHUNK):
        chunk = distinct[start : start + LOOKUP_CHUNK]
        for receipt in Receipt.objects.filter(campaign=campaign, number__in=chunk):
            found[receipt.number] = receipt
    return found


def _problem(
    number: int, book: ReceiptBook | None, receipt: Receipt | None
) -> ReceiptProblem | None:
    label = receipt_label(number)
    if book is None:
        return ReceiptProblem(
            number, "receipt_not_issued", f"收据 {label} 不在已发放的任何收据本内"
        )
    if book.cancelled_at is not None:
        return ReceiptProblem(
            number,
            "receipt_book_cancelled",
            f"收据 {label} 所在的{book_label(book)}已于 "
            f"{timezone.localtime(book.cancelled_at):%Y-%m-%d} 缴销，不能再使用",
        )
    if receipt is not None and receipt.status == Receipt.Status.VOIDED:
        return ReceiptProblem(
            number, "receipt_voided", f"收据 {label} 已作废（{receipt.reason}），不能使用"
        )
    if receipt is not None:
        return ReceiptProblem(
            number,
            "receipt_used",
            f"收据 {label} 已于 {timezone.localtime(receipt.at):%Y-%m-%d} 使用，"
            "每张收据只能使用一次",
        )
    return None


def claim_receipts(
    *,
    campaign: Campaign,
    numbers: list[int],
    actor: AbstractBaseUser,
) -> tuple[dict[int, Receipt], list[ReceiptProblem]]:
    """Mark receipt numbers used, for cash payments about to be recorded.

    Each number must lie in an issued, uncancelled book, be neither used nor voided, and appear
    once in ``numbers``. Without problems the receipts are created (status used) and returned
    by number; with any problem nothing is written and the problems are returned in the order
    of ``numbers``. Call it inside the transaction that records the payments and link each
    payment to its receipt.
    """
    problems: list[ReceiptProblem] = []
    seen: set[int] = set()
    for number in numbers:
        if number in seen:
            problems.append(
                ReceiptProblem(
                    number,
                    "receipt_repeated",
                    f"收据 {receipt_label(number)} 在本次缴费中出现了不止一次",
                )
            )
        seen.add(number)
    distinct = sorted(seen)
    who = actor.get_username()
    with transaction.atomic():
        books = _books_covering(campaign, distinct)
        existing = _existing(campaign, distinct)
        for number in distinct:
            problem = _problem(number, books.get(number), existing.get(number))
            if problem is not None:
                problems.append(problem)
        if problems:
            order = {number: i for i, number in reversed(list(enumerate(numbers)))}
            problems.sort(key=lambda p: (order[p.number], p.code != "receipt_repeated"))
            return {}, problems
        receipts = Receipt.objects.bulk_create(
            [
                Receipt(
                    campaign=campaign,
                    book=books[number],
                    number=number,
                    status=Receipt.Status.USED,
                    by=who,
                )
                for number in distinct
            ],
            batch_size=LOOKUP_CHUNK,
        )
        if all(receipt.pk is not None for receipt in receipts):
            created = {receipt.number: receipt for receipt in receipts}
        else:  # pragma: no cover - a database that returns no ids from a bulk insert
            created = _existing(campaign, distinct)
        if distinct:
            record_audit(
                action="use_receipts",
                actor=actor,
                details={
                    "campaign": campaign.pk,
                    "count": len(distinct),
                    "numbers": number_ranges(distinct),
                },
            )
    return created, []


def void_receipt(
    *,
    campaign: Campaign,
    number: int,
    reason: str,
    actor: AbstractBaseUser,
) -> Receipt:
    """Void a blank receipt (spoiled, torn, misprinted): it is kept as voided with the reason.
    A used receipt cannot be voided: its payment must be reversed, and the receipt stays used."""
    reason = reason.strip()
    if not reason:
        raise ReceiptError("reason_required", "作废收据须写明原因")
    if len(reason) > 200:
        raise ReceiptError("reason_too_long", "作废原因不能超过 200 个字")
    label = receipt_label(number)
    who = actor.get_username()
    with transaction.atomic():
        books = _books_covering(campaign, [number])
        existing = _existing(campaign, [number]).get(number)
        book = books.get(number)
        if existing is not None and existing.status == Receipt.Status.USED:
            raise ReceiptError(
                "receipt_used",
                f"收据 {label} 已使用，不能作废；如缴费有误，请先冲正该笔缴费（收据仍记为已使用）",
            )
        problem = _problem(number, book, existing)
        if problem is not None:
            raise ReceiptError(problem.code, problem.message)
        if book is None:  # pragma: no cover - _problem reports a number outside every book
            raise ReceiptError("receipt_not_issued", f"收据 {label} 不在已发放的任何收据本内")
        receipt = Receipt.objects.create(
            campaign=campaign,
            book=book,
            number=number,
            status=Receipt.Status.VOIDED,
            reason=reason,
            by=who,
        )
        record_audit(
            action="void_receipt",
            actor=actor,
            details={"campaign": campaign.pk, "book": book.pk, "number": number, "reason": reason},
        )
    return receipt


def blank_numbers(book: ReceiptBook) -> list[int]:
    """The numbers of a book neither used nor voided."""
    done = set(Receipt.objects.filter(book=book).values_list("number", flat=True))
    return [n for n in range(book.first_number, book.last_number + 1) if n not in done]


def cancel_receipt_book(
    *,
    campaign: Campaign,
    book_id: int,
    actor: AbstractBaseUser,
) -> ReceiptBook:
    """Cancel (缴销) a book with the township finance office after the campaign: only when every
    number is used or voided; otherwise refused, naming the numbers still blank."""
    who = actor.get_username()
    with transaction.atomic():
        book = ReceiptBook.objects.select_for_update().filter(campaign=campaign, pk=book_id).first()
        if book is None:
            raise ReceiptError("unknown_book", f"本次参保缴费工作没有第 {book_id} 号收据本")
        if book.cancelled_at is not None:
            raise ReceiptError(
                "book_cancelled",
                f"{book_label(book)}已于 {timezone.localtime(book.cancelled_at):%Y-%m-%d} 缴销",
            )
        missing = blank_numbers(book)
        if missing:
            raise ReceiptError(
                "receipts_missing",
                f"{book_label(book)}还有 {len(missing)} 张收据既未使用也未作废："
                f"{number_ranges(missing)}；请找回后使用或作废，再缴销",
                missing,
            )
        book.cancelled_at = timezone.now()
        book.cancelled_by = who
        book.save(update_fields=["cancelled_at", "cancelled_by"])
        record_audit(
            action="cancel_receipt_book",
            actor=actor,
            details={"campaign": campaign.pk, "book": book.pk},
        )
    return book


def book_as_json(book: ReceiptBook) -> dict[str, Any]:
    return {
        "book": book.pk,
        "collector": book.collector,
        "village": book.village.code if book.village else None,
        "first": book.first_number,
        "last": book.last_number,
        "issued_by": book.issued_by,
        "cancelled_at": book.cancelled_at.isoformat() if book.cancelled_at else None,
    }
