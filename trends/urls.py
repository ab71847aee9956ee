from django.urls import path

from trends import views

app_name = "trends"

urlpatterns = [
    path("", views.home, name="home"),
    path("events/<int:event_id>/", views.event_detail, name="event-detail"),
]
