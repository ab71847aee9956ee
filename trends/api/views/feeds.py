"""Explore feeds (For You, Trending, topics) and events."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from trends import pages, selectors, services, site
from trends.api import feeds
from trends.api import selectors as api_selectors
from trends.api.conditional import basis_json_prepend, conditional, newest
from trends.api.feeds import feed_basis, ranked_payload
from trends.api.filters import EventFilter
from trends.api.idempotency import idempotent
from trends.api.pagination import (
    DEFAULT_PAGE_SIZE,
    IdCursorPagination,
    encode_offset,
    offset_page,
    page_of,
    page_response,
    parse_limit,
)
from trends.api.serializers import (
    LANG_REGEX,
    EventDetailSerializer,
    EventSerializer,
    RankedEventSerializer,
    RelatedEventsSerializer,
    StorySerializer,
    TopicListSerializer,
    TweetSerializer,
)
from trends.api.views.common import (
    AUTH_READ_ERRORS,
    CURSOR_PARAMS,
    E404,
    IDEMPOTENCY_HEADER,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiView,
    event_for,
)
from trends.api.views.posts import TWEET_EXAMPLE
from trends.models import Category

EVENT_EXAMPLE = {
    "id": 42,
    "title": "City marathon",
    "category": "sports",
    "language": "en",
    "location": "London",
    "state": "trending",
    "tweet_count": 812,
    "author_count": 455,
    "trend_score": 7.3,
    "first_seen_at": "2026-11-26T08:10:00Z",
    "last_seen_at": "2026-11-26T11:58:00Z",
}
RANKED_EXAMPLE = {
    "position": 1,
    "score": 2.41,
    "explanation": "Because you follow @ada and 3 others posting about it",
    "features": {"interest": 0.62, "social": 0.8, "trend": 0.71},
    "variant": "ranking-v2:control",
    "event": EVENT_EXAMPLE,
}


class FeedQuerySerializer(serializers.Serializer):
    language = serializers.RegexField(LANG_REGEX, max_length=8, required=False)
    location = serializers.CharField(max_length=80, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)


def feed_query(request) -> dict:
    raw = {k: request.query_params.get(k) for k in ("language", "location", "category") if request.query_params.get(k)}
    if not raw:  # the common case; building the serializer costs more than the rest of a stored answer
        return {}
    query = FeedQuerySerializer(data=raw)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def feed_response(request, items, next_url, previous_url) -> Response:
    response = page_response(ranked_payload(items), next_url, previous_url)
    return conditional(
        request, response, last_modified=newest(*(i.event.updated_at for i in items)),
        weak_basis=[[next_url, previous_url], *feed_basis(items)],
    )


def first_page_limit(request, category: str | None) -> int | None:
    """The page size of a plain first For You page (no category, no cursor), the kind trends.pages
    stores; None for any other page."""
    if category or request.query_params.get("cursor"):
        return None
    return parse_limit(request.query_params.get("limit"), default=DEFAULT_PAGE_SIZE)


def stored_first_page(request, category: str | None) -> Response | None:
    """The caller's first For You page as trends.pages stored it with their site page, if current:
    the ranking (and its queries) already ran when the page was built."""
    limit = first_page_limit(request, category)
    if limit is None:
        return None
    entry = pages.api_page_lookup(user=request.user, limit=limit)
    if entry is None or "results_json" not in entry:
        return None
    next_url = (
        replace_query_param(request.build_absolute_uri(), "cursor", encode_offset(limit)) if entry["has_next"] else None
    )
    # The body page_response would render, spliced from the results encoded at build time.
    body = b"".join(
        (b'{"next":', JSONRenderer().render(next_url) if next_url else b"null", b',"previous":null,"results":',
         entry["results_json"], b"}")
    )
    response = HttpResponse(body, content_type="application/json")
    return conditional(
        request, response, last_modified=entry["last_modified"],
        weak_basis_json=basis_json_prepend([next_url, None], entry["basis_json"]),
    )


RANKED_PAGE = page_of(RankedEventSerializer)
FEED_PARAMS = [OpenApiParameter("category", str, enum=[c for c, _ in Category.choices]), *CURSOR_PARAMS]
CONDITIONAL_PARAMS = [
    OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description="ETag of a previous answer: 304 if unchanged."),
]


@extend_schema(tags=["explore"])
class ForYouView(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="explore_for_you",
        summary="Personalised For You feed, with why each event is shown",
        description=(
            "Events ranked for the caller from their interests, follows, languages and location, each with "
            "an `explanation`. Pages are cursor-linked; the answer carries an ETag (304 on If-None-Match)."
        ),
        parameters=[*FEED_PARAMS, *CONDITIONAL_PARAMS],
        responses={200: RANKED_PAGE, 304: None, **AUTH_READ_ERRORS},
        examples=[OpenApiExample("Feed", value={"next": None, "previous": None, "results": [RANKED_EXAMPLE]}, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        category = feed_query(request).get("category")
        stored = stored_first_page(request, category)
        if stored is not None:
            return stored
        # Read before ranking: an invalidation meanwhile leaves the stored copy already stale.
        storable = first_page_limit(request, category) == site.PAGE_SIZE
        versions = pages.api_page_versions(user=request.user) if storable else None
        items, next_url, previous_url = offset_page(
            request,
            lambda limit, offset: feeds.for_you(user=request.user, limit=limit, offset=offset, category=category),
        )
        if versions is not None:
            pages.api_page_store(user=request.user, ranked=items, has_next=next_url is not None, versions=versions)
        return feed_response(request, items, next_url, previous_url)


@extend_schema(tags=["explore"])
class TrendingView(ApiView):
    @extend_schema(
        operation_id="explore_trending",
        summary="Trending events, by language and location",
        parameters=[
            OpenApiParameter("language", str, description="ISO 639-1 code, e.g. `en`."),
            OpenApiParameter("location", str, description="Place name as events carry it, e.g. `London`."),
            *FEED_PARAMS,
            *CONDITIONAL_PARAMS,
        ],
        responses={200: RANKED_PAGE, 304: None, **READ_ERRORS},
        examples=[OpenApiExample("Trending", value={"next": None, "previous": None, "results": [{**RANKED_EXAMPLE, "explanation": "Trending in London", "variant": ""}]}, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        query = feed_query(request)
        items, next_url, previous_url = offset_page(
            request,
            lambda limit, offset: feeds.trending(
                language=query.get("language"),
                location=query.get("location"),
                category=query.get("category"),
                limit=limit,
                offset=offset,
            ),
        )
        return feed_response(request, items, next_url, previous_url)


@extend_schema(tags=["explore"])
class TopicListView(ApiView):
    @extend_schema(
        operation_id="explore_topics",
        summary="The topic feeds there are",
        responses={200: TopicListSerializer, 429: READ_ERRORS[429]},
        examples=[OpenApiExample("Topics", value={"results": [{"slug": "sports", "label": "Sports"}]}, response_only=True)],
    )
    def get(self, request, *args, **kwargs):
        return Response({"results": [{"slug": slug, "label": str(label)} for slug, label in Category.choices]})


@extend_schema(tags=["explore"])
class TopicFeedView(ApiView):
    @extend_schema(
        operation_id="explore_topic_feed",
        summary="One topic's feed: personalised when logged in, trending otherwise",
        parameters=[*CURSOR_PARAMS, *CONDITIONAL_PARAMS],
        responses={200: RANKED_PAGE, 304: None, **READ_ERRORS},
        examples=[OpenApiExample("Sports", value={"next": None, "previous": None, "results": [RANKED_EXAMPLE]}, response_only=True)],
    )
    def get(self, request, topic: str, *args, **kwargs):
        if topic not in Category.values:
            raise Http404
        if request.user.is_authenticated:
            def fetch(limit, offset):
                return feeds.for_you(user=request.user, limit=limit, offset=offset, category=topic)
        else:
            def fetch(limit, offset):
                return feeds.trending(language=None, location=None, category=topic, limit=limit, offset=offset)
        items, next_url, previous_url = offset_page(request, fetch)
        return feed_response(request, items, next_url, previous_url)


# --- events ---------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        tags=["events"],
        operation_id="events_list",
        summary="Events, newest first, filtered by state, category, language, location and time",
        description=(
            "Non-staff callers see public events only (not hidden, not rejected or pending review, not merged "
            "away). Filters combine with AND; `state` and `category` may repeat (OR). Carries an ETag."
        ),
        parameters=CONDITIONAL_PARAMS,
        responses={200: EventSerializer(many=True), 304: None, **READ_ERRORS},
        examples=[OpenApiExample("Events", value={"next": None, "previous": None, "results": [EVENT_EXAMPLE]}, response_only=True)],
    )
)
class EventListView(generics.ListAPIView):
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return api_selectors.event_visible_queryset(user=self.request.user)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(EventSerializer(page, many=True).data)
        return conditional(request, response, last_modified=newest(*(e.updated_at for e in page)))


@extend_schema(tags=["events"])
class EventDetailView(ApiView):
    @extend_schema(
        operation_id="events_get",
        summary="One event",
        responses={200: EventDetailSerializer, **READ_ERRORS},
        examples=[
            OpenApiExample(
                "Event",
                value={
                    **EVENT_EXAMPLE,
                    "summary": "Runners and crowds at the finish.",
                    "peak_at": "2026-11-26T10:00:00Z",
                    "trending_since": "2026-11-26T09:00:00Z",
                    "keywords": ["marathon", "finish"],
                    "hashtags": {"marathon": 310},
                    "languages": {"en": 0.94},
                    "merged_into_id": None,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, event_id: int, *args, **kwargs):
        return Response(EventDetailSerializer(event_for(request, event_id)).data)


class EventTweetsQuery(serializers.Serializer):
    order = serializers.ChoiceField(choices=[("top", "top"), ("latest", "latest")], default="top")


@extend_schema(tags=["events"])
class EventTweetsView(ApiView):
    @extend_schema(
        operation_id="events_tweets",
        summary="An event's posts: top (engagement and health) or latest",
        parameters=[OpenApiParameter("order", str, enum=["top", "latest"], description="Default `top`."), *CURSOR_PARAMS],
        responses={200: page_of(TweetSerializer), **READ_ERRORS},
        examples=[OpenApiExample("Posts", value={"next": None, "previous": None, "results": [TWEET_EXAMPLE]}, response_only=True)],
    )
    def get(self, request, event_id: int, *args, **kwargs):
        event = event_for(request, event_id)
        raw = {"order": request.query_params["order"]} if request.query_params.get("order") else {}
        query = EventTweetsQuery(data=raw)
        query.is_valid(raise_exception=True)
        order = query.validated_data["order"]
        items, next_url, previous_url = offset_page(
            request, lambda limit, offset: selectors.event_tweets(event=event, order=order, limit=limit, offset=offset)
        )
        return page_response(TweetSerializer(items, many=True).data, next_url, previous_url)


@extend_schema(tags=["events"])
class EventRelatedView(ApiView):
    @extend_schema(
        operation_id="events_related",
        summary="Live events closest in meaning to this one",
        parameters=[OpenApiParameter("limit", int, description="1-50 (default 10).")],
        responses={200: RelatedEventsSerializer, **READ_ERRORS},
        examples=[OpenApiExample("Related", value={"results": [{"similarity": 0.74, "event": EVENT_EXAMPLE}]}, response_only=True)],
    )
    def get(self, request, event_id: int, *args, **kwargs):
        event = event_for(request, event_id)
        limit = parse_limit(request.query_params.get("limit"), default=10, maximum=50)
        related = api_selectors.events_related(event=event, user=request.user, limit=limit)
        return Response(
            {
                "results": [
                    {"similarity": score, "event": data}
                    for (score, _), data in zip(
                        related, EventSerializer([e for _, e in related], many=True).data, strict=True
                    )
                ]
            }
        )


@extend_schema(tags=["events"])
class EventStoryView(ApiView):
    @extend_schema(
        operation_id="events_story",
        summary="The story so far: how the event grew, and what it merged with or split into",
        responses={200: StorySerializer, **READ_ERRORS},
        examples=[
            OpenApiExample(
                "Story",
                value={
                    "event": {**EVENT_EXAMPLE, "summary": "", "peak_at": None, "trending_since": None,
                              "keywords": ["marathon"], "hashtags": {}, "languages": {}, "merged_into_id": None},
                    "snapshots": [
                        {"taken_at": "2026-11-26T09:00:00Z", "state": "emerging", "title": "Marathon",
                         "tweet_count": 40, "author_count": 31, "trend_score": 2.1, "keywords": ["marathon"], "note": ""}
                    ],
                    "links": [
                        {"kind": "merge", "direction": "in", "event_id": 41, "event_title": "Road closures",
                         "created_at": "2026-11-26T09:30:00Z"}
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request, event_id: int, *args, **kwargs):
        event = event_for(request, event_id)
        snapshots, links = api_selectors.event_story(event=event, user=request.user)
        return Response(
            StorySerializer({"event": event, "snapshots": snapshots, "links": links}).data
        )


class ReportOutSerializer(serializers.Serializer):
    reported = serializers.BooleanField(help_text="False when this account had reported the event before.")


@extend_schema(tags=["events"])
class EventReportView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "report"

    @extend_schema(
        operation_id="events_report",
        summary="Report an event as spam or abuse",
        description=(
            "Hides the event from the caller's feeds at once and counts against the event's health. "
            "Each account counts once per event; repeating it is harmless."
        ),
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: ReportOutSerializer, 404: E404, **WRITE_ERRORS},
        examples=[OpenApiExample("Reported", value={"reported": True}, response_only=True, status_codes=["201"])],
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        event = event_for(request, event_id)
        engagement = services.event_report(user=request.user, event=event, surface="api")
        return Response({"reported": engagement.kind == "report"}, status=status.HTTP_201_CREATED)
