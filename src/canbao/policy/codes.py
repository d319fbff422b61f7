"""Canonical codes (DESIGN.md) with their default Chinese names.

A policy words its own labels for categories; these names are for messages and listings.
"""

from typing import Literal

CategoryCode = Literal[
    "extreme_poverty",
    "orphan",
    "priority_veteran",
    "urban_dibao",
    "rural_dibao",
    "fp_complication",
    "fp_special_support",
    "only_child",
    "only_child_parent",
    "two_daughter_sterilized",
    "safety_net_1",
    "land_expropriated",
    "disabled_1_2",
    "disabled_3_4",
    "disabled_3_mental",
    "registered_poor",
    "lifted_poverty",
    "student",
]

CATEGORY_NAMES: dict[str, str] = {
    "extreme_poverty": "特困人员",
    "orphan": "孤儿",
    "priority_veteran": "重点优抚对象",
    "urban_dibao": "城镇低保对象",
    "rural_dibao": "农村低保对象",
    "fp_complication": "计生后遗症人员",
    "fp_special_support": "计生特扶对象",
    "only_child": "独生子女",
    "only_child_parent": "农村独生子女父母",
    "two_daughter_sterilized": "双女结扎户",
    "safety_net_1": "社会兜底保障一类对象",
    "land_expropriated": "被征地农民",
    "disabled_1_2": "一二级残疾人",
    "disabled_3_4": "三四级残疾人",
    "disabled_3_mental": "三级智力、精神残疾人",
    "registered_poor": "建档立卡贫困人口",
    "lifted_poverty": "过渡期脱贫人口",
    "student": "在校学生",
}

FunderCode = Literal[
    "medical_assistance",
    "county_finance",
    "veterans_affairs",
    "disabled_federation",
    "health_commission",
    "civil_affairs",
    "rural_revitalization",
]

FUNDER_NAMES: dict[str, str] = {
    "medical_assistance": "医疗救助资金",
    "county_finance": "县财政",
    "veterans_affairs": "退役军人事务局",
    "disabled_federation": "残联",
    "health_commission": "卫生健康部门",
    "civil_affairs": "民政部门",
    "rural_revitalization": "乡村振兴（扶贫）部门",
}

EventKind = Literal[
    "newborn",
    "hukou_move_in",
    "demobilized",
    "graduate",
    "welfare_infant",
    "released_prisoner",
    "employee_insurance_ended",
    "newly_registered_poor",
]

EVENT_NAMES: dict[str, str] = {
    "newborn": "新生儿",
    "hukou_move_in": "新迁入户口",
    "demobilized": "复员转业退役军人",
    "graduate": "未及时就业的大中专毕业生",
    "welfare_infant": "社会福利机构新接收的弃婴",
    "released_prisoner": "刑满释放人员",
    "employee_insurance_ended": "职工医保终止",
    "newly_registered_poor": "新增建档立卡贫困人口",
}

DocumentKind = Literal[
    "id_card",
    "residence_permit",
    "school_enrollment",
    "hk_macau_permit",
    "taiwan_permit",
    "foreign_permanent_residence",
    "village_certificate",
]

DOCUMENT_NAMES: dict[str, str] = {
    "id_card": "居民身份证",
    "residence_permit": "居住证或其他有效务工、居住证件",
    "school_enrollment": "本地学校学籍",
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往内地通行证",
    "foreign_permanent_residence": "外国人永久居留证",
    "village_certificate": "村（社区）出具的事实婚姻证明",
}

WindowKind = Literal["concentrated", "extension", "late", "status_change", "newborn"]

WINDOW_KIND_NAMES: dict[str, str] = {
    "concentrated": "集中缴费期",
    "extension": "延期",
    "late": "补缴期",
    "status_change": "身份变化",
    "newborn": "新生儿",
}


def pending_names(pending: str) -> str:
    """What a quote leaves pending (``fiscal_subsidy``, ``subsidy:CODE``, comma-separated as an
    assessment stores them), in Chinese."""
    names = []
    for item in filter(None, pending.split(",")):
        kind, _, code = item.partition(":")
        names.append(f"{CATEGORY_NAMES[code]}的资助金额" if kind == "subsidy" else "财政补助标准")
    return "、".join(names)
