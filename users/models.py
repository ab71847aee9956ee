from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

HANDLE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9_]{1,30}$", "Handles are 1-30 letters, digits or underscores."
)


class User(AbstractUser):
    """An account. `username` is the @handle; it is matched case-insensitively."""

    display_name = models.CharField(max_length=80, blank=True)
    bio = models.CharField(max_length=280, blank=True)
    # ISO 639-1 codes, most preferred first; the Explore tab ranks in these languages.
    languages = models.JSONField(default=list, blank=True)
    location = models.CharField(max_length=80, blank=True, db_index=True)
    # Declared interests, as category slugs (sports, news, ...): the cold start for For You.
    topics = models.JSONField(default=list, blank=True)
    show_local_trends = models.BooleanField(default=True)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    # PageRank over the follow graph, rescaled to 0..1; feeds health and social proof.
    trust_score = models.FloatField(default=0.0)
    trust_computed_at = models.DateTimeField(null=True, blank=True)
    # Curation: trusted authors skip review; blocked authors never reach trends.
    is_trusted_source = models.BooleanField(default=False)
    is_blocked_source = models.BooleanField(default=False)
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    posts_count = models.PositiveIntegerField(default=0)
    # Last time this person asked for their For You page (at most once a minute): whose pages to precompute.
    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_handle_ci_unique"),
        ]

    @property
    def handle(self) -> str:
        return self.username

    def __str__(self) -> str:
        return f"@{self.username}"


def save_changes_nothing_cached(*, created: bool, update_fields) -> bool:
    """A user save that no cache of the user must react to: a new account (nothing cached yet), or
    one that only records activity (login time, last seen)."""
    return created or (update_fields is not None and set(update_fields) <= {"last_login", "last_seen_at"})


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_edges")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_edges")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="follow_not_self"
            ),
        ]
        indexes = [models.Index(fields=["followee", "follower"])]

    def __str__(self) -> str:
        return f"{self.follower_id}->{self.followee_id}"
