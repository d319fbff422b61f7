from django.contrib import admin
from django.urls import include, path

from canbao.api.app import urls as api_urls

urlpatterns = [
    path("", include("canbao.web.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls()),
]
