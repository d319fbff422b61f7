"""A synthetic collection season: the files an assessed campaign's bureau receives, written in
the formats of docs/collection.md, for the demo and the tests.

``write_season`` reads the campaign's assessments and writes, deterministically for a seed, the
files of the channels its ``SeasonPlan`` (the notice's own) uses:

- the tax bureau's daily detail files (税务缴费明细), households (or persons, where the policy
  enrolls by person) paying their payable amounts through the notice's channels, with the usual
  faults: a wrong (short) amount, a person who pays twice, an ID number not in the registry, and
  one day's file delivered twice; and the banks' daily credit totals (待报解账户入账汇总), which
  match the tax detail except one bank on the last day, one line short;
- village collectors' cash registers (现金收款登记) with the receipt books to issue (one village
  for a few people, or every village where the villages collect by household), carrying the
  faults when there is no tax channel;
- three-party withholding agreements (委托代扣三方协议);
- one department proxy file (部门代缴明细) per funder, from the assessment shares
  (``canbao.demo.proxy``).

The bank's answer to a deduction file is ``canbao.demo.bank.write_withholding_return``.

Money is integer fen; files give yuan as exact decimal text (250.00) or fen, as each format says.
"""

from __future__ import annotations

import random
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from canbao.campaigns.models import Assessment, Campaign
from canbao.campaigns.selectors import campaign_policy
from canbao.demo.files import Cell, write_csv
from canbao.demo.people import SURNAMES
from canbao.demo.plans import CashPlan, SeasonPlan, TaxPlan
from canbao.demo.proxy import ProxyFile, write_proxy
from canbao.idnumber import make
from canbao.policy.money import yuan, yuan_decimal
from canbao.registry.models import Resident

__all__ = [
    "BankShort",
    "CashFile",
    "ReceiptBookPlan",
    "Season",
    "SeasonFault",
    "TaxDay",
    "write_season",
]

RECEIPT_FIRST = 1001
SHORT_FEN = 5000  # the wrong amount: 50 yuan short


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
class ReceiptBookPlan:
    """A receipt book to issue before the cash is imported: first..last."""

    collector: str
    village_code: str
    village_name: str
    first: int
    last: int
    used: int


@dataclass(frozen=True)
class CashFile:
    path: Path
    name: str  # the village or township whose register it is
    lines: int
    fen: int


@dataclass(frozen=True)
class Season:
    campaign: int
    out_dir: Path
    tax_days: tuple[TaxDay, ...]
    repeated: Path | None  # a second delivery of repeated_of's tax file, byte for byte
    repeated_of: date | None
    bank_short: BankShort | None
    books: tuple[ReceiptBookPlan, ...]
    cash: tuple[CashFile, ...]
    agreements: Path | None
    agreement_count: int
    proxy: tuple[ProxyFile, ...]
    faults: tuple[SeasonFault, ...]
    payers: int  # persons with a payable amount
    unpaid: int  # of them, paying through no channel but withholding (or none)

    @property
    def file_fen(self) -> int:
        """Every amount in the payment files (the repeated delivery counted once)."""
        return (
            sum(day.fen for day in self.tax_days)
            + sum(p.fen for p in self.proxy)
            + sum(c.fen for c in self.cash)
        )


@dataclass
class _Member:
    id_number: str
    name: str
    village: str
    village_name: str
    township: str
    township_name: str
    payable_fen: int


@dataclass
class _Line:
    """A payment of a person, by tax (key: the e-tax voucher) or cash (key set when the
    receipts are numbered)."""

    day: date
    name: str
    id_number: str
    amount_fen: int
    method: str = ""
    bank: str = ""
    key: str = ""
    village: str = ""  # cash: whose book the receipt comes from


@dataclass
class _Draft:
    """What the paying units do, before the files are written."""

    tax: dict[date, list[_Line]] = field(default_factory=dict)
    cash: list[tuple[_Member, _Line]] = field(default_factory=list)
    agreements: list[tuple[_Member, str, str, str]] = field(default_factory=list)
    unpaid: int = 0


def _households(campaign: Campaign, born_before: date) -> list[list[_Member]]:
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
        .exclude(resident__birth_date__gte=born_before)
        .order_by("resident__village__code", "resident__household__number", "resident__id_number")
        .values_list(
            "resident__household__number",
            "resident__id_number",
            "resident__name",
            "resident__village__code",
            "resident__village__name",
            "resident__village__parent__code",
            "resident__village__parent__name",
            "payable_fen",
        )
    )
    households: list[list[_Member]] = []
    current = None
    for (
        number,
        id_number,
        name,
        village,
        village_name,
        township,
        township_name,
        payable,
    ) in rows.iterator(chunk_size=5000):
        if number != current:
            households.append([])
            current = number
        households[-1].append(
            _Member(
                id_number, name, village, village_name, township, township_name, int(payable or 0)
            )
        )
    return households


def _allocate(
    plan: SeasonPlan, units: list[list[_Member]], rng: random.Random
) -> tuple[_Draft, set[str]]:
    """Which channel each paying unit uses; the collecting villages (for cash)."""
    draft = _Draft(tax={day: [] for day in (plan.tax.days if plan.tax else ())})
    villages = sorted({unit[0].village for unit in units})
    cash = plan.cash
    collecting = set(villages) if cash and cash.every_village else set()
    if cash and not cash.every_village:
        collecting.add(villages[rng.randrange(len(villages))])
    serial = 0
    for members in units:
        draw = rng.random()
        if (
            cash
            and members[0].village in collecting
            and draw < cash.share
            and (cash.every_village or len(draft.cash) + len(members) <= cash.limit)
        ):
            day = rng.choice(cash.days)
            draft.cash.extend((m, _Line(day, m.name, m.id_number, m.payable_fen)) for m in members)
            continue
        tax = plan.tax
        if tax and draw < tax.share:
            day = rng.choices(tax.days, tax.day_weights)[0]
            method = rng.choices(tax.methods, tax.method_weights)[0]
            bank = rng.choices(tax.banks, tax.bank_weights)[0]
            for m in members:
                serial += 1
                key = f"3{m.id_number[:2]}{day:%m%d}{serial:06d}"
                draft.tax[day].append(
                    _Line(day, m.name, m.id_number, m.payable_fen, method, bank, key)
                )
            continue
        draft.unpaid += len(members)
        withholding = plan.withholding
        if withholding and rng.random() < withholding.share:
            bank = rng.choice(withholding.banks)
            account = f"62284800{len(draft.agreements) + 1:011d}"
            holder = members[0].name
            draft.agreements.extend((m, bank, account, holder) for m in members)
    return draft, collecting


def write_season(*, campaign: Campaign, out_dir: Path, seed: int, plan: SeasonPlan) -> Season:
    """Write a season's files for an assessed campaign into ``out_dir`` (see the module's
    docstring). The same campaign assessments, plan and seed give the same files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"canbao-season-{seed}")
    households = _households(campaign, plan.first_day)
    if not households:
        raise ValueError(f"{campaign} has no assessed resident with a payable amount")
    by_person = campaign_policy(campaign).enrollment_unit == "person"
    units = [[m] for h in households for m in h] if by_person else households
    draft, collecting = _allocate(plan, units, rng)
    county = campaign.area
    stranger = _stranger(county.code, campaign_policy(campaign).contribution.personal_fen)

    # Persons who pay their own part (or signed to have it withheld): the departments pay the
    # partly subsidised their share once the person's part is in.
    paying = {line.id_number for lines in draft.tax.values() for line in lines}
    paying.update(m.id_number for m, _ in draft.cash)
    paying.update(m.id_number for m, _, _, _ in draft.agreements)

    planted: _Planted = []
    if plan.tax is not None:
        planted = _plant_tax_faults(draft.tax, plan.tax, stranger, rng)
    elif plan.cash is not None:
        planted = _plant_cash_faults(draft.cash, plan.cash, stranger, households, rng)
    tax_days: tuple[TaxDay, ...] = ()
    short = None
    if plan.tax is not None:
        tax_days, short = _write_tax(draft.tax, county.name, out_dir)
    books: tuple[ReceiptBookPlan, ...] = ()
    cash_files: tuple[CashFile, ...] = ()
    if plan.cash is not None:
        books, cash_files = _write_cash(draft.cash, plan.cash, collecting, out_dir, rng)
    faults = [_fault(kind, line, detail) for kind, line, detail in planted]
    repeated = repeated_of = None
    if tax_days:
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
    agreements = None
    if plan.withholding is not None:
        agreements = write_csv(
            out_dir / "委托代扣三方协议.csv",
            f"{county.name}城乡居民医保委托代扣三方协议汇总表",
            ["姓名", "公民身份号码", "开户银行", "账号", "户名", "签订日期"],
            [
                [m.name, m.id_number, bank, account, holder, plan.withholding.agreement_day]
                for m, bank, account, holder in draft.agreements
            ],
        )
    return Season(
        campaign=campaign.pk,
        out_dir=out_dir,
        tax_days=tax_days,
        repeated=repeated,
        repeated_of=repeated_of.day if repeated_of else None,
        bank_short=short,
        books=books,
        cash=cash_files,
        agreements=agreements,
        agreement_count=len(draft.agreements),
        proxy=write_proxy(
            campaign=campaign, out_dir=out_dir, rng=rng, paying=paying, day=plan.proxy_day
        ),
        faults=tuple(faults),
        payers=sum(len(h) for h in households),
        unpaid=draft.unpaid,
    )


def _stranger(county_code: str, amount_fen: int) -> _Line:
    """A payer from the next county: an ID number not in the registry."""
    number = int(county_code[4:])
    other = f"{county_code[:4]}{number - 1 if number > 1 else number + 1:02d}"
    return _Line(date.min, "陈桂英", make(other, date(1986, 4, 12), 137, "F"), amount_fen)


_Planted = list[tuple[str, _Line, str]]  # kind, the line, what is wrong (Chinese)


def _plant_tax_faults(
    tax: dict[date, list[_Line]], plan: TaxPlan, stranger: _Line, rng: random.Random
) -> _Planted:
    """A short amount and a person who pays twice on the first day's lines; an ID number that
    is not in the registry on the second day's."""
    first, second, third = plan.days[:3]
    full = [line for line in tax[first] if line.amount_fen > SHORT_FEN]
    if len(full) < 2:
        raise ValueError("the first tax day needs at least two payers")
    short, twice = rng.sample(full, 2)
    short.amount_fen -= SHORT_FEN
    method = rng.choice([m for m in plan.methods if m != twice.method])
    again = _Line(
        third,
        twice.name,
        twice.id_number,
        twice.amount_fen,
        method,
        twice.bank,
        f"3{twice.id_number[:2]}{third:%m%d}900001",
    )
    tax[third].append(again)
    unknown = _Line(
        second,
        stranger.name,
        stranger.id_number,
        stranger.amount_fen,
        plan.methods[0],
        plan.banks[0],
        f"3{twice.id_number[:2]}{second:%m%d}900001",
    )
    tax[second].append(unknown)
    return [
        (
            "partial",
            short,
            f"{short.name}少缴{yuan(SHORT_FEN)}元（只缴了{yuan(short.amount_fen)}元）",
        ),
        (
            "excess",
            again,
            f"{twice.name}已于{first.isoformat()}缴费，{third.isoformat()}又用{method}缴了一次",
        ),
        (
            "unknown_person",
            unknown,
            f"{unknown.name}（{unknown.id_number}）是外县居民，不在本县登记库中",
        ),
    ]


def _fault(kind: str, line: _Line, detail: str) -> SeasonFault:
    """A planted fault, once its line has its key (cash: the receipt number)."""
    return SeasonFault(kind, line.day, line.key, line.name, line.id_number, line.amount_fen, detail)


def _write_tax(
    tax: dict[date, list[_Line]], county_name: str, out_dir: Path
) -> tuple[tuple[TaxDay, ...], BankShort]:
    days: list[TaxDay] = []
    short: BankShort | None = None
    last = max(tax)
    for day in sorted(tax):
        lines = sorted(tax[day], key=lambda line: line.key)
        path = write_csv(
            out_dir / f"税务缴费明细{day:%Y%m%d}.csv",
            f"{county_name}税务局城乡居民医保缴费明细 {day.isoformat()}",
            ["缴费日期", "电子税票号码", "姓名", "公民身份号码", "金额（元）", "缴费渠道", "银行"],
            [
                [
                    *(day, line.key, line.name, line.id_number),
                    *(yuan_decimal(line.amount_fen), line.method, line.bank),
                ]
                for line in lines
            ],
        )
        credits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for line in lines:
            credits[line.bank][0] += line.amount_fen
            credits[line.bank][1] += 1
        if day == last and lines:
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
        bank_file = write_csv(
            out_dir / f"银行入账汇总{day:%Y%m%d}.csv",
            f"待报解账户入账汇总 {day.isoformat()}",
            ["日期", "银行", "入账金额（元）", "笔数"],
            [
                [day, bank, yuan_decimal(fen), count]
                for bank, (fen, count) in sorted(credits.items())
                if count
            ],
        )
        days.append(
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
    return tuple(days), short


def _plant_cash_faults(
    cash: list[tuple[_Member, _Line]],
    plan: CashPlan,
    stranger: _Line,
    households: list[list[_Member]],
    rng: random.Random,
) -> _Planted:
    """Where villages collect everything in cash, the faults come with the cash: a short amount
    and a person who pays again on a later day, of the first day's payers; a person of another
    county on the second day."""
    first, second, last = plan.days[0], plan.days[1], plan.days[-1]
    full = [(m, line) for m, line in cash if line.day == first and line.amount_fen > SHORT_FEN]
    if len(full) < 2:
        raise ValueError("the first cash day needs at least two payers")
    (_, short), (member, twice) = rng.sample(full, 2)
    short.amount_fen -= SHORT_FEN
    again = _Line(last, twice.name, twice.id_number, twice.amount_fen)
    cash.append((member, again))
    village = rng.choice(sorted({m.village for m, _ in cash}))
    host = next(m for h in households for m in h if m.village == village)
    unknown = _Line(second, stranger.name, stranger.id_number, stranger.amount_fen)
    cash.append((host, unknown))
    return [
        (
            "partial",
            short,
            f"{short.name}少缴{yuan(SHORT_FEN)}元（只缴了{yuan(short.amount_fen)}元）",
        ),
        (
            "excess",
            again,
            f"{twice.name}已于{first.isoformat()}缴费，{last.isoformat()}又缴了一次",
        ),
        (
            "unknown_person",
            unknown,
            f"{unknown.name}（{unknown.id_number}）是外县居民，在{host.village_name}缴了现金",
        ),
    ]


def _write_cash(
    cash: list[tuple[_Member, _Line]],
    plan: CashPlan,
    collecting: set[str],
    out_dir: Path,
    rng: random.Random,
) -> tuple[tuple[ReceiptBookPlan, ...], tuple[CashFile, ...]]:
    """A receipt book per collecting village, numbered on from RECEIPT_FIRST; each cash line
    takes the next number of its village's book, in the order paid. One register per village
    (one collecting village) or per township (every village)."""
    by_village: dict[str, list[tuple[_Member, _Line]]] = defaultdict(list)
    for member, line in cash:
        by_village[member.village].append((member, line))
    books: list[ReceiptBookPlan] = []
    registers: dict[tuple[str, str], list[list[Cell]]] = defaultdict(list)
    first = RECEIPT_FIRST
    for village in sorted(collecting):
        paid = sorted(by_village.get(village, []), key=lambda item: item[1].day)
        if not paid:
            continue
        member = paid[0][0]
        collector = plan.collector or f"{rng.choice(SURNAMES)}会计"
        size = max(100, -(-(len(paid) + 10) // 100) * 100)  # whole books of 100, some blank
        books.append(
            ReceiptBookPlan(
                collector, village, member.village_name, first, first + size - 1, len(paid)
            )
        )
        register = (
            (member.township, member.township_name)
            if plan.every_village
            else (member.village, member.village_name)
        )
        for number, (_, line) in enumerate(paid, start=first):
            line.key = str(number)
            registers[register].append(
                [
                    *(f"{number:07d}", line.day, line.name, line.id_number),
                    *(yuan_decimal(line.amount_fen), collector),
                ]
            )
        first += size
    files = []
    for (code, name), rows in sorted(registers.items()):
        path = write_csv(
            out_dir / f"现金收款登记{code}.csv",
            f"{name}现金收款登记",
            ["收据号码", "缴费日期", "姓名", "公民身份号码", "金额（元）", "收款人"],
            rows,
        )
        fen = sum(
            line.amount_fen for member, line in cash if code in (member.village, member.township)
        )
        files.append(CashFile(path, name, len(rows), fen))
    return tuple(books), tuple(files)
