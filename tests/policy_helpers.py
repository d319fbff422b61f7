from datetime import date
from typing import Any

from canbao.policy.loader import load_preset
from canbao.policy.quote import Facts, Quote, quote


def quote_for(preset: str, paid_on: str, **facts: Any) -> Quote:
    return quote(load_preset(preset), Facts.model_validate(facts), date.fromisoformat(paid_on))


def funders(q: Quote) -> dict[str, int]:
    return {share.funder: share.fen for share in q.subsidies}
