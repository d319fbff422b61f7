"""An account is a Django user with one role, and the place or channel it works for."""

from django.conf import settings
from django.db import models

from canbao.regions.models import Division


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", "县医保局管理员"
    COUNTY_CLERK = "county_clerk", "县医保局经办人员"
    TOWNSHIP_CLERK = "township_clerk", "乡镇经办人员"
    VILLAGE_COLLECTOR = "village_collector", "村级收缴员"
    DEPARTMENT_CLERK = "department_clerk", "部门经办人员"
    FINANCE = "finance", "财政人员"
    AUDITOR = "auditor", "审计人员"
    INTEGRATION = "integration", "系统对接（税务、银行）"


class Account(models.Model):
    """The role of a user. A township clerk's division is its township, a village collector's
    its village; a department clerk pays as ``funder`` and keeps the rosters of ``categories``;
    an integration posts payments of one ``channel`` only."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account"
    )
    role = models.CharField("角色", max_length=24, choices=Role.choices)
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, null=True, blank=True, verbose_name="所辖区划"
    )
    funder = models.CharField("资助方", max_length=40, blank=True, default="")
    categories = models.JSONField("负责的人员类别", default=list, blank=True)
    channel = models.CharField("缴费渠道", max_length=16, blank=True, default="")

    class Meta:
        verbose_name = "账号"
        verbose_name_plural = "账号"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="account_role_known"
            ),
            models.CheckConstraint(
                condition=~models.Q(role__in=["township_clerk", "village_collector"])
                | models.Q(division__isnull=False),
                name="account_local_role_has_division",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="department_clerk") | ~models.Q(funder=""),
                name="account_department_has_funder",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="integration") | ~models.Q(channel=""),
                name="account_integration_has_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()}（{self.get_role_display()}）"


class ApiToken(models.Model):
    """A bearer token of an integration. Only its SHA-256 is kept; the token itself is shown
    once, when it is issued."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField("前缀", max_length=8)
    digest = models.CharField("摘要", max_length=64, unique=True)
    created_at = models.DateTimeField("签发时间", auto_now_add=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"

    def __str__(self) -> str:
        return f"{self.prefix}…"
