from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "canbao.campaigns"
    verbose_name = "参保缴费工作"
    default_auto_field = "django.db.models.BigAutoField"
