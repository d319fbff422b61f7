"""The counties of the five seed notices, as the synthetic county generator builds them.

Codes are the statistical division codes (DESIGN.md); township names are the real ones, in the
order of the notices' own tables where they have one (Wuming, Dazhu). The generator takes as many
townships as the county's size needs and makes up more names beyond these; township codes are
numbered by the generator, not the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COUNTIES", "TAOJIANG", "County"]


@dataclass(frozen=True)
class County:
    code: str  # 6 digits
    name: str
    townships: tuple[str, ...]


SONGMING = County(
    "530127",
    "嵩明县",
    ("嵩阳街道", "杨林镇", "小街镇", "牛栏江镇", "杨桥镇", "滇源镇", "阿子营镇"),
)
WUMING = County(
    "450110",
    "武鸣区",
    (
        "城厢镇", "太平镇", "双桥镇", "甘圩镇", "宁武镇", "锣圩镇", "灵马镇", "仙湖镇",
        "府城镇", "陆斡镇", "两江镇", "马头镇", "罗波镇",
    ),
)  # fmt: skip
TAOJIANG = County(
    "430922",
    "桃江县",
    (
        "桃花江镇", "浮邱山乡", "鸬鹚渡镇", "大栗港镇", "武潭镇", "马迹塘镇", "三堂街镇",
        "松木塘镇", "修山镇", "石牛江镇", "牛田镇", "高桥乡", "灰山港镇", "沾溪镇",
        "鲊埠回族乡",
    ),
)  # fmt: skip
CHUXIONG = County(
    "532301",
    "楚雄市",
    (
        "鹿城镇", "东瓜镇", "吕合镇", "紫溪镇", "东华镇", "子午镇", "苍岭镇", "三街镇",
        "八角镇", "中山镇", "新村镇", "西舍路镇", "树苴乡", "大过口乡", "大地基乡",
    ),
)  # fmt: skip
DAZHU = County(
    "511724",
    "大竹县",
    (
        "竹阳街道", "东柳街道", "白塔街道", "中华镇", "乌木镇", "团坝镇", "朝阳乡", "杨家镇",
        "清河镇", "柏林镇", "石河镇", "月华镇", "石桥铺镇", "永胜镇", "安吉乡", "观音镇",
        "周家镇", "高明镇", "八渡乡", "石子镇", "天城镇", "杨通乡", "四合镇", "文星镇",
        "童家镇", "高穴镇", "妈妈镇", "庙坝镇", "欧家镇", "清水镇", "川主乡",
    ),
)  # fmt: skip

# By the code of the county.
COUNTIES = {county.code: county for county in (SONGMING, WUMING, TAOJIANG, CHUXIONG, DAZHU)}
