"""Request and response shapes. Requests refuse unknown fields; ids of posts travel as strings
(64-bit ids lose precision in JavaScript numbers)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trends.models import Category, Engagement, EventState
from trends.services import MAX_TEXT_LENGTH, MAX_TWEET_ID

LANG_REGEX = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo is an error instead of a silent no-op."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


@extend_schema_field(
    {"type": "string", "pattern": "^[0-9]{1,19}$", "example": "1861234567890123456"},
    component_name="Id64",
)
class Id64Field(serializers.Field):
    """A positive 64-bit id, given as an integer or a string of digits; rendered as a string."""

    default_error_messages = {"invalid": "Must be a positive integer id."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str) and data.strip().isascii() and data.strip().isdigit():
            data = int(data.strip())
        if not isinstance(data, int) or not 0 < data <= MAX_TWEET_ID:
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return None if value is None else str(value)


# --- errors ---------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name (or `detail`, `body`, `non_field_errors`) -> messages.",
    )


# --- users ----------------------------------------------------------------------------------------


class PublicUserSerializer(serializers.Serializer):
    handle = serializers.CharField(source="username")
    display_name = serializers.CharField()
    bio = serializers.CharField()
    location = serializers.CharField()
    verified = serializers.BooleanField()
    followers_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    posts_count = serializers.IntegerField()
    joined_at = serializers.DateTimeField(source="date_joined")


class MeSerializer(PublicUserSerializer):
    email = serializers.EmailField(allow_blank=True)
    languages = serializers.ListField(child=serializers.CharField())
    topics = serializers.ListField(child=serializers.CharField())
    show_local_trends = serializers.BooleanField()
    is_staff = serializers.BooleanField()


class MeUpdateSerializer(StrictSerializer):
    display_name = serializers.CharField(max_length=80, allow_blank=True, required=False)
    bio = serializers.CharField(max_length=280, allow_blank=True, required=False)
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    location = serializers.CharField(max_length=80, allow_blank=True, required=False)
    languages = serializers.ListField(
        child=serializers.RegexField(LANG_REGEX, max_length=8), max_length=10, required=False
    )
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=Category.choices), max_length=len(Category.choices), required=False
    )
    show_local_trends = serializers.BooleanField(required=False)


class RegisterSerializer(StrictSerializer):
    handle = serializers.CharField(max_length=30, help_text="1-30 letters, digits or underscores.")
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True)


class TokenRequestSerializer(StrictSerializer):
    handle = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = MeSerializer()


class FollowStateSerializer(serializers.Serializer):
    handle = serializers.CharField()
    following = serializers.BooleanField()
    changed = serializers.BooleanField(help_text="False when the request changed nothing (idempotent).")


# --- posts ----------------------------------------------------------------------------------------


class TweetInSerializer(StrictSerializer):
    """Documents the body; the rules themselves live in trends.services.tweet_validate."""

    text = serializers.CharField(max_length=MAX_TEXT_LENGTH, help_text="1-560 characters, not blank.")
    lang = serializers.CharField(max_length=8, required=False, allow_blank=True)
    location = serializers.CharField(max_length=80, required=False, allow_blank=True)
    created_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="ISO 8601; defaults to now; not in the future."
    )
    reply_to_id = Id64Field(required=False, allow_null=True)
    retweet_of_id = Id64Field(required=False, allow_null=True)
    quote_of_id = Id64Field(required=False, allow_null=True)


TWEET_INPUT_FIELDS = frozenset(TweetInSerializer().fields)


class TweetSerializer(serializers.Serializer):
    id = serializers.CharField()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    text = serializers.CharField()
    lang = serializers.CharField()
    location = serializers.CharField()
    created_at = serializers.DateTimeField()
    reply_to_id = Id64Field(allow_null=True)
    retweet_of_id = Id64Field(allow_null=True)
    quote_of_id = Id64Field(allow_null=True)
    hashtags = serializers.ListField(child=serializers.CharField())
    mentions = serializers.ListField(child=serializers.CharField())
    urls = serializers.ListField(child=serializers.CharField())
    like_count = serializers.IntegerField()
    retweet_count = serializers.IntegerField()
    reply_count = serializers.IntegerField()
    quote_count = serializers.IntegerField()
    pipeline_state = serializers.CharField(source="get_pipeline_state_display")


class BulkTweetInSerializer(StrictSerializer):
    items = serializers.ListField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=settings.API_BULK_MAX_ITEMS,
        help_text=f"1-{settings.API_BULK_MAX_ITEMS} post bodies, each like POST /tweets.",
    )


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.IntegerField(help_text="201 stored, 400 refused.")
    tweet = TweetSerializer(required=False)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class BulkTweetResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


class SearchQuerySerializer(StrictSerializer):
    q = serializers.CharField(max_length=200, help_text="Words (all must match) or a description.")
    mode = serializers.ChoiceField(choices=[("words", "words"), ("meaning", "meaning")], default="words")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=20)


class SearchHitSerializer(serializers.Serializer):
    score = serializers.FloatField(allow_null=True, help_text="Cosine similarity (meaning search only).")
    tweet = TweetSerializer()


class SearchResultSerializer(serializers.Serializer):
    mode = serializers.CharField()
    results = SearchHitSerializer(many=True)


# --- events and feeds -----------------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    language = serializers.CharField()
    location = serializers.CharField()
    state = serializers.ChoiceField(choices=EventState.choices)
    tweet_count = serializers.IntegerField()
    author_count = serializers.IntegerField()
    trend_score = serializers.FloatField()
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


class EventDetailSerializer(EventSerializer):
    summary = serializers.CharField()
    peak_at = serializers.DateTimeField(allow_null=True)
    trending_since = serializers.DateTimeField(allow_null=True)
    keywords = serializers.ListField(child=serializers.CharField())
    hashtags = serializers.JSONField(help_text="Top hashtags with their counts.")
    languages = serializers.JSONField(help_text="Share of posts per language.")
    merged_into_id = serializers.IntegerField(allow_null=True)


class RankedEventSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    score = serializers.FloatField()
    explanation = serializers.CharField(help_text="Why this event is shown, in words.")
    features = serializers.JSONField(help_text="The ranking features behind the score.")
    variant = serializers.CharField(help_text="Ranking variant (experiments); log it with engagement.")
    event = EventSerializer()


class RelatedEventSerializer(serializers.Serializer):
    similarity = serializers.FloatField()
    event = EventSerializer()


class RelatedEventsSerializer(serializers.Serializer):
    results = RelatedEventSerializer(many=True)


class SnapshotSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField()
    state = serializers.CharField()
    title = serializers.CharField()
    tweet_count = serializers.IntegerField()
    author_count = serializers.IntegerField()
    trend_score = serializers.FloatField()
    keywords = serializers.ListField(child=serializers.CharField())
    note = serializers.CharField()


class StoryLinkSerializer(serializers.Serializer):
    kind = serializers.CharField()
    direction = serializers.ChoiceField(choices=[("in", "in"), ("out", "out")])
    event_id = serializers.IntegerField(help_text="The event at the other end of the link.")
    event_title = serializers.CharField()
    created_at = serializers.DateTimeField()


class StorySerializer(serializers.Serializer):
    event = EventDetailSerializer()
    snapshots = SnapshotSerializer(many=True)
    links = StoryLinkSerializer(many=True)


class TopicSerializer(serializers.Serializer):
    slug = serializers.CharField()
    label = serializers.CharField()


class TopicListSerializer(serializers.Serializer):
    results = TopicSerializer(many=True)


# --- engagement -----------------------------------------------------------------------------------

BATCH_ENGAGEMENT_KINDS = [
    (k.value, k.label) for k in Engagement.Kind if k != Engagement.Kind.REPORT
]


class EngagementItemSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=BATCH_ENGAGEMENT_KINDS)
    event_id = serializers.IntegerField(min_value=1, max_value=MAX_TWEET_ID, required=False, allow_null=True)
    tweet_id = Id64Field(required=False, allow_null=True)
    surface = serializers.CharField(max_length=16, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=999, required=False, allow_null=True)
    variant = serializers.CharField(max_length=64, required=False, allow_blank=True)

    def validate(self, attrs):
        if attrs.get("event_id") is None and attrs.get("tweet_id") is None:
            raise serializers.ValidationError("Needs event_id or tweet_id.")
        return attrs


class EngagementBatchSerializer(StrictSerializer):
    items = EngagementItemSerializer(many=True, allow_empty=False, max_length=500)


class EngagementResultSerializer(serializers.Serializer):
    logged = serializers.IntegerField()
