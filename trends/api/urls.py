from django.urls import path

from trends.api import views

app_name = "api"

urlpatterns = [
    path("v1/tweets", views.tweet_create, name="tweet-create"),
    path("v1/events", views.event_list, name="event-list"),
]
