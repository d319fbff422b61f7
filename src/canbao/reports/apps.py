from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "canbao.reports"
    verbose_name = "进度报告"
    default_auto_field = "django.db.models.BigAutoField"
