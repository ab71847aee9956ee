from django.contrib import admin

from trends import models


@admin.register(models.Tweet)
class TweetAdmin(admin.ModelAdmin):
    list_display = ("id", "author", "lang", "created_at", "pipeline_state", "health")
    list_filter = ("pipeline_state", "lang", "source")
    search_fields = ("text",)
    raw_id_fields = ("author",)
    exclude = ("embedding",)


@admin.register(models.Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "category", "state", "review_status", "tweet_count", "author_count", "trend_score", "hidden")
    list_filter = ("state", "category", "review_status", "hidden", "language")
    search_fields = ("title", "summary")
    exclude = ("centroid",)
    raw_id_fields = ("merged_into", "reviewed_by")


@admin.register(models.EventMembership)
class EventMembershipAdmin(admin.ModelAdmin):
    list_display = ("tweet", "event", "similarity", "assigned_at")
    raw_id_fields = ("tweet", "event")


@admin.register(models.Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "event", "tweet", "surface", "created_at")
    list_filter = ("kind", "surface")
    raw_id_fields = ("user", "event", "tweet")


@admin.register(models.Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("key", "is_active", "started_at", "ended_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Variants are cached per process; a change must apply now, not at the next cache expiry.
        from trends.ranking.selectors import ranking_caches_invalidate

        ranking_caches_invalidate()


for model in (
    models.EventBucket,
    models.EventLink,
    models.EventSnapshot,
    models.RankedItem,
    models.RankingModelVersion,
    models.BlockRule,
    models.AuditLogEntry,
    models.IdempotencyKey,
    models.WorkerHeartbeat,
    models.TaskFailure,
):
    admin.site.register(model)
