"""The curation roles as Django groups. `roles_ensure()` is idempotent: call it after every migrate."""

from __future__ import annotations

CURATOR_GROUP = "curator"
ADMIN_GROUP = "admin"

# Curators steer trends day to day; blocklists and source trust change what the pipeline admits for
# everyone, so they are the trust & safety admins' call.
CURATOR_PERMISSIONS = ("review_event", "curate_event", "view_auditlog", "view_pipeline_health")
ADMIN_PERMISSIONS = CURATOR_PERMISSIONS + ("manage_blocklist",)

ROLE_PERMISSIONS = {CURATOR_GROUP: CURATOR_PERMISSIONS, ADMIN_GROUP: ADMIN_PERMISSIONS}


def roles_ensure() -> None:
    """Create the curator and admin groups with exactly their permissions (missing rows created too).

    Safe to call from a post_migrate handler: it does not rely on auth's own post_migrate having
    created the permission rows yet.
    """
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from trends.models import Event

    content_type = ContentType.objects.get_for_model(Event)
    names = dict(Event._meta.permissions)
    permissions = {}
    for codename in ADMIN_PERMISSIONS:
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": names[codename]}
        )
        permissions[codename] = permission
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = [permissions[c] for c in codenames]
        current = set(group.permissions.filter(content_type=content_type).values_list("codename", flat=True))
        if current != set(codenames):
            group.permissions.remove(*group.permissions.filter(content_type=content_type, codename__in=ADMIN_PERMISSIONS))
            group.permissions.add(*wanted)
