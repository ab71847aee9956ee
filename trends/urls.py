from django.urls import path

from trends import views
from users import views as user_views

app_name = "trends"

urlpatterns = [
    path("", views.home, name="home"),
    path("explore/new/", views.new_events, name="new-events"),
    path("explore/seen/", views.impressions, name="impressions"),
    path("explore/seen.gif", views.impressions_pixel, name="impressions-pixel"),
    path("events/<int:event_id>/", views.event_detail, name="event-detail"),
    path("events/<int:event_id>/dismiss/", views.event_dismiss, name="event-dismiss"),
    path("events/<int:event_id>/report/", views.event_report, name="event-report"),
    path("search/", views.search, name="search"),
    path("compose/", views.compose, name="compose"),
    # Profiles live at the root, like the product people know: /@handle (and /u/handle for tools that
    # mangle "@" in paths).
    path("@<str:handle>/", user_views.profile, name="profile"),
    path("u/<str:handle>/", user_views.profile, name="profile-alt"),
]
