"""What the pages keep of their own: an import started from the imports page, which runs in the
background while the page polls it."""

from django.conf import settings
from django.db import models

from canbao.registry.models import ImportBatch


class ImportJob(models.Model):
    """One file imported (or checked) from the imports page: who, what and, once it has run, the
    import's result as the service reported it (counts, message, row errors). The rows read so
    far live in the cache while it runs (``canbao.web.background``): the import's own
    transaction would hide them here until it ends."""

    class Status(models.TextChoices):
        RUNNING = "running", "正在导入"
        DONE = "done", "已完成"
        FAILED = "failed", "未能导入"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField("类型", max_length=32)
    label = models.CharField("说明", max_length=200)
    file_name = models.CharField("文件名", max_length=255)
    dry_run = models.BooleanField("只检查", default=False)
    status = models.CharField("状态", max_length=8, choices=Status.choices)
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    result = models.JSONField("结果", default=dict, blank=True)
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "网页导入"
        verbose_name_plural = "网页导入"

    def __str__(self) -> str:
        return f"{self.label} {self.file_name}"
