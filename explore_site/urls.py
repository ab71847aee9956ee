from django.contrib import admin
from django.urls import include, path

from explore_site.views import ping

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ping", ping, name="ping"),
    path("api/", include("trends.api.urls")),
    path("curation/", include("trends.curation.urls")),
    path("accounts/", include("users.urls")),
    path("", include("trends.ops.urls")),
    path("", include("trends.urls")),
]
