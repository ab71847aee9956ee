from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class IsAuthorOrStaff(BasePermission):
    message = "Only the author may do this."

    def has_object_permission(self, request, view, obj) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (obj.author_id == user.pk or user.is_staff))
