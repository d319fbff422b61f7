"""`canbao receipts issue|void|cancel|books|report`: receipt books and the four-match report.

Exit status: 0 done (a report is printed whatever it finds), 1 refused (nothing written; the
reason is printed, in JSON as ``{"error": {code, message}}``), 2 usage error (no such campaign,
unknown village for a report, bad options, an --xlsx path in a missing folder or already there
without --force).
"""

import json
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Count, Q

from canbao.accounts.scope import Permission
from canbao.campaigns.models import Campaign
from canbao.campaigns.selectors import campaign_by_id
from canbao.cli import REFUSED, USAGE_ERROR
from canbao.cli.output import CanbaoCommand, add_force, check_outputs, output_file
from canbao.collection.four_match import four_match, write_four_match_xlsx
from canbao.collection.models import Receipt, ReceiptBook
from canbao.collection.payment_values import RECEIPT_DIGITS_MAX, receipt_number
from canbao.collection.receipts import (
    ReceiptError,
    book_as_json,
    book_label,
    cancel_receipt_book,
    issue_receipt_book,
    receipt_label,
    void_receipt,
)
from canbao.errors import InputError
from canbao.policy.money import yuan


def number_argument(text: str) -> int:
    number = receipt_number(text)
    if number is None:
        raise ArgumentTypeError(f"收据号码须为至多{RECEIPT_DIGITS_MAX}位的正整数：{text}")
    return number


PERMISSIONS = {
    "issue": Permission.RECONCILE,
    "void": Permission.RECONCILE,
    "cancel": Permission.RECONCILE,
    "books": Permission.VIEW_MONEY,
    "report": Permission.VIEW_MONEY,
}


class Command(CanbaoCommand):
    takes_account = True
    help = (
        "收款收据：向收款人发放收据本（issue）、作废收据（void）、缴销收据本（cancel）、"
        "列出收据本（books），以及各村人、钱、票、册四相符报告（report）。"
    )

    def permission(self, options: dict[str, Any]) -> Permission:
        return PERMISSIONS[options["action"]]

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="操作")
        issue = actions.add_parser("issue", help="按号码段向村收款人发放一本收据")
        issue.add_argument("--collector", required=True, metavar="姓名", help="收款人姓名")
        issue.add_argument(
            "--village", required=True, metavar="村代码", help="村（社区）的区划代码"
        )
        issue.add_argument(
            "--from",
            dest="first",
            type=number_argument,
            required=True,
            metavar="号码",
            help="起始号码",
        )
        issue.add_argument(
            "--to",
            dest="last",
            type=number_argument,
            required=True,
            metavar="号码",
            help="终止号码（含）",
        )
        void = actions.add_parser("void", help="作废一张未使用的收据（作废的收据留存备查）")
        void.add_argument("number", type=number_argument, metavar="收据号码", help="收据号码")
        void.add_argument(
            "--reason", required=True, metavar="原因", help="作废原因，如“填写错误”“污损”"
        )
        cancel = actions.add_parser(
            "cancel", help="缴销收据本：本内每个号码都已使用或作废时才可缴销"
        )
        cancel.add_argument("book", type=int, metavar="收据本编号", help="收据本编号")
        books = actions.add_parser("books", help="列出收据本及其使用、作废、空白张数")
        books.add_argument("--village", metavar="村代码", help="只列这个村（社区）的收据本")
        report = actions.add_parser("report", help="各村人、钱、票、册四相符报告")
        report.add_argument("--village", metavar="村代码", help="只报告这个村（社区）")
        report.add_argument(
            "--xlsx", type=Path, metavar="文件", help="同时把报告写入这个 .xlsx 文件"
        )
        add_force(report)
        for sub in (issue, void, cancel, books, report):
            sub.add_argument(
                "--campaign", type=int, metavar="编号", help="工作编号（只有一项进行中时可省略）"
            )
            sub.add_argument("--json", action="store_true", help="输出一个 JSON 对象")

    def handle(self, *args: Any, **options: Any) -> None:
        check_outputs(options, "xlsx")
        try:
            campaign = campaign_by_id(options["campaign"])
        except InputError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        action = options["action"]
        try:
            if action == "issue":
                report, text = self._issue(campaign, options)
            elif action == "void":
                report, text = self._void(campaign, options)
            elif action == "cancel":
                book = cancel_receipt_book(
                    campaign=campaign, book_id=options["book"], actor=self.actor
                )
                report, text = book_as_json(book), f"已缴销：{book_label(book)}"
            elif action == "books":
                report, text = self._books(campaign, options["village"])
            else:
                report, text = self._report(campaign, options)
        except ReceiptError as error:
            self._refuse(error, options["json"])
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
        else:
            self.stdout.write(text)

    def _refuse(self, error: ReceiptError, as_json: bool) -> None:
        if as_json:
            refusal: dict[str, Any] = {"error": {"code": error.code, "message": error.message}}
            if error.missing:
                refusal["missing"] = error.missing
            self.stdout.write(json.dumps(refusal, ensure_ascii=False))
        else:
            self.stderr.write(f"未执行：{error.message}")
        self.stdout.flush()
        raise SystemExit(REFUSED)

    def _issue(self, campaign: Campaign, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
        book = issue_receipt_book(
            campaign=campaign,
            collector=options["collector"],
            village_code=options["village"],
            first=options["first"],
            last=options["last"],
            actor=self.actor,
        )
        count = book.last_number - book.first_number + 1
        return book_as_json(book), f"已发放：{book_label(book)}，共 {count} 张"

    def _void(self, campaign: Campaign, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
        receipt = void_receipt(
            campaign=campaign,
            number=options["number"],
            reason=options["reason"],
            actor=self.actor,
        )
        report = {
            "number": receipt.number,
            "book": receipt.book_id,
            "status": receipt.status,
            "reason": receipt.reason,
        }
        return report, f"已作废：收据 {receipt_label(receipt.number)}（{receipt.reason}）"

    def _books(self, campaign: Campaign, village: str | None) -> tuple[dict[str, Any], str]:
        books = (
            ReceiptBook.objects.filter(campaign=campaign)
            .select_related("village")
            .annotate(
                used=Count("receipts", filter=Q(receipts__status=Receipt.Status.USED)),
                voided=Count("receipts", filter=Q(receipts__status=Receipt.Status.VOIDED)),
            )
            .order_by("first_number")
        )
        if village:
            books = books.filter(village__code=village)
        listed: list[dict[str, Any]] = []
        lines: list[str] = []
        for book in books:
            size = book.last_number - book.first_number + 1
            entry = book_as_json(book)
            entry.update(used=book.used, voided=book.voided, blank=size - book.used - book.voided)
            listed.append(entry)
            state = "已缴销" if book.cancelled_at else "在用"
            lines.append(
                f"{book_label(book)} {book.village.name if book.village else ''} {state}："
                f"已使用 {book.used} 张，作废 {book.voided} 张，空白 {entry['blank']} 张"
            )
        return {"campaign": campaign.pk, "books": listed}, "\n".join(lines) or "没有收据本"

    def _report(self, campaign: Campaign, options: dict[str, Any]) -> tuple[dict[str, Any], str]:
        try:
            matches = four_match(campaign, options["village"])
        except InputError as error:
            raise CommandError(str(error), returncode=USAGE_ERROR) from None
        if options["xlsx"]:
            with output_file(options["xlsx"], force=options["force"]) as path:
                write_four_match_xlsx(matches, path, f"{campaign} 人、钱、票、册四相符")
            self.record_export(
                "receipts report",
                [options["xlsx"]],
                campaign=campaign.pk,
                village=options["village"],
            )
        report = {
            "campaign": campaign.pk,
            "villages": [match.as_json() for match in matches],
            "matching": sum(match.matches for match in matches),
            "mismatching": sum(not match.matches for match in matches),
        }
        lines: list[str] = []
        for match in matches:
            state = "相符" if match.matches else f"不相符 {len(match.mismatches)} 项"
            lines.append(
                f"{match.township_name}{match.village_name}（{match.village_code}）{state}："
                f"参保 {match.persons} 人，花名册 {match.roster_lines} 人，"
                f"个人缴费应收 {yuan(match.expected_fen)} 元、"
                f"实收 {yuan(match.received_fen)} 元，"
                f"部门代缴 {yuan(match.proxy_fen)} 元，"
                f"现金 {match.cash_payments} 笔、收据 {match.receipts_used} 张"
            )
            lines.extend(f"  - {line}" for line in match.mismatches)
        return report, "\n".join(lines) or "没有可报告的村（社区）"
