"""The departments' proxy payment files (部门代缴明细): one per funder, from the campaign's
assessment shares, paid on the plan's day; a few persons not paid for yet (the bill shows the
balance)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from canbao.campaigns.models import AssessmentShare, Campaign
from canbao.demo.files import Cell, write_csv
from canbao.policy.codes import FUNDER_NAMES
from canbao.policy.money import yuan_decimal
from canbao.registry.models import Resident

__all__ = ["ProxyFile", "write_proxy"]

PROXY_SKIP = 0.02  # persons a department has not paid for yet
FUNDER_PREFIX = {
    "medical_assistance": "YLJZ",
    "county_finance": "XCZ",
    "veterans_affairs": "TYJR",
    "disabled_federation": "CL",
    "health_commission": "WJ",
    "civil_affairs": "MZ",
    "rural_revitalization": "XCZX",
}


@dataclass(frozen=True)
class ProxyFile:
    funder: str
    path: Path
    lines: int
    fen: int
    skipped: int  # shares not paid yet


def write_proxy(
    *, campaign: Campaign, out_dir: Path, rng: random.Random, paying: set[str], day: date
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
        rows: list[list[Cell]] = []
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
                    f"{prefix}{day.year}-{len(rows) + 1:05d}",
                    day,
                    name,
                    id_number,
                    yuan_decimal(amount),
                ]
            )
            fen += amount
        path = write_csv(
            out_dir / f"{FUNDER_NAMES[funder]}代缴明细.csv",
            f"{FUNDER_NAMES[funder]}资助参保代缴明细",
            ["代缴部门", "批次行号", "缴费日期", "姓名", "公民身份号码", "金额（元）"],
            rows,
        )
        files.append(ProxyFile(funder, path, len(rows), fen, skipped))
    return tuple(files)
