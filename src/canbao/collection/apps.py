from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "canbao.collection"
    verbose_name = "征缴"
    default_auto_field = "django.db.models.BigAutoField"
