from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "canbao.registry"
    verbose_name = "参保人员登记"
    default_auto_field = "django.db.models.BigAutoField"
