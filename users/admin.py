from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from users.models import Follow, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "location", "trust_score", "verified", "is_staff")
    list_filter = ("verified", "is_staff", "is_blocked_source", "is_trusted_source")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (
            "Explore",
            {"fields": ("display_name", "bio", "languages", "location", "topics", "verified", "verified_at",
                        "trust_score", "is_trusted_source", "is_blocked_source")},
        ),
    )


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "created_at")
    raw_id_fields = ("follower", "followee")
