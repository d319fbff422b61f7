"""A campaign (pooling area x coverage year x policy) and each resident's assessment (核定).

The policy is copied into the campaign when it is opened, so that a later change to a preset or
a file never changes a running campaign.
"""

from django.db import models

from canbao.regions.models import Division
from canbao.registry.models import Resident


class Campaign(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "进行中"
        CLOSED = "closed", "已结束"

    area = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="campaigns")
    coverage_year = models.PositiveSmallIntegerField("参保年度")
    policy_id = models.CharField("政策编号", max_length=60)
    policy_toml = models.TextField("政策原文（TOML）")
    policy_sha256 = models.CharField("政策 SHA-256", max_length=64)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField("开始时间", auto_now_add=True)
    opened_by = models.CharField("操作人", max_length=150)

    class Meta:
        verbose_name = "参保缴费工作"
        verbose_name_plural = "参保缴费工作"
        constraints = [
            models.UniqueConstraint(fields=["area", "coverage_year"], name="campaign_area_year"),
        ]

    def __str__(self) -> str:
        return f"{self.area.name} {self.coverage_year}年度（{self.policy_id}）"


class Assessment(models.Model):
    """What one resident owes for a campaign, from the policy and the resident's facts.

    Recomputed while unpaid when the facts change; frozen (``frozen_at``) when the resident
    pays: a later identity change neither refunds nor tops up. Amounts are null while the policy
    has not announced them (``pending`` names what is missing).
    """

    # Indexed by the unique (campaign, resident) constraint.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="assessments", db_index=False
    )
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="assessments")
    eligible = models.BooleanField("可参保")
    refusal_code = models.CharField("不能参保原因代码", max_length=40, blank=True)
    refusal = models.CharField("不能参保原因", max_length=300, blank=True)
    categories = models.CharField("特殊人员类别", max_length=300, blank=True)
    attribute = models.CharField("身份属性", max_length=60)
    personal_fen = models.BigIntegerField("个人缴费（分）", null=True)
    subsidy_fen = models.BigIntegerField("资助（分）", null=True)
    payable_fen = models.BigIntegerField("应缴（分）", null=True)
    pending = models.CharField("待公布事项", max_length=300, blank=True)
    facts_sha256 = models.CharField("核定依据摘要", max_length=64)
    assessed_at = models.DateTimeField("核定时间")
    frozen_at = models.DateTimeField("冻结时间（缴费时）", null=True, blank=True)

    class Meta:
        verbose_name = "核定"
        verbose_name_plural = "核定"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "resident"], name="assessment_once"),
            models.CheckConstraint(
                condition=models.Q(personal_fen__isnull=True) | models.Q(personal_fen__gte=0),
                name="assessment_personal_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(subsidy_fen__isnull=True) | models.Q(subsidy_fen__gte=0),
                name="assessment_subsidy_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(payable_fen__isnull=True)
                | (
                    models.Q(payable_fen__gte=0)
                    & models.Q(payable_fen=models.F("personal_fen") - models.F("subsidy_fen"))
                ),
                name="assessment_payable_is_personal_less_subsidy",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "eligible"], name="assessment_eligible")]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.attribute}"


class AssessmentShare(models.Model):
    """A funder's part of an assessment's subsidy; the shares add up to ``subsidy_fen``."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="shares")
    funder = models.CharField("资助方", max_length=40)
    fen = models.BigIntegerField("金额（分）")

    class Meta:
        verbose_name = "资助份额"
        verbose_name_plural = "资助份额"
        constraints = [
            models.UniqueConstraint(fields=["assessment", "funder"], name="share_once_per_funder"),
            models.CheckConstraint(condition=models.Q(fen__gt=0), name="share_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.funder} {self.fen}"
