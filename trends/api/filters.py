"""django-filter sets for list endpoints; every value is bounded before it reaches the database."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms

from trends.models import Category, Event, EventState

EARLIEST = dt.datetime(2006, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class BoundedDateTimeField(forms.DateTimeField):
    """ISO 8601, normalised to UTC; years outside 2006-2100 are refused rather than overflowing."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            parsed = super().to_python(value)
            if parsed is None:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            parsed = parsed.astimezone(dt.UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("Enter a valid ISO 8601 date/time.") from exc
        if not EARLIEST <= parsed <= LATEST:
            raise forms.ValidationError("Must be between 2006 and 2100.")
        return parsed


class BoundedDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedDateTimeField


class EventFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=EventState.choices, help_text="Repeatable.")
    category = django_filters.MultipleChoiceFilter(choices=Category.choices, help_text="Repeatable.")
    language = django_filters.CharFilter(max_length=8, help_text="ISO 639-1 code, e.g. `en`.")
    location = django_filters.CharFilter(lookup_expr="iexact", max_length=80)
    last_seen_after = BoundedDateTimeFilter(field_name="last_seen_at", lookup_expr="gte")
    last_seen_before = BoundedDateTimeFilter(field_name="last_seen_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["state", "category", "language", "location", "last_seen_after", "last_seen_before"]
