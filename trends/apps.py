from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender, **kwargs) -> None:
    # Groups and permissions are data, not schema: recreate them after every migrate (idempotent).
    from trends.curation.roles import roles_ensure

    roles_ensure()


class TrendsConfig(AppConfig):
    name = "trends"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="trends.ensure_roles")
        from trends.api import authentication
        from trends.pages import signals
        from trends.pages import tasks as _page_tasks  # noqa: F401  (registers the page tasks with Celery)

        signals.connect()
        authentication.connect()
