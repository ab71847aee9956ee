"""Engagement logging: what the client showed, what was clicked, what was dismissed."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from trends import services
from trends.api.idempotency import idempotent
from trends.api.serializers import EngagementBatchSerializer, EngagementResultSerializer
from trends.api.views.common import IDEMPOTENCY_HEADER, WRITE_ERRORS, ApiView


@extend_schema(tags=["engagement"])
class EngagementBatchView(ApiView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "engagement"

    @extend_schema(
        operation_id="engagement_log",
        summary="Log up to 500 impressions, clicks, dismissals (and likes, retweets, replies) at once",
        description=(
            "All or nothing: if any item is invalid (unknown kind, unknown event or post) nothing is logged "
            "and the errors name the items (`items[3].event_id`). A `dismiss` hides the event from the "
            "caller's For You for good. Send the `variant` and `position` the feed returned."
        ),
        request=EngagementBatchSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: EngagementResultSerializer, **WRITE_ERRORS},
        examples=[
            OpenApiExample(
                "Impressions and a click",
                value={
                    "items": [
                        {"kind": "impression", "event_id": 42, "surface": "for_you", "position": 0, "variant": "ranking-v2:control"},
                        {"kind": "click", "event_id": 42, "surface": "for_you", "position": 0, "variant": "ranking-v2:control"},
                    ]
                },
                request_only=True,
            ),
            OpenApiExample("Logged", value={"logged": 2}, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        batch = EngagementBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        rows = services.engagement_log_batch(user=request.user, items=batch.validated_data["items"])
        return Response({"logged": len(rows)}, status=status.HTTP_201_CREATED)
