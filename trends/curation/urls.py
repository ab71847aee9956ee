from django.urls import path

from trends.curation import views

app_name = "curation"

urlpatterns = [
    path("", views.index, name="index"),
    path("queue/", views.queue, name="queue"),
    path("queue/decide/", views.queue_decide, name="queue-decide"),
    path("events/", views.events, name="events"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("events/<int:event_id>/<slug:action>/", views.event_edit, name="event-edit"),
    path("sources/", views.sources, name="sources"),
    path("sources/rules/", views.rule_create, name="rule-create"),
    path("sources/rules/<int:rule_id>/toggle/", views.rule_toggle, name="rule-toggle"),
    path("sources/authors/", views.author_trust, name="author-trust"),
    path("audit/", views.audit, name="audit"),
    path("audit/<int:entry_id>/undo/", views.audit_undo, name="audit-undo"),
    path("health/", views.health, name="health"),
]
