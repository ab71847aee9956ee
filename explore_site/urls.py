from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("trends.api.urls")),
    path("curation/", include("trends.curation.urls")),
    path("accounts/", include("users.urls")),
    path("", include("trends.ops.urls")),
    path("", include("trends.urls")),
]
