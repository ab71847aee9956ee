"""/api/: v1 resources, plus the OpenAPI schema and its two viewers (served from local static files).

URL versioning: a future v2 gets its own list of routes next to these; v1 stays as it is.
"""

from django.http import JsonResponse
from django.urls import include, path, re_path, register_converter
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from trends.api import views
from trends.api.views import curation


class Id64Converter:
    """1-19 digits that fit a signed 64-bit column; anything else is a 404, not a database error."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > 2**63 - 1:
            raise ValueError(value)
        return number

    def to_url(self, value) -> str:
        return str(value)


register_converter(Id64Converter, "id64")

@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any other /api/ path: the API's JSON 404, not the site's HTML page."""
    return JsonResponse({"errors": {"detail": ["Not found."]}}, status=404)


app_name = "api"

v1 = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("users/me", views.MeView.as_view(), name="user-me"),
    path("users/<str:handle>", views.UserDetailView.as_view(), name="user-detail"),
    path("users/<str:handle>/follow", views.FollowView.as_view(), name="user-follow"),
    path("users/<str:handle>/followers", views.FollowersView.as_view(), name="user-followers"),
    path("users/<str:handle>/following", views.FollowingView.as_view(), name="user-following"),
    path("tweets", views.TweetCreateView.as_view(), name="tweet-create"),
    path("tweets/bulk", views.TweetBulkCreateView.as_view(), name="tweet-bulk-create"),
    path("tweets/search", views.TweetSearchView.as_view(), name="tweet-search"),
    path("tweets/<id64:tweet_id>", views.TweetDetailView.as_view(), name="tweet-detail"),
    path("explore/for-you", views.ForYouView.as_view(), name="explore-for-you"),
    path("explore/trending", views.TrendingView.as_view(), name="explore-trending"),
    path("explore/topics", views.TopicListView.as_view(), name="explore-topics"),
    path("explore/topics/<slug:topic>", views.TopicFeedView.as_view(), name="explore-topic"),
    path("events", views.EventListView.as_view(), name="event-list"),
    path("events/<id64:event_id>", views.EventDetailView.as_view(), name="event-detail"),
    path("events/<id64:event_id>/tweets", views.EventTweetsView.as_view(), name="event-tweets"),
    path("events/<id64:event_id>/related", views.EventRelatedView.as_view(), name="event-related"),
    path("events/<id64:event_id>/story", views.EventStoryView.as_view(), name="event-story"),
    path("events/<id64:event_id>/report", views.EventReportView.as_view(), name="event-report"),
    path("engagement", views.EngagementBatchView.as_view(), name="engagement"),
    path("curation/events/approve", curation.ApproveView.as_view(), name="curation-approve"),
    path("curation/events/reject", curation.RejectView.as_view(), name="curation-reject"),
    path("curation/events/<id64:event_id>/hide", curation.HideView.as_view(), name="curation-hide"),
    path("curation/events/<id64:event_id>/unhide", curation.UnhideView.as_view(), name="curation-unhide"),
    path("curation/events/<id64:event_id>/pin", curation.PinView.as_view(), name="curation-pin"),
    path("curation/events/<id64:event_id>/unpin", curation.UnpinView.as_view(), name="curation-unpin"),
    path("curation/events/<id64:event_id>/rename", curation.RenameView.as_view(), name="curation-rename"),
    path("curation/events/<id64:event_id>/summary", curation.SummaryView.as_view(), name="curation-summary"),
    path("curation/events/<id64:event_id>/category", curation.CategoryView.as_view(), name="curation-category"),
    path(
        "curation/events/<id64:event_id>/representatives",
        curation.RepresentativesView.as_view(),
        name="curation-representatives",
    ),
    path("curation/events/<id64:event_id>/merge", curation.MergeView.as_view(), name="curation-merge"),
    path("curation/events/<id64:event_id>/split", curation.SplitView.as_view(), name="curation-split"),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    re_path(r"^[\s\S]*\Z", not_found, name="not-found"),
]
