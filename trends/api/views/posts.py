"""Posts: create one or many, read, delete own, search by words or meaning."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from trends import selectors, services
from trends.api import selectors as api_selectors
from trends.api import services as api_services
from trends.api.exceptions import ServiceUnavailable
from trends.api.idempotency import idempotent
from trends.api.permissions import IsAuthorOrStaff
from trends.api.serializers import (
    TWEET_INPUT_FIELDS,
    BulkTweetInSerializer,
    BulkTweetResultSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
    TweetInSerializer,
    TweetSerializer,
)
from trends.api.views.common import (
    E401,
    E403,
    E404,
    E429,
    IDEMPOTENCY_HEADER,
    READ_ERRORS,
    WRITE_ERRORS,
    ApiView,
)
from trends.embedding import EmbeddingUnavailable

TWEET_EXAMPLE = {
    "id": "1861234567890123456",
    "author": "ada",
    "text": "Huge crowd at the #marathon finish line",
    "lang": "en",
    "location": "London",
    "created_at": "2026-11-26T12:00:00Z",
    "reply_to_id": None,
    "retweet_of_id": None,
    "quote_of_id": None,
    "hashtags": ["marathon"],
    "mentions": [],
    "urls": [],
    "like_count": 0,
    "retweet_count": 0,
    "reply_count": 0,
    "quote_count": 0,
    "pipeline_state": "new",
}


@extend_schema(tags=["posts"])
class TweetCreateView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "posting"

    @extend_schema(
        operation_id="tweets_create",
        summary="Post one tweet",
        description=(
            "Stores the post and queues it for the pipeline (embedding, event assignment). The body is "
            "checked field by field; unknown fields are refused. A 201 means the post is committed."
        ),
        request=TweetInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: TweetSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Post",
                value={"text": "Huge crowd at the #marathon finish line", "lang": "en", "location": "London"},
                request_only=True,
            ),
            OpenApiExample("Created", value=TWEET_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Refused",
                value={"errors": {"text": ["Must not be empty or whitespace only."]}},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        errors = api_services.tweet_input_errors(data=request.data, allowed=TWEET_INPUT_FIELDS)
        if errors:
            raise ValidationError(errors)
        tweet = services.tweet_create(author=request.user, data=request.data, source="api")
        return Response(TweetSerializer(tweet).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["posts"])
class TweetBulkCreateView(ApiView):
    permission_classes = [IsAuthenticated]
    # One bulk request carries up to 100 posts: its own, lower rate keeps it from multiplying `posting`.
    throttle_scope = "posting_bulk"

    @extend_schema(
        operation_id="tweets_bulk_create",
        summary="Post up to 100 tweets at once, with a result per item",
        description=(
            "Each item is validated like `POST /tweets`. Valid items are stored (201 in their result), "
            "invalid ones are reported with field errors (400 in their result) and nothing of them is "
            "stored. The response is 200 whenever the envelope itself is valid, even if every item failed."
        ),
        request=BulkTweetInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: BulkTweetResultSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Two posts, one bad",
                value={"items": [{"text": "Goal! #worldcup"}, {"text": "   "}]},
                request_only=True,
            ),
            OpenApiExample(
                "Per-item result",
                value={
                    "created": 1,
                    "failed": 1,
                    "results": [
                        {"index": 0, "status": 201, "tweet": {**TWEET_EXAMPLE, "text": "Goal! #worldcup"}},
                        {"index": 1, "status": 400, "errors": {"text": ["Must not be empty or whitespace only."]}},
                    ],
                },
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        envelope = BulkTweetInSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        results = api_services.tweets_bulk_create(
            author=request.user, items=envelope.validated_data["items"], allowed=TWEET_INPUT_FIELDS
        )
        stored = [r.tweet for r in results if r.tweet is not None]
        rendered = iter(TweetSerializer(stored, many=True).data)
        body = []
        for result in results:
            item = {"index": result.index, "status": result.status}
            if result.tweet is not None:
                item["tweet"] = next(rendered)
            if result.errors:
                item["errors"] = result.errors
            body.append(item)
        created = sum(1 for r in results if r.status == 201)
        return Response({"created": created, "failed": len(results) - created, "results": body})


@extend_schema(tags=["posts"])
class TweetDetailView(ApiView):
    def get_object(self, tweet_id: int):
        tweet = api_selectors.tweet_get_visible(tweet_id=tweet_id)
        if tweet is None:
            raise Http404
        return tweet

    @extend_schema(
        operation_id="tweets_get",
        summary="One post",
        responses={200: TweetSerializer, **READ_ERRORS},
        examples=[OpenApiExample("Post", value=TWEET_EXAMPLE, response_only=True)],
    )
    def get(self, request, tweet_id: int, *args, **kwargs):
        return Response(TweetSerializer(self.get_object(tweet_id)).data)

    @extend_schema(
        operation_id="tweets_delete",
        summary="Delete your own post",
        description="The post disappears from every feed and event; repeating the delete is harmless (404).",
        responses={204: OpenApiResponse(description="Deleted."), 401: E401, 403: E403, 404: E404, 429: E429},
    )
    def delete(self, request, tweet_id: int, *args, **kwargs):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        tweet = self.get_object(tweet_id)
        if not IsAuthorOrStaff().has_object_permission(request, self, tweet):
            self.permission_denied(request, message=IsAuthorOrStaff.message)
        api_services.tweet_soft_delete(tweet=tweet)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["posts"])
class TweetSearchView(ApiView):
    @extend_schema(
        operation_id="tweets_search",
        summary="Search posts by words or by meaning",
        description=(
            "`mode=words`: posts containing every word (newest first). `mode=meaning`: the posts whose "
            "embedding is closest to the query's, among the newest embedded posts of the last days "
            "(bounded window), most similar first with their cosine `score`."
        ),
        parameters=[
            OpenApiParameter("q", str, required=True, description="1-200 characters."),
            OpenApiParameter("mode", str, enum=["words", "meaning"], description="Default `words`."),
            OpenApiParameter("limit", int, description="1-50 (default 20)."),
        ],
        responses={200: SearchResultSerializer, **READ_ERRORS, 503: OpenApiResponse(description="Embedding model unavailable.")},
        examples=[
            OpenApiExample(
                "Meaning",
                value={"mode": "meaning", "results": [{"score": 0.81, "tweet": TWEET_EXAMPLE}]},
                response_only=True,
            )
        ],
    )
    def get(self, request, *args, **kwargs):
        params = SearchQuerySerializer(data={k: request.query_params.get(k) for k in ("q", "mode", "limit") if k in request.query_params})
        params.is_valid(raise_exception=True)
        query = params.validated_data["q"].strip()
        if not query:
            raise ValidationError({"q": ["Must not be blank."]})
        mode = params.validated_data["mode"]
        limit = params.validated_data["limit"]
        if mode == "meaning":
            try:
                hits = api_selectors.tweets_semantic_search(query=query, limit=limit)
            except EmbeddingUnavailable as exc:
                raise ServiceUnavailable("Search by meaning is unavailable right now.") from exc
        else:
            hits = [(None, tweet) for tweet in selectors.tweet_search(query=query, limit=limit)]
        return Response(
            {
                "mode": mode,
                "results": [
                    {"score": score, "tweet": data}
                    for (score, _), data in zip(hits, TweetSerializer([t for _, t in hits], many=True).data, strict=True)
                ],
            }
        )

