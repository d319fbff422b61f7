from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "canbao.accounts"
    verbose_name = "账号与权限"
