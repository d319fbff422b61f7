"""Households, residents, category facts from department rosters, import batches and the audit.

A resident's resolved attribute and subsidy are never stored here: they come from the campaign's
policy applied to the category facts.
"""

from django.conf import settings
from django.db import models

from canbao.regions.models import Division


class ImportBatch(models.Model):
    """One import of one file: its hash, who, when and the counts. A refused batch keeps its
    errors so the village can download them later; a dry run leaves no batch at all."""

    class Kind(models.TextChoices):
        RESIDENTS = "residents", "户籍人员"
        ROSTER = "roster", "部门名册"
        SCHOOLS = "schools", "学校名册"
        DIVISIONS = "divisions", "行政区划"
        PAYMENTS = "payments", "缴费明细"
        BANK_CREDITS = "bank_credits", "银行入账"
        WITHHOLDING_AGREEMENTS = "withholding_agreements", "委托代扣协议"
        WITHHOLDING_RETURNS = "withholding_returns", "代扣回盘"

    class Status(models.TextChoices):
        COMMITTED = "committed", "已导入"
        REFUSED = "refused", "有错误，未导入"

    kind = models.CharField("类型", max_length=32, choices=Kind.choices)
    status = models.CharField("状态", max_length=16, choices=Status.choices)
    file_name = models.CharField("文件名", max_length=255)
    file_sha256 = models.CharField("文件 SHA-256", max_length=64)
    category = models.CharField("人员类别", max_length=40, blank=True, default="")
    source = models.CharField("来源部门", max_length=40, blank=True, default="")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    username = models.CharField("操作人", max_length=150)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    rows = models.PositiveIntegerField("行数", default=0)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    unknown = models.PositiveIntegerField("待核实", default=0)
    errors = models.JSONField("错误", default=list, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        indexes = [models.Index(fields=["kind", "file_sha256"], name="batch_kind_hash")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.file_name}"


class AuditEntry(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    username = models.CharField("操作人", max_length=150)
    action = models.CharField("操作", max_length=60)
    batch = models.ForeignKey(ImportBatch, on_delete=models.SET_NULL, null=True, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)
    origin = models.CharField("来源地址", max_length=64, default="")
    # The person the action was about (a view of their page, a payment of theirs reversed):
    # their history reads it through the index, not by searching the details.
    resident = models.ForeignKey(
        "Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_entries",
        verbose_name="涉及人员",
    )
    details = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = "操作记录"
        verbose_name_plural = "操作记录"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action}"


class Household(models.Model):
    number = models.CharField("户编号", max_length=40, unique=True)
    village = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="households")
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField("创建时间")

    class Meta:
        verbose_name = "户"
        verbose_name_plural = "户"

    def __str__(self) -> str:
        return self.number


class Resident(models.Model):
    class IdType(models.TextChoices):
        RESIDENT_ID = "resident_id", "居民身份证"
        HK_MACAU_PERMIT = "hk_macau_permit", "港澳居民来往内地通行证"
        TAIWAN_PERMIT = "taiwan_permit", "台湾居民来往内地通行证"
        FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence", "外国人永久居留身份证"
        HK_MACAU_RESIDENCE_PERMIT = "hk_macau_residence_permit", "港澳居民居住证"
        TAIWAN_RESIDENCE_PERMIT = "taiwan_residence_permit", "台湾居民居住证"

    class Sex(models.TextChoices):
        MALE = "M", "男"
        FEMALE = "F", "女"
        UNKNOWN = "", "未填"

    class Status(models.TextChoices):
        ACTIVE = "active", "正常"
        MOVED_OUT = "moved_out", "迁出"
        DECEASED = "deceased", "死亡"

    id_type = models.CharField("证件类型", max_length=32, choices=IdType.choices)
    id_number = models.CharField("证件号码", max_length=20)
    name = models.CharField("姓名", max_length=100)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="members")
    relation = models.CharField("与户主关系", max_length=20)
    # No index of its own: resident_village_status (village, status) starts with it and serves
    # the lookups by village; a second index would only slow the bulk import down.
    village = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="residents", db_index=False
    )
    address = models.CharField("家庭住址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=40, blank=True)
    employee_insured = models.BooleanField("职工医保", default=False)
    insured_elsewhere = models.BooleanField("异地参保", default=False)
    flags_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="参保标记来源",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_date = models.DateField("状态日期", null=True, blank=True)
    batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name="最近导入批次",
    )
    created_at = models.DateTimeField("创建时间")
    updated_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = "居民"
        verbose_name_plural = "居民"
        constraints = [
            models.UniqueConstraint(fields=["id_type", "id_number"], name="resident_unique_id"),
            models.CheckConstraint(
                condition=models.Q(status="active") | models.Q(status_date__isnull=False),
                name="resident_status_has_date",
            ),
        ]
        indexes = [models.Index(fields=["village", "status"], name="resident_village_status")]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number}）"


class CategoryFact(models.Model):
    """A special category a department's roster says a person holds. The policy resolves a
    person's facts to one attribute and one subsidy; neither is stored."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField("人员类别", max_length=40)
    source = models.CharField("来源部门", max_length=40)
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="facts")
    valid_from = models.DateField("有效期起", null=True, blank=True)
    valid_to = models.DateField("有效期止", null=True, blank=True)
    created_at = models.DateTimeField("创建时间")

    class Meta:
        verbose_name = "人员类别"
        verbose_name_plural = "人员类别"
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "category", "source"], name="fact_unique_per_source"
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="fact_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.category}（{self.source}）"


class RosterFollowUp(models.Model):
    """A person on a department roster whom the registry does not know: listed for the village
    to follow up, never created silently."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="follow_ups")
    row = models.PositiveIntegerField("行号")
    id_number = models.CharField("身份证号码", max_length=20)
    name = models.CharField("姓名", max_length=100)
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=40, blank=True)

    class Meta:
        verbose_name = "名册待核实人员"
        verbose_name_plural = "名册待核实人员"
        ordering = ["batch", "row"]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number}）"


class SchoolEnrollment(models.Model):
    """A resident on a school's roster (学籍名册): school, grade and class from ``valid_from``
    (the roster's date) until the day before a later roster of that school leaves them out or
    places them elsewhere (``valid_to``; open while current). A person is at one school at a time;
    rows are never rewritten but by a roster of the same date, so the roster in effect on a past
    day stays as it was."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="schools")
    school = models.CharField("学校名称", max_length=100)
    grade = models.CharField("年级", max_length=40)
    class_name = models.CharField("班级", max_length=40, blank=True)
    student_number = models.CharField("学籍号", max_length=40, blank=True)
    valid_from = models.DateField("有效期起（名册日期）")
    valid_to = models.DateField("有效期止", null=True, blank=True)
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="students")
    created_at = models.DateTimeField("创建时间")

    class Meta:
        verbose_name = "在校学生"
        verbose_name_plural = "在校学生"
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(valid_to__isnull=True),
                name="school_one_open_per_resident",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_from__lte=models.F("valid_to")),
                name="school_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["school", "valid_from"], name="school_roster_day")]

    def __str__(self) -> str:
        return f"{self.school} {self.grade} {self.resident_id}"
