"""Curation actions for staff: review, hide, pin, rename, merge, split.

Thin wrappers over trends.curation.services, which checks the fine-grained permission
(review_event / curate_event), locks rows, bumps Event.version and writes the audit log.
"""

from __future__ import annotations

import importlib

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from trends.api.idempotency import idempotent
from trends.api.serializers import EventDetailSerializer, Id64Field, StrictSerializer
from trends.api.views.common import E404, IDEMPOTENCY_HEADER, WRITE_ERRORS, ApiView, error_response
from trends.models import Category, Event
from trends.services import MAX_TWEET_ID


def curation_services():
    # Imported per call: the curation package is developed alongside and must not break the API's import.
    return importlib.import_module("trends.curation.services")


class IsCurationStaff(BasePermission):
    message = "Only staff may curate."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if user.is_staff:
            return True
        from trends.curation.permissions import user_is_curation_staff

        return user_is_curation_staff(user)


class EditConflictError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The event changed meanwhile; nothing was saved."
    default_code = "edit_conflict"


class CuratedEventSerializer(EventDetailSerializer):
    review_status = serializers.CharField()
    hidden = serializers.BooleanField()
    hidden_reason = serializers.CharField()
    pinned_slot = serializers.IntegerField(allow_null=True)
    pinned_until = serializers.DateTimeField(allow_null=True)
    representative_tweet_ids = serializers.ListField(child=Id64Field(), help_text="Posts shown for the event.")
    version = serializers.IntegerField(help_text="Send as expected_version to refuse stale edits (409).")


class ReviewIn(StrictSerializer):
    event_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_TWEET_ID), min_length=1, max_length=500
    )
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReviewOut(serializers.Serializer):
    changed = serializers.ListField(child=serializers.IntegerField(), help_text="Ids whose status changed.")


class EditIn(StrictSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    expected_version = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)


class HideIn(EditIn):
    reason = serializers.CharField(max_length=200)


class RenameIn(EditIn):
    title = serializers.CharField(max_length=120)


class PinIn(EditIn):
    slot = serializers.IntegerField(min_value=1, max_value=100)
    until = serializers.DateTimeField()


class SummaryIn(EditIn):
    summary = serializers.CharField(max_length=1000, allow_blank=True, help_text="Empty hands it back to the pipeline.")


class CategoryIn(EditIn):
    category = serializers.ChoiceField(choices=Category.choices)


class RepresentativesIn(EditIn):
    tweet_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_TWEET_ID), max_length=10,
        help_text="Posts shown for the event, in order; empty hands the choice back to the pipeline.",
    )


class MergeIn(StrictSerializer):
    target_id = serializers.IntegerField(min_value=1, max_value=MAX_TWEET_ID)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SplitIn(StrictSerializer):
    tweet_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_TWEET_ID), required=False, max_length=5000
    )
    by_subcluster = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


E409 = error_response("Edit conflict", {"expected_version": ["Event #42 changed meanwhile (you saw version 3, it is now version 5)."]})
CURATED_EXAMPLE = {
    "id": 42, "title": "City marathon", "category": "sports", "language": "en", "location": "London",
    "state": "trending", "tweet_count": 812, "author_count": 455, "trend_score": 7.3,
    "first_seen_at": "2026-11-26T08:10:00Z", "last_seen_at": "2026-11-26T11:58:00Z", "summary": "",
    "peak_at": None, "trending_since": None, "keywords": [], "hashtags": {}, "languages": {},
    "merged_into_id": None, "review_status": "approved", "hidden": False, "hidden_reason": "",
    "pinned_slot": 1, "pinned_until": "2026-11-27T12:00:00Z", "representative_tweet_ids": ["1861234567890123456"],
    "version": 6,
}
CURATED_RESPONSES = {200: CuratedEventSerializer, 404: E404, 409: E409, **WRITE_ERRORS}


def _existing_event(event_id: int) -> Event:
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        raise Http404
    return event


class _CurationView(ApiView):
    permission_classes = [IsCurationStaff]
    throttle_scope = "curation"
    input_serializer: type[serializers.Serializer] = EditIn

    def validated(self, request) -> dict:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def run(self, fn) -> Response:
        services = curation_services()
        try:
            event = fn(services)
        except services.EditConflict as exc:
            raise EditConflictError({"expected_version": [str(exc)]}) from exc
        event.refresh_from_db()
        return Response(CuratedEventSerializer(event).data)


def _curation_schema(operation_id: str, summary: str, request, example: dict):
    return extend_schema(
        tags=["curation"],
        operation_id=operation_id,
        summary=summary,
        request=request,
        parameters=[IDEMPOTENCY_HEADER],
        responses=CURATED_RESPONSES,
        examples=[
            OpenApiExample("Request", value=example, request_only=True),
            OpenApiExample("Event after the change", value=CURATED_EXAMPLE, response_only=True),
        ],
    )


class ReviewView(ApiView):
    permission_classes = [IsCurationStaff]
    throttle_scope = "curation"
    decision = ""

    @idempotent
    def post(self, request, *args, **kwargs):
        serializer = ReviewIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data["event_ids"]
        missing = set(ids) - set(Event.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing:
            raise serializers.ValidationError({"event_ids": [f"No such event: {', '.join(map(str, sorted(missing)))}"]})
        fn = getattr(curation_services(), f"event_{self.decision}")
        changed = fn(actor=request.user, event_ids=ids, reason=serializer.validated_data["reason"])
        return Response({"changed": sorted(e.pk for e in changed)})


_review_schema = {
    "request": ReviewIn,
    "parameters": [IDEMPOTENCY_HEADER],
    "responses": {200: ReviewOut, **WRITE_ERRORS},
    "tags": ["curation"],
    "examples": [
        OpenApiExample("Request", value={"event_ids": [42, 43], "reason": "checked sources"}, request_only=True),
        OpenApiExample("Changed", value={"changed": [42]}, response_only=True),
    ],
}


class ApproveView(ReviewView):
    decision = "approve"

    @extend_schema(operation_id="curation_approve", summary="Approve events: they become public", **_review_schema)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class RejectView(ReviewView):
    decision = "reject"

    @extend_schema(operation_id="curation_reject", summary="Reject events: never shown publicly", **_review_schema)
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class HideView(_CurationView):
    input_serializer = HideIn

    @_curation_schema("curation_hide", "Hide an event (reason required, kept in the audit log)", HideIn, {"reason": "Misleading"})
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_hide(actor=request.user, event=event, **data))


class UnhideView(_CurationView):
    @_curation_schema("curation_unhide", "Show a hidden event again", EditIn, {"reason": "Cleared"})
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_unhide(actor=request.user, event=event, **data))


class PinView(_CurationView):
    input_serializer = PinIn

    @_curation_schema(
        "curation_pin", "Pin an event to a slot (1 = top) until a time", PinIn,
        {"slot": 1, "until": "2026-11-27T12:00:00Z", "reason": "Breaking news"},
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_pin(actor=request.user, event=event, **data))


class UnpinView(_CurationView):
    @_curation_schema("curation_unpin", "Unpin an event", EditIn, {"reason": "Over"})
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_unpin(actor=request.user, event=event, **data))


class RenameView(_CurationView):
    input_serializer = RenameIn

    @_curation_schema(
        "curation_rename", "Rename an event (the title is then locked against the naming task)", RenameIn,
        {"title": "City marathon 2026", "expected_version": 5},
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_rename(actor=request.user, event=event, **data))


class SummaryView(_CurationView):
    input_serializer = SummaryIn

    @_curation_schema(
        "curation_summary", "Set an event's summary (locked against the naming task)", SummaryIn,
        {"summary": "Runners and crowds at the finish.", "expected_version": 5},
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_set_summary(actor=request.user, event=event, **data))


class CategoryView(_CurationView):
    input_serializer = CategoryIn

    @_curation_schema(
        "curation_category", "Set an event's category (locked against the pipeline)", CategoryIn,
        {"category": "sports"},
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_set_category(actor=request.user, event=event, **data))


class RepresentativesView(_CurationView):
    input_serializer = RepresentativesIn

    @_curation_schema(
        "curation_representatives", "Choose the posts shown for an event", RepresentativesIn,
        {"tweet_ids": [1861234567890123456]},
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        return self.run(lambda s: s.event_set_representatives(actor=request.user, event=event, **data))


class MergeView(_CurationView):
    input_serializer = MergeIn

    @_curation_schema(
        "curation_merge", "Merge this event into another; returns the target", MergeIn,
        {"target_id": 41, "reason": "Same story"},
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        source = _existing_event(event_id)
        target = Event.objects.filter(pk=data.pop("target_id")).first()
        if target is None:
            raise serializers.ValidationError({"target_id": ["No such event."]})
        return self.run(lambda s: s.event_merge(actor=request.user, source=source, target=target, **data))


class SplitView(_CurationView):
    input_serializer = SplitIn

    @extend_schema(
        tags=["curation"],
        operation_id="curation_split",
        summary="Split posts off into a new event (chosen posts, or by sub-cluster); returns the new event",
        request=SplitIn,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: CuratedEventSerializer, 404: E404, **WRITE_ERRORS},
        examples=[
            OpenApiExample("Request", value={"tweet_ids": [1861234567890123456], "reason": "Different story"}, request_only=True),
            OpenApiExample("New event", value={**CURATED_EXAMPLE, "id": 77, "pinned_slot": None, "pinned_until": None}, response_only=True, status_codes=["201"]),
        ],
    )
    @idempotent
    def post(self, request, event_id: int, *args, **kwargs):
        data = self.validated(request)
        event = _existing_event(event_id)
        tweet_ids = data.pop("tweet_ids", None)
        by_subcluster = data.pop("by_subcluster", False)
        response = self.run(
            lambda s: s.event_split(
                actor=request.user, event=event, tweet_ids=tweet_ids, by_subcluster=by_subcluster, **data
            )
        )
        response.status_code = status.HTTP_201_CREATED
        return response


__all__ = [
    "ApproveView",
    "CategoryView",
    "HideView",
    "MergeView",
    "PinView",
    "RejectView",
    "RenameView",
    "RepresentativesView",
    "SplitView",
    "SummaryView",
    "UnhideView",
    "UnpinView",
]
