"""Posts, events and everything the pipeline, ranking and curation record about them."""

from django.conf import settings
from django.db import models


class Category(models.TextChoices):
    SPORTS = "sports", "Sports"
    NEWS = "news", "News"
    ENTERTAINMENT = "entertainment", "Entertainment"
    TECHNOLOGY = "technology", "Technology"
    POLITICS = "politics", "Politics"
    SCIENCE = "science", "Science"
    BUSINESS = "business", "Business"
    OTHER = "other", "Other"


class PipelineState(models.IntegerChoices):
    NEW = 0, "new"  # stored, waiting for an embedding
    EMBEDDED = 1, "embedded"  # waiting for its shard's clusterer
    ASSIGNED = 2, "assigned"  # member of an event
    UNASSIGNED = 3, "unassigned"  # clustered, fits no event (yet): background chatter
    EXCLUDED = 4, "excluded"  # kept out of trends by a block rule or a blocked author
    FAILED = 5, "failed"  # parked after PIPELINE_MAX_ATTEMPTS recoveries: needs an operator


class Tweet(models.Model):
    # Snowflake-style ids: imports keep the source id (idempotent), new posts get a generated one.
    id = models.BigIntegerField(primary_key=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tweets",
        help_text="Null for imported posts whose author is unknown.",
    )
    text = models.TextField()
    lang = models.CharField(max_length=8, blank=True, db_index=True)
    location = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(db_index=True)
    ingested_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=16, default="api")
    reply_to_id = models.BigIntegerField(null=True, blank=True)
    retweet_of_id = models.BigIntegerField(null=True, blank=True)
    quote_of_id = models.BigIntegerField(null=True, blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    mentions = models.JSONField(default=list, blank=True)
    urls = models.JSONField(default=list, blank=True)
    domains = models.JSONField(default=list, blank=True)
    like_count = models.PositiveIntegerField(default=0)
    retweet_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    quote_count = models.PositiveIntegerField(default=0)
    # float16 little-endian, L2-normalised; 768 bytes for a 384-d model.
    embedding = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=64, blank=True)
    pipeline_state = models.SmallIntegerField(
        choices=PipelineState.choices, default=PipelineState.NEW
    )
    shard = models.SmallIntegerField(default=0)
    # When the current stage was last handed to a worker: the sweeper re-enqueues stale work.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    embedded_at = models.DateTimeField(null=True, blank=True)
    clustered_at = models.DateTimeField(null=True, blank=True)
    pipeline_attempts = models.PositiveSmallIntegerField(default=0)
    # 1.0 healthy .. 0.0 spam/abuse; from author trust, near-duplicate bursts and reports.
    health = models.FloatField(default=1.0)
    # 64-bit SimHash of the normalised text, for coordinated near-duplicate detection.
    simhash = models.BigIntegerField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["pipeline_state", "shard", "created_at"], name="tweet_pipeline_idx"),
            models.Index(fields=["author", "-created_at"], name="tweet_author_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id}: {self.text[:40]}"


class EventState(models.TextChoices):
    EMERGING = "emerging", "Emerging"
    TRENDING = "trending", "Trending"
    FADING = "fading", "Fading"
    ARCHIVED = "archived", "Archived"
    MERGED = "merged", "Merged"  # folded into another event; kept for the story so far


class ReviewStatus(models.TextChoices):
    AUTO = "auto", "Not reviewed (trendable by default)"
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Event(models.Model):
    """A cluster of posts about one happening. Its id is stable: it never renumbers."""

    shard = models.SmallIntegerField(default=0, db_index=True)
    title = models.CharField(max_length=120, blank=True)
    summary = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    language = models.CharField(max_length=8, blank=True, db_index=True)
    location = models.CharField(max_length=80, blank=True, db_index=True)
    state = models.CharField(
        max_length=12, choices=EventState.choices, default=EventState.EMERGING, db_index=True
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField(db_index=True)
    peak_at = models.DateTimeField(null=True, blank=True)
    trending_since = models.DateTimeField(null=True, blank=True)
    # float16 L2-normalised running mean of member embeddings.
    centroid = models.BinaryField(null=True, blank=True)
    tweet_count = models.PositiveIntegerField(default=0)
    author_count = models.PositiveIntegerField(default=0)
    trend_score = models.FloatField(default=0.0, db_index=True)
    peak_score = models.FloatField(default=0.0)
    velocity = models.FloatField(default=0.0)
    acceleration = models.FloatField(default=0.0)
    surprise = models.FloatField(default=0.0)
    health = models.FloatField(default=1.0)
    keywords = models.JSONField(default=list, blank=True)
    hashtags = models.JSONField(default=dict, blank=True)
    entities = models.JSONField(default=dict, blank=True)
    domains = models.JSONField(default=dict, blank=True)
    languages = models.JSONField(default=dict, blank=True)
    representative_tweet_ids = models.JSONField(default=list, blank=True)
    # Curation.
    review_status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.AUTO, db_index=True
    )
    review_requested_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    pinned_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    pinned_until = models.DateTimeField(null=True, blank=True)
    boost = models.FloatField(default=0.0)
    hidden = models.BooleanField(default=False, db_index=True)
    hidden_reason = models.CharField(max_length=200, blank=True)
    # A curator's words win: the naming task leaves locked fields alone.
    title_locked = models.BooleanField(default=False)
    summary_locked = models.BooleanField(default=False)
    category_locked = models.BooleanField(default=False)
    representatives_locked = models.BooleanField(default=False)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    # Feedback aggregates for ranking (observed CTR) and health.
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    dismissals = models.PositiveIntegerField(default=0)
    spam_reports = models.PositiveIntegerField(default=0)
    # Optimistic concurrency: every writer bumps it, curators' edits check it.
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("review_event", "Can approve or reject events in the review queue"),
            ("curate_event", "Can rename, pin, hide, merge and split events"),
            ("manage_blocklist", "Can edit block and allow lists and trust or block sources"),
            ("view_pipeline_health", "Can see the pipeline health dashboard"),
            ("view_auditlog", "Can read and undo audit log entries"),
        ]
        indexes = [
            models.Index(fields=["state", "-trend_score"], name="event_state_score_idx"),
            models.Index(fields=["category", "state", "-trend_score"], name="event_cat_score_idx"),
        ]

    def __str__(self) -> str:
        return self.title or f"Event {self.pk}"


class EventMembership(models.Model):
    """A post's place in exactly one event (the one-to-one key enforces it)."""

    tweet = models.OneToOneField(Tweet, on_delete=models.CASCADE, primary_key=True, related_name="membership")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="memberships")
    similarity = models.FloatField(default=0.0)
    assigned_at = models.DateTimeField(auto_now_add=True)
    # Copied from the tweet so event timelines and author counts need no join.
    tweet_created_at = models.DateTimeField()
    author_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["event", "-tweet_created_at"], name="membership_event_time_idx"),
            models.Index(fields=["event", "author_id"], name="membership_event_author_idx"),
        ]


class EventBucket(models.Model):
    """Per-event volume in fixed time buckets: the series that burst detection and sparklines read."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="buckets")
    start = models.DateTimeField()
    tweets = models.PositiveIntegerField(default=0)
    # Authors seen in the event for the first time in this bucket.
    new_authors = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "start"], name="bucket_event_start_unique")]


class EventLink(models.Model):
    """An edge of an event's history: continuation, merge or split."""

    class Kind(models.TextChoices):
        MERGE = "merge", "Merged into"
        SPLIT = "split", "Split off"
        CONTINUATION = "continuation", "Continued as"

    source = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="links_out")
    target = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=64, default="pipeline")
    details = models.JSONField(default=dict, blank=True)


class EventSnapshot(models.Model):
    """What the event looked like at a point in time: the "story so far"."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField()
    state = models.CharField(max_length=12, choices=EventState.choices)
    title = models.CharField(max_length=120, blank=True)
    tweet_count = models.PositiveIntegerField(default=0)
    author_count = models.PositiveIntegerField(default=0)
    trend_score = models.FloatField(default=0.0)
    keywords = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["event", "taken_at"], name="snapshot_event_time_idx")]


class Engagement(models.Model):
    class Kind(models.TextChoices):
        IMPRESSION = "impression", "Impression"
        CLICK = "click", "Click"
        LIKE = "like", "Like"
        RETWEET = "retweet", "Retweet"
        REPLY = "reply", "Reply"
        DISMISS = "dismiss", "Not interested"
        REPORT = "report", "Spam or abuse"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="engagements")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="engagements")
    tweet = models.ForeignKey(Tweet, null=True, blank=True, on_delete=models.CASCADE, related_name="engagements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    created_at = models.DateTimeField(db_index=True)
    surface = models.CharField(max_length=16, blank=True)  # for_you, trending, topic, event, search, api
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    variant = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "kind", "-created_at"], name="engagement_user_kind_idx"),
            models.Index(fields=["event", "kind"], name="engagement_event_kind_idx"),
        ]


class RankedItem(models.Model):
    """The feed a user was shown, with the ranker's explanation for each item."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ranked_items")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    score = models.FloatField()
    explanation = models.CharField(max_length=200, blank=True)
    features = models.JSONField(default=dict, blank=True)
    variant = models.CharField(max_length=64, blank=True)
    ranked_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["user", "-ranked_at"], name="rankeditem_user_time_idx"),
            models.Index(fields=["ranked_at"], name="rankeditem_time_idx"),
            models.Index(fields=["variant", "ranked_at"], name="rankeditem_variant_time_idx"),
        ]


class Experiment(models.Model):
    """A ranking experiment: users are bucketed deterministically into weighted variants."""

    key = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    # [{"name": "control", "weight": 50, "config": {...ranking overrides...}}, ...]
    variants = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key


class RankingModelVersion(models.Model):
    """A trained ranking model artifact on disk, with the offline metrics that gate its use."""

    version = models.CharField(max_length=40, unique=True)
    path = models.CharField(max_length=300)
    algorithm = models.CharField(max_length=40)
    metrics = models.JSONField(default=dict)
    passed_checks = models.BooleanField(default=False)
    is_active = models.BooleanField(default=False)
    trained_at = models.DateTimeField()
    training_rows = models.PositiveIntegerField(default=0)


class BlockRule(models.Model):
    """Keeps content out of trends (block) or lets it skip review (allow)."""

    class Kind(models.TextChoices):
        TERM = "term", "Term"
        HASHTAG = "hashtag", "Hashtag"
        REGEX = "regex", "Regular expression"
        ACCOUNT = "account", "Account"
        DOMAIN = "domain", "Source domain"

    class Action(models.TextChoices):
        BLOCK = "block", "Block"
        ALLOW = "allow", "Allow"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.BLOCK)
    value = models.CharField(max_length=200)
    note = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "action", "value"], name="blockrule_unique"),
        ]


class AuditLogEntry(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=40, db_index=True)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class IdempotencyKey(models.Model):
    """A POST's response, kept so a retried request with the same key never creates a duplicate."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    key = models.CharField(max_length=128)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique"),
        ]


class WorkerHeartbeat(models.Model):
    hostname = models.CharField(max_length=200, unique=True)
    queues = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField()
    processed = models.PositiveBigIntegerField(default=0)


class TaskFailure(models.Model):
    task_name = models.CharField(max_length=100, db_index=True)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
