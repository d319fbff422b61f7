"""Each preset's season as its notice runs it: the county, the day its registry describes, the
rosters, and the channels with their days, all inside the notice's own windows.

A plan says what the notice says. Songming's villages collect cash by household and its
departments pay for their groups; Wuming's residents pay by bank withholding; Daligang,
Chuxiong and Dazhu collect through the tax bureau, with daily detail files to reconcile, and
Daligang takes cash only from people whose registration data are wrong. Chuxiong enrolls by
person, the others by household.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from canbao.demo.counties import COUNTIES, County
from canbao.demo.synthetic import ROSTERS, RosterSpec
from canbao.policy.schema import Policy

__all__ = [
    "PRESET_SEASONS",
    "CashPlan",
    "PresetSeason",
    "SeasonPlan",
    "TaxPlan",
    "WithholdingPlan",
]


@dataclass(frozen=True)
class TaxPlan:
    """Payments through the tax bureau, reported in a daily detail file."""

    days: tuple[date, ...]  # at least three: the faults need them
    day_weights: tuple[int, ...]
    methods: tuple[str, ...]  # 缴费渠道, as the notice names them
    method_weights: tuple[int, ...]
    banks: tuple[str, ...]
    bank_weights: tuple[int, ...]
    share: float  # of the paying units (households or persons)


@dataclass(frozen=True)
class CashPlan:
    """Cash to village collectors, against numbered receipts."""

    days: tuple[date, ...]
    share: float  # of the paying units of a collecting village
    # Every village collects (Songming), one file per township; else one village collects from
    # at most ``limit`` persons (Daligang: people whose registration data are wrong).
    every_village: bool
    limit: int
    collector: str = ""  # the one village's collector; every village's own otherwise


@dataclass(frozen=True)
class WithholdingPlan:
    """Bank withholding: agreements, a deduction and a retry (Wuming)."""

    agreement_day: date
    first_day: date  # the bank's deduction
    retry_day: date
    banks: tuple[str, ...]
    share: float  # of the units that paid through no other channel


@dataclass(frozen=True)
class SeasonPlan:
    tax: TaxPlan | None
    cash: CashPlan | None
    withholding: WithholdingPlan | None
    proxy_day: date

    @property
    def first_day(self) -> date:
        days = [*(self.tax.days if self.tax else ()), *(self.cash.days if self.cash else ())]
        if self.withholding:
            days.append(self.withholding.agreement_day)
        return min(days, default=self.proxy_day)


@dataclass(frozen=True)
class PresetSeason:
    preset: str
    county: County
    registry_as_of: date  # the registry as the bureau holds it before the season
    poor_category: str  # the category of poor households the notice names
    plan: SeasonPlan
    channels: str  # how the notice has residents pay, in Chinese
    # Why the days are not reconciled against the tax bureau's detail ("" when they are).
    no_reconciliation: str = ""

    def rosters(self, policy: Policy) -> tuple[RosterSpec, ...]:
        """The departments' rosters of the categories the policy knows."""
        known = {category.code for category in policy.identity.categories}
        specs = (
            replace(spec, category=self.poor_category)
            if spec.category == "registered_poor"
            else spec
            for spec in ROSTERS
        )
        return tuple(spec for spec in specs if spec.category in known)


_BANKS = ("农业银行", "建设银行", "农村商业银行", "邮政储蓄银行")

PRESET_SEASONS = {
    season.preset: season
    for season in (
        PresetSeason(
            "songming-2016",
            COUNTIES["530127"],
            date(2015, 9, 20),
            "registered_poor",
            SeasonPlan(
                tax=None,
                cash=CashPlan(
                    days=(date(2015, 9, 28), date(2015, 10, 12), date(2015, 10, 22)),
                    share=0.9,
                    every_village=True,
                    limit=0,
                ),
                withholding=None,
                proxy_day=date(2015, 10, 23),
            ),
            "农村居民由村（居）委会、村小组以户为单位收取现金并登记，2015年10月25日前缴入农业银行"
            "指定账户；城乡低保对象、重度残疾人、农村五保供养对象由民政部门统一办理参保缴费",
            "本通知的缴费不经税务部门，没有每日税务明细可对账；村收款后由镇（街道）社保所核对"
            "人款相符、纸质名册与电子名册相符（见下方人、钱、票、册四相符）",
        ),
        PresetSeason(
            "wuming-2018",
            COUNTIES["450110"],
            date(2017, 8, 31),
            "registered_poor",
            SeasonPlan(
                tax=None,
                cash=None,
                withholding=WithholdingPlan(
                    agreement_day=date(2017, 9, 20),
                    first_day=date(2017, 10, 30),
                    retry_day=date(2017, 12, 20),
                    banks=("中国农业银行武鸣支行", "广西武鸣农村商业银行"),
                    share=0.9,
                ),
                proxy_day=date(2017, 11, 30),
            ),
            "各村入户签订委托代扣三方协议（2017年9月30日前），城区人社部门录入后报银行代扣"
            "（10月30日前），余额不足的发回各镇督促存款后再次代扣（12月25日前）；五保、低保、"
            "独生子女户、双女结扎户、残疾人、建档立卡贫困人员由民政、卫计、残联、扶贫部门资助",
            "本方案的缴费经银行代扣，不经税务部门，没有每日税务明细可对账；银行回盘逐笔与代扣"
            "文件核对（批次、行号、账号、金额），不符的整批拒收",
        ),
        PresetSeason(
            "daligang-2020",
            COUNTIES["430922"],
            date(2019, 10, 31),
            "registered_poor",
            SeasonPlan(
                tax=TaxPlan(
                    days=(
                        date(2019, 11, 20),
                        date(2019, 11, 27),
                        date(2019, 12, 4),
                        date(2019, 12, 11),
                    ),
                    day_weights=(2, 3, 3, 2),
                    methods=("银行柜台", "智能POS", "手机银行", "网上银行", "税务社保APP"),
                    method_weights=(15, 15, 35, 10, 25),
                    banks=_BANKS,
                    bank_weights=(35, 20, 30, 15),
                    share=0.82,
                ),
                cash=CashPlan(
                    days=(date(2019, 11, 25),),
                    share=0.35,
                    every_village=False,
                    limit=80,
                    collector="刘会计",
                ),
                withholding=None,
                proxy_day=date(2019, 12, 18),
            ),
            "银行柜台、智能POS、手机银行、网上银行、税务社保APP缴费，税务部门每日送缴费明细；"
            "户籍或身份信息有误、无法在税务系统缴费的，经税务“代缴户”缴现金，凭省统一收款收据；"
            "特殊人群由医疗救助资金、县财政、退役军人事务局、残联按规定代缴",
        ),
        PresetSeason(
            "chuxiong-2021",
            COUNTIES["532301"],
            date(2020, 8, 31),
            "registered_poor",
            SeasonPlan(
                tax=TaxPlan(
                    days=(
                        date(2020, 9, 16),
                        date(2020, 10, 21),
                        date(2020, 11, 18),
                        date(2020, 12, 16),
                    ),
                    day_weights=(3, 3, 2, 2),
                    methods=(
                        "云南省电子税务局APP",
                        "手机银行",
                        "网上银行",
                        "智付通终端",
                        "银行自助终端",
                        "办税服务厅",
                    ),
                    method_weights=(30, 25, 10, 15, 10, 10),
                    banks=("农业银行", "农村信用社", "建设银行", "邮政储蓄银行"),
                    bank_weights=(30, 35, 20, 15),
                    share=0.85,
                ),
                cash=None,
                withholding=None,
                proxy_day=date(2020, 12, 28),
            ),
            "以个人为单位，经省电子税务局APP（本人或代他人缴）、网上银行、手机银行、村委会智付通"
            "终端、银行自助终端、办税服务厅缴费，税务部门每日送缴费明细；资助对象由医疗救助资金、"
            "卫生健康局、退役军人事务管理局代缴",
        ),
        PresetSeason(
            "dazhu-2022",
            COUNTIES["511724"],
            date(2021, 8, 31),
            "lifted_poverty",
            SeasonPlan(
                tax=TaxPlan(
                    days=(
                        date(2021, 9, 15),
                        date(2021, 10, 13),
                        date(2021, 11, 10),
                        date(2021, 12, 8),
                    ),
                    day_weights=(2, 3, 3, 2),
                    methods=(
                        "银行APP",
                        "四川税务微信公众号",
                        "微信城市服务",
                        "支付宝",
                        "乡镇便民服务中心",
                        "办税服务厅",
                    ),
                    method_weights=(30, 20, 15, 15, 12, 8),
                    banks=(
                        "农业银行",
                        "工商银行",
                        "建设银行",
                        "中国银行",
                        "邮政储蓄银行",
                        "大竹农商银行",
                        "达州银行",
                    ),
                    bank_weights=(20, 10, 15, 10, 15, 20, 10),
                    share=0.85,
                ),
                cash=None,
                withholding=None,
                proxy_day=date(2021, 12, 20),
            ),
            "以户为单位，经七家银行APP、四川税务微信公众号、微信城市服务、支付宝、乡镇便民服务"
            "中心、办税服务厅缴费，税务部门每日送缴费明细；特殊人群由政府资助代缴",
        ),
    )
}
