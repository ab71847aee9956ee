"""API v0: post a tweet, list events. The full API (issue 7) grows from these."""

from django.core.exceptions import ValidationError
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from trends import selectors, services


class TweetOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    text = serializers.CharField()
    lang = serializers.CharField()
    created_at = serializers.DateTimeField()
    hashtags = serializers.ListField(child=serializers.CharField())
    mentions = serializers.ListField(child=serializers.CharField())
    urls = serializers.ListField(child=serializers.CharField())
    pipeline_state = serializers.CharField(source="get_pipeline_state_display")


class EventOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.CharField()
    state = serializers.CharField()
    tweet_count = serializers.IntegerField()
    author_count = serializers.IntegerField()
    trend_score = serializers.FloatField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


def validation_error_response(exc: ValidationError) -> Response:
    return Response({"errors": exc.message_dict}, status=status.HTTP_400_BAD_REQUEST)


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def tweet_create(request):
    if not isinstance(request.data, dict):
        return Response({"errors": {"non_field_errors": ["Expected a JSON object."]}}, status=400)
    try:
        tweet = services.tweet_create(author=request.user, data=request.data, source="api")
    except ValidationError as exc:
        return validation_error_response(exc)
    return Response(TweetOutSerializer(tweet).data, status=status.HTTP_201_CREATED)


@api_view(["GET"])
def event_list(request):
    events = selectors.event_list_trending(limit=50)
    return Response({"results": EventOutSerializer(events, many=True).data})
