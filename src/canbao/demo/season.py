"""A synthetic collection season: the files an assessed campaign's bureau receives, written in
the formats of docs/collection.md, for the demo and the tests.

``write_season`` reads the campaign's assessments and writes, deterministically for a seed:

- the tax bureau's daily detail files (税务缴费明细) for a few days, households paying their
  payable amounts through 手机银行、微信、支付宝、POS、银行柜台, with the usual faults: a wrong
  (short) amount, a person who pays twice, an ID number not in the registry, and one day's file
  delivered twice;
- the banks' daily credit totals (待报解账户入账汇总), which match the tax detail except one
  bank on the last day, one line short;
- one department proxy file (部门代缴明细) per funder, from the assessment shares;
- a village collector's cash file (现金收款登记) with the numbers of the receipt book to issue;
- three-party withholding agreements (委托代扣三方协议) for a share of the households that did
  not pay.

``write_withholding_return`` answers a deduction file written by ``canbao withholding batch`` or
``retry`` as the bank would: mostly successes, with insufficient balances, a closed account and
a name mismatch in the first round.

Money is integer fen; files give yuan as exact decimal text (250.00) or fen, as each format says.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from canbao.campaigns.models import Assessment, AssessmentShare, Campaign
from canbao.idnumber import make
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan, yuan_decimal
from canbao.registry.models import Resident

__all__ = [
    "BankShort",
    "CashFile",
    "ProxyFile",
    "ReturnFile",
    "Season",
    "SeasonFault",
    "TaxDay",
    "write_season",
    "write_withholding_return",
]

TAX_DAYS = (date(2019, 11, 20), date(2019, 11, 27), date(2019, 12, 4), date(2019, 12, 11))
TAX_DAY_WEIGHTS = (2, 3, 3, 2)
METHODS = ("手机银行", "微信", "支付宝", "POS", "银行柜台")
METHOD_WEIGHTS = (35, 25, 15, 10, 15)
BANKS = ("农业银行", "建设银行", "农村商业银行", "邮政储蓄银行")
BANK_WEIGHTS = (35, 20, 30, 15)
CASH_DAY = date(2019, 11, 25)
PROXY_DAY = date(2019, 12, 18)
AGREEMENT_DAY = date(2019, 10, 15)
WITHHOLDING_BANKS = ("中国农业银行桃江支行", "桃江农村商业银行")
COLLECTOR = "刘会计"
RECEIPT_FIRST = 1001
RECEIPT_BOOK = 100  # numbers in the book issued to the collector
CASH_MAX = 80  # cash payments at most: the rest of the book stays blank
TAX_SHARE = 0.82  # households that pay through the tax channel
CASH_SHARE = 0.35  # households of the cash village that pay the collector
WITHHOLDING_SHARE = 0.3  # households that did not pay and sign a withholding agreement
PROXY_SKIP = 0.02  # persons a department has not paid for yet
SHORT_FEN = 5000  # the wrong amount: 50 yuan short
FUNDER_PREFIX = {
    "medical_assistance": "YLJZ",
    "county_finance": "XCZ",
    "veterans_affairs": "TYJR",
    "disabled_federation": "CL",
    "health_commission": "WJ",
    "civil_affairs": "MZ",
    "rural_revitalization": "XCZX",
}
RETURN_TEXT = {"0000": "扣款成功", "1001": "余额不足", "1002": "账户已销户", "1004": "户名不符"}


@dataclass(frozen=True)
class SeasonFault:
    """A fault planted in the files: ``kind`` is the suspense reason it should produce
    (partial, excess, unknown_person) or ``repeated_file``."""

    kind: str
    day: date
    key: str
    name: str
    id_number: str
    amount_fen: int
    detail: str


@dataclass(frozen=True)
class TaxDay:
    day: date
    path: Path
    bank_file: Path
    lines: int
    fen: int
    bank_fen: int  # the banks' credits of the day, as written in bank_file


@dataclass(frozen=True)
class BankShort:
    """The one bank credit that is a line short of the tax detail, and why."""

    day: date
    bank: str
    key: str
    amount_fen: int
    reason: str


@dataclass(frozen=True)
class ProxyFile:
    funder: str
    path: Path
    lines: int
    fen: int
    skipped: int  # shares not paid yet


@dataclass(frozen=True)
class CashFile:
    path: Path
    collector: str
    village_code: str
    village_name: str
    first: int  # the receipt book to issue: first..last
    last: int
    lines: int
    fen: int


@dataclass(frozen=True)
class Season:
    campaign: int
    out_dir: Path
    tax_days: tuple[TaxDay, ...]
    repeated: Path  # a second delivery of repeated_of's tax file, byte for byte
    repeated_of: date
    proxy: tuple[ProxyFile, ...]
    cash: CashFile
    agreements: Path
    agreement_count: int
    bank_short: BankShort
    faults: tuple[SeasonFault, ...]
    payers: int  # persons with a payable amount
    unpaid: int  # of them, neither tax nor cash

    @property
    def file_fen(self) -> int:
        """Every amount in the payment files (the repeated delivery counted once)."""
        return (
            sum(day.fen for day in self.tax_days) + sum(p.fen for p in self.proxy) + self.cash.fen
        )


@dataclass(frozen=True)
class ReturnFile:
    path: Path
    sequence: int
    lines: int
    codes: dict[str, int] = field(default_factory=dict)  # return code -> lines
    success_fen: int = 0


@dataclass
class _Member:
    id_number: str
    name: str
    village: str
    village_name: str
    payable_fen: int


@dataclass
class _TaxLine:
    key: str
    day: date
    name: str
    id_number: str
    amount_fen: int
    method: str
    bank: str


def _write_csv(path: Path, title: str, header: list[str], rows: list[list[str]]) -> Path:
    """A CSV as the bureau receives it: UTF-8 with BOM, a title row above the header. Written
    only when the content changed, so the same season gives the same file (and hash)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([title])
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8-sig")
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def _households(campaign: Campaign) -> list[list[_Member]]:
    """The campaign's eligible residents with a payable amount, by household, in a stable order
    (village, household number, ID number)."""
    rows = (
        Assessment.objects.filter(
            campaign=campaign,
            eligible=True,
            payable_fen__gt=0,
            resident__status=Resident.Status.ACTIVE,
            resident__id_type=Resident.IdType.RESIDENT_ID,
        )
        # Nobody pays for a person not born yet (a registry may describe a later day).
        .exclude(resident__birth_date__gte=AGREEMENT_DAY)
        .order_by("resident__village__code", "resident__household__number", "resident__id_number")
        .values_list(
            "resident__household__number",
            "resident__id_number",
            "resident__name",
            "resident__village__code",
            "resident__village__name",
            "payable_fen",
        )
    )
    households: list[list[_Member]] = []
    current = None
    for number, id_number, name, village, village_name, payable in rows.iterator(chunk_size=5000):
        if number != current:
            households.append([])
            current = number
        households[-1].append(_Member(id_number, name, village, village_name, int(payable or 0)))
    return households


def write_season(*, campaign: Campaign, out_dir: Path, seed: int) -> Season:
    """Write a season's files for an assessed campaign into ``out_dir`` (see the module's
    docstring). The same campaign assessments and seed give the same files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"canbao-season-{seed}")
    households = _households(campaign)
    villages = sorted({h[0].village for h in households})
    if not villages:
        raise ValueError(f"{campaign} has no assessed resident with a payable amount")
    cash_village = villages[rng.randrange(len(villages))]

    tax: dict[date, list[_TaxLine]] = {day: [] for day in TAX_DAYS}
    cash: list[_Member] = []
    agreements: list[tuple[_Member, str, str, str]] = []  # member, bank, account, holder
    unpaid = 0
    serial = 0
    for members in households:
        draw = rng.random()
        if (
            members[0].village == cash_village
            and draw < CASH_SHARE
            and len(cash) + len(members) <= CASH_MAX
        ):
            cash.extend(members)
            continue
        if draw < TAX_SHARE:
            day = rng.choices(TAX_DAYS, TAX_DAY_WEIGHTS)[0]
            method = rng.choices(METHODS, METHOD_WEIGHTS)[0]
            bank = rng.choices(BANKS, BANK_WEIGHTS)[0]
            for member in members:
                serial += 1
                tax[day].append(
                    _TaxLine(
                        f"343{day:%m%d}{serial:06d}",
                        day,
                        member.name,
                        member.id_number,
                        member.payable_fen,
                        method,
                        bank,
                    )
                )
            continue
        unpaid += len(members)
        if rng.random() < WITHHOLDING_SHARE:
            bank = rng.choice(WITHHOLDING_BANKS)
            account = f"62284800{len(agreements) + 1:011d}"
            holder = members[0].name
            agreements.extend((m, bank, account, holder) for m in members)

    # Persons who pay their own part (or signed to have it withheld): the departments pay the
    # partly subsidised their share once the person's part is in.
    paying = {line.id_number for lines in tax.values() for line in lines}
    paying.update(m.id_number for m in cash)
    paying.update(m.id_number for m, _, _, _ in agreements)
    faults = _plant_faults(tax, rng)
    tax_days: list[TaxDay] = []
    short: BankShort | None = None
    for day in TAX_DAYS:
        lines = sorted(tax[day], key=lambda line: line.key)
        path = _write_csv(
            out_dir / f"税务缴费明细{day:%Y%m%d}.csv",
            f"桃江县税务局城乡居民医保缴费明细 {day.isoformat()}",
            ["缴费日期", "电子税票号码", "姓名", "公民身份号码", "金额（元）", "缴费渠道", "银行"],
            [
                [
                    line.day.isoformat(),
                    line.key,
                    line.name,
                    line.id_number,
                    str(yuan_decimal(line.amount_fen)),
                    line.method,
                    line.bank,
                ]
                for line in lines
            ],
        )
        credits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for line in lines:
            credits[line.bank][0] += line.amount_fen
            credits[line.bank][1] += 1
        if day == TAX_DAYS[-1] and lines:
            # One bank credited one line less than the tax detail says.
            bank = max(sorted(credits), key=lambda b: credits[b][1])
            missing = [line for line in lines if line.bank == bank][-1]
            credits[bank][0] -= missing.amount_fen
            credits[bank][1] -= 1
            short = BankShort(
                day,
                bank,
                missing.key,
                missing.amount_fen,
                f"{bank}当日入账少1笔（电子税票号码{missing.key}，{yuan(missing.amount_fen)}元）："
                "经与银行核实，该笔在日切后到账，计入次日待报解账户",
            )
        bank_file = _write_csv(
            out_dir / f"银行入账汇总{day:%Y%m%d}.csv",
            f"待报解账户入账汇总 {day.isoformat()}",
            ["日期", "银行", "入账金额（元）", "笔数"],
            [
                [day.isoformat(), bank, str(yuan_decimal(fen)), str(count)]
                for bank, (fen, count) in sorted(credits.items())
                if count
            ],
        )
        tax_days.append(
            TaxDay(
                day,
                path,
                bank_file,
                len(lines),
                sum(line.amount_fen for line in lines),
                sum(fen for fen, _ in credits.values()),
            )
        )
    if short is None:
        raise ValueError("the last tax day has no payer: the county is too small for a season")

    repeated_of = tax_days[1]
    repeated = out_dir / f"税务缴费明细{repeated_of.day:%Y%m%d}（重发）.csv"
    shutil.copyfile(repeated_of.path, repeated)
    faults.append(
        SeasonFault(
            "repeated_file",
            repeated_of.day,
            repeated.name,
            "",
            "",
            repeated_of.fen,
            f"税务局把{repeated_of.day.isoformat()}的明细又发了一次（{repeated.name}）",
        )
    )

    village_name = next(
        m.village_name for members in households for m in members if m.village == cash_village
    )
    cash_rows = [
        [
            f"{RECEIPT_FIRST + offset:07d}",
            CASH_DAY.isoformat(),
            member.name,
            member.id_number,
            str(yuan_decimal(member.payable_fen)),
            COLLECTOR,
        ]
        for offset, member in enumerate(cash)
    ]
    cash_file = CashFile(
        _write_csv(
            out_dir / f"现金收款登记{cash_village}.csv",
            f"{village_name}现金收款登记",
            ["收据号码", "缴费日期", "姓名", "公民身份号码", "金额（元）", "收款人"],
            cash_rows,
        ),
        COLLECTOR,
        cash_village,
        village_name,
        RECEIPT_FIRST,
        RECEIPT_FIRST + RECEIPT_BOOK - 1,
        len(cash),
        sum(m.payable_fen for m in cash),
    )

    agreements_path = _write_csv(
        out_dir / "委托代扣三方协议.csv",
        "桃江县城乡居民医保委托代扣三方协议汇总表",
        ["姓名", "公民身份号码", "开户银行", "账号", "户名", "签订日期"],
        [
            [m.name, m.id_number, bank, account, holder, AGREEMENT_DAY.isoformat()]
            for m, bank, account, holder in agreements
        ],
    )
    return Season(
        campaign=campaign.pk,
        out_dir=out_dir,
        tax_days=tuple(tax_days),
        repeated=repeated,
        repeated_of=repeated_of.day,
        proxy=_write_proxy(campaign, out_dir, rng, paying),
        cash=cash_file,
        agreements=agreements_path,
        agreement_count=len(agreements),
        bank_short=short,
        faults=tuple(faults),
        payers=sum(len(h) for h in households),
        unpaid=unpaid,
    )


def _plant_faults(tax: dict[date, list[_TaxLine]], rng: random.Random) -> list[SeasonFault]:
    """A short amount and a person who pays twice on the first day's lines; an ID number that
    is not in the registry on the second day's."""
    first, second, third = TAX_DAYS[0], TAX_DAYS[1], TAX_DAYS[2]
    full = [line for line in tax[first] if line.amount_fen > SHORT_FEN]
    if len(full) < 2:
        raise ValueError("the first tax day needs at least two payers")
    short, twice = rng.sample(full, 2)
    short.amount_fen -= SHORT_FEN
    again = _TaxLine(
        f"343{third:%m%d}900001",
        third,
        twice.name,
        twice.id_number,
        twice.amount_fen,
        "微信",
        twice.bank,
    )
    tax[third].append(again)
    stranger = _TaxLine(
        f"343{second:%m%d}900001",
        second,
        "陈桂英",
        make("430921", date(1986, 4, 12), 137, "F"),
        25000,
        "支付宝",
        BANKS[0],
    )
    tax[second].append(stranger)
    return [
        SeasonFault(
            "partial",
            first,
            short.key,
            short.name,
            short.id_number,
            short.amount_fen,
            f"{short.name}少缴{yuan(SHORT_FEN)}元（只缴了{yuan(short.amount_fen)}元）",
        ),
        SeasonFault(
            "excess",
            third,
            again.key,
            twice.name,
            twice.id_number,
            again.amount_fen,
            f"{twice.name}已于{first.isoformat()}缴费，{third.isoformat()}又用微信缴了一次",
        ),
        SeasonFault(
            "unknown_person",
            second,
            stranger.key,
            stranger.name,
            stranger.id_number,
            stranger.amount_fen,
            f"{stranger.name}（{stranger.id_number}）是外县居民，不在本县登记库中",
        ),
    ]


def _write_proxy(
    campaign: Campaign, out_dir: Path, rng: random.Random, paying: set[str]
) -> tuple[ProxyFile, ...]:
    """One file per funder: a line per share of an eligible resident who is fully subsidised or
    pays the own part (``paying``), a few not paid yet."""
    shares: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for funder, id_number, name, fen, payable in (
        AssessmentShare.objects.filter(
            assessment__campaign=campaign,
            assessment__eligible=True,
            assessment__resident__status=Resident.Status.ACTIVE,
        )
        .order_by(
            "funder", "assessment__resident__village__code", "assessment__resident__id_number"
        )
        .values_list(
            "funder",
            "assessment__resident__id_number",
            "assessment__resident__name",
            "fen",
            "assessment__payable_fen",
        )
        .iterator(chunk_size=5000)
    ):
        if payable == 0 or id_number in paying:
            shares[funder].append((id_number, name, int(fen)))
    files = []
    for funder in sorted(shares):
        rows: list[list[str]] = []
        skipped = 0
        fen = 0
        prefix = FUNDER_PREFIX.get(funder, funder.upper())
        for id_number, name, amount in shares[funder]:
            if rng.random() < PROXY_SKIP:
                skipped += 1
                continue
            rows.append(
                [
                    FUNDER_NAMES[funder],
                    f"{prefix}2019-{len(rows) + 1:05d}",
                    PROXY_DAY.isoformat(),
                    name,
                    id_number,
                    str(yuan_decimal(amount)),
                ]
            )
            fen += amount
        path = _write_csv(
            out_dir / f"{FUNDER_NAMES[funder]}代缴明细.csv",
            f"{FUNDER_NAMES[funder]}资助参保代缴明细",
            ["代缴部门", "批次行号", "缴费日期", "姓名", "公民身份号码", "金额（元）"],
            rows,
        )
        files.append(ProxyFile(funder, path, len(rows), fen, skipped))
    return tuple(files)


def write_withholding_return(
    *, batch_file: Path, out: Path, paid_on: date, seed: int, failures: bool = True
) -> ReturnFile:
    """The bank's return file for a deduction file (批次号, 行号, 账号, 金额（分）, 返回码,
    返回说明, 扣款日期). With ``failures``: about one line in ten 1001 余额不足, one 1002
    账户已销户 and one 1004 户名不符, the rest 0000 扣款成功; without, all successes."""
    with batch_file.open(encoding="utf-8-sig", newline="") as stream:
        lines = list(csv.DictReader(stream))
    sequence = int(lines[0]["批次号"]) if lines else 0
    rng = random.Random(f"canbao-return-{seed}-{sequence}")
    closed = 3 if len(lines) >= 3 else 0
    mismatch = 7 if len(lines) >= 7 else 0
    rows: list[list[str]] = []
    codes: dict[str, int] = defaultdict(int)
    success_fen = 0
    for line in lines:
        number = int(line["行号"])
        code = "0000"
        if failures:
            if number == closed:
                code = "1002"
            elif number == mismatch:
                code = "1004"
            elif number == 2 or (number > 1 and rng.random() < 0.1):
                code = "1001"
        codes[code] += 1
        amount = int(line["金额（分）"])
        if code == "0000":
            success_fen += amount
        rows.append(
            [
                line["批次号"],
                line["行号"],
                line["账号"],
                str(amount),
                code,
                RETURN_TEXT[code],
                paid_on.isoformat(),
            ]
        )
    _write_csv(
        out,
        f"代扣回盘 批次{sequence}",
        ["批次号", "行号", "账号", "金额（分）", "返回码", "返回说明", "扣款日期"],
        rows,
    )
    return ReturnFile(out, sequence, len(rows), dict(sorted(codes.items())), success_fen)
