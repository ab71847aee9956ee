"""Input forms of the curation panel. They only parse; rules live in services.py.

Edit forms carry the `version` the page was rendered from (and the value the curator saw), so a
change made meanwhile by someone else is reported instead of silently overwritten.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from trends.curation.services import MAX_REASON_LENGTH, MAX_SUMMARY_LENGTH, MAX_TITLE_LENGTH, pin_slots
from trends.models import BlockRule, Category


class IdListField(forms.Field):
    """Integers from repeated inputs (checkboxes) or one comma/space separated text field."""

    def to_python(self, value):
        if value in (None, "", []):
            return []
        items = value if isinstance(value, list | tuple) else [value]
        out = []
        for item in items:
            for piece in str(item).replace(",", " ").split():
                try:
                    out.append(int(piece))
                except ValueError as exc:
                    raise forms.ValidationError(f"“{piece}” is not an id.") from exc
        return out

    def widget_attrs(self, widget):
        return {}


class IdListWidget(forms.TextInput):
    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)


class VersionedForm(forms.Form):
    version = forms.IntegerField(min_value=0, required=False, widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    event_ids = IdListField(widget=IdListWidget, error_messages={"required": "Choose at least one event."})
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, required=False)

    def clean_event_ids(self):
        ids = self.cleaned_data["event_ids"]
        if not ids:
            raise forms.ValidationError("Choose at least one event.")
        return ids


class RenameForm(VersionedForm):
    title = forms.CharField(max_length=MAX_TITLE_LENGTH)
    seen_title = forms.CharField(required=False, widget=forms.HiddenInput)


class SummaryForm(VersionedForm):
    summary = forms.CharField(max_length=MAX_SUMMARY_LENGTH, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    seen_summary = forms.CharField(required=False, widget=forms.HiddenInput)


class CategoryForm(VersionedForm):
    category = forms.ChoiceField(choices=Category.choices)
    seen_category = forms.CharField(required=False, widget=forms.HiddenInput)


class RepresentativesForm(VersionedForm):
    tweet_ids = IdListField(widget=IdListWidget, required=False)


class PinForm(VersionedForm):
    slot = forms.IntegerField(min_value=1)
    hours = forms.FloatField(min_value=0.1, max_value=24 * 30, initial=6, label="For how many hours")

    def clean_slot(self):
        slot = self.cleaned_data["slot"]
        if slot > pin_slots():
            raise forms.ValidationError(f"Choose a slot from 1 to {pin_slots()}.")
        return slot

    def until(self) -> dt.datetime:
        return timezone.now() + dt.timedelta(hours=self.cleaned_data["hours"])


class ReasonForm(VersionedForm):
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, required=False)


class HideForm(VersionedForm):
    reason = forms.CharField(max_length=MAX_REASON_LENGTH)


class MergeForm(forms.Form):
    other_event = forms.IntegerField(min_value=1, label="Other event id")
    direction = forms.ChoiceField(
        choices=[("into_other", "Merge this event into the other"), ("into_this", "Merge the other into this event")]
    )
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, required=False)


class SplitForm(forms.Form):
    mode = forms.ChoiceField(choices=[("selected", "The selected posts"), ("subcluster", "The smaller sub-cluster")])
    tweet_ids = IdListField(widget=IdListWidget, required=False)
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, required=False)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "selected" and not data.get("tweet_ids"):
            raise forms.ValidationError("Select the posts to split off.")
        return data


class BlockRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=BlockRule.Kind.choices)
    action = forms.ChoiceField(choices=BlockRule.Action.choices, initial=BlockRule.Action.BLOCK)
    value = forms.CharField(max_length=300)
    note = forms.CharField(max_length=200, required=False)


class RuleToggleForm(forms.Form):
    active = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")


class AuthorTrustForm(forms.Form):
    author = forms.CharField(max_length=31, help_text="Handle or account id")
    decision = forms.ChoiceField(
        choices=[("trust", "Trust"), ("untrust", "Stop trusting"), ("block", "Block"), ("unblock", "Unblock")]
    )
    reason = forms.CharField(max_length=MAX_REASON_LENGTH, required=False)


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=31)
    action = forms.CharField(
        required=False, max_length=40, widget=forms.TextInput(attrs={"list": "audit-actions"}),
        help_text="An action (event.rename) or a prefix (event)",
    )
    target_type = forms.ChoiceField(
        required=False,
        choices=[("", "any"), ("event", "event"), ("blockrule", "block rule"), ("user", "account")],
    )
    target_id = forms.CharField(required=False, max_length=64)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="inclusive")

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        tz = timezone.get_current_timezone()
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        return (
            dt.datetime.combine(since, dt.time.min, tzinfo=tz) if since else None,
            dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz) if until else None,
        )
