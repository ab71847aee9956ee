"""Curation panel pages. Thin: parse a form, call one service, redirect with a message (POST/redirect/GET).

Every state change is a POST (CSRF-checked by the middleware); reads are GETs. Access is checked by
`permission_required` on every view (403 for anyone without the permission, signed in or not).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from trends.curation import charts, selectors, services
from trends.curation import forms as f
from trends.curation import permissions as perms
from trends.curation.permissions import permission_required
from trends.models import AuditLogEntry, BlockRule, Event, EventLink, EventState, ReviewStatus
from users.models import User


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    user = request.user
    context = {
        "pending_count": selectors.review_pending_count(),
        "can": {
            "review": perms.user_can(user, perms.PERM_REVIEW),
            "curate": perms.user_can(user, perms.PERM_CURATE),
            "blocklist": perms.user_can(user, perms.PERM_BLOCKLIST),
            "health": perms.user_can(user, perms.PERM_HEALTH),
            "audit": perms.user_can(user, perms.PERM_AUDIT),
        },
        **context,
    }
    return render(request, template, context)


def _errors(request: HttpRequest, error: ValidationError | str) -> None:
    for message in error.messages if isinstance(error, ValidationError) else [error]:
        messages.error(request, message)


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        for error in errors:
            messages.error(request, error if field == "__all__" else f"{field.replace('_', ' ')}: {error}")


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Back to the page the form was on, when that is one of ours; else to `default`."""
    target = request.POST.get("next", "")
    if target.startswith("/curation/") and "//" not in target:
        return HttpResponseRedirect(target)
    return redirect(default)


@permission_required()
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    for perm, name in (
        (perms.PERM_REVIEW, "curation:queue"),
        (perms.PERM_CURATE, "curation:events"),
        (perms.PERM_HEALTH, "curation:health"),
        (perms.PERM_BLOCKLIST, "curation:sources"),
        (perms.PERM_AUDIT, "curation:audit"),
    ):
        if perms.user_can(request.user, perm):
            return redirect(name)
    raise Http404  # pragma: no cover - permission_required() let only such users in


# --- review queue ---------------------------------------------------------------------------------


@permission_required(perms.PERM_REVIEW)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    return _render(request, "curation/queue.html", {"events": selectors.review_queue(), "form": f.DecisionForm()})


@permission_required(perms.PERM_REVIEW)
@require_POST
def queue_decide(request: HttpRequest) -> HttpResponse:
    form = f.DecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, "curation:queue")
    data = form.cleaned_data
    service = services.event_approve if data["decision"] == "approve" else services.event_reject
    try:
        changed = service(actor=request.user, event_ids=data["event_ids"], reason=data["reason"])
    except ValidationError as exc:
        _errors(request, exc)
    else:
        verb = "Approved" if data["decision"] == "approve" else "Rejected"
        messages.success(request, f"{verb} {len(changed)} event(s).")
    return _back(request, "curation:queue")


# --- events ---------------------------------------------------------------------------------------


@permission_required(perms.PERM_CURATE)
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    state = request.GET.get("state", "")
    review = request.GET.get("review", "")
    state = state if state in EventState.values else ""
    review = review if review in ReviewStatus.values else ""
    return _render(
        request,
        "curation/events.html",
        {
            "events": selectors.event_list_for_curation(query=query, state=state, review_status=review),
            "pinned": selectors.event_pinned(),
            "q": query,
            "state": state,
            "review": review,
            "states": EventState.choices,
            "reviews": ReviewStatus.choices,
        },
    )


@permission_required(perms.PERM_CURATE)
@require_GET
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id)
    members = selectors.event_members(event=event)
    return _render(request, "curation/event_detail.html", _event_context(event, members))


def _event_context(event: Event, members) -> dict:
    version = {"version": event.version}
    return {
        "event": event,
        "members": members,
        "representatives": set(event.representative_tweet_ids or []),
        "links": EventLink.objects.filter(Q(source=event) | Q(target=event)).select_related("source", "target").order_by("-created_at")[:20],
        "history": AuditLogEntry.objects.filter(target_type="event", target_id=str(event.pk)).select_related("actor")[:20],
        "rename_form": f.RenameForm(initial={**version, "title": event.title, "seen_title": event.title}),
        "summary_form": f.SummaryForm(initial={**version, "summary": event.summary, "seen_summary": event.summary}),
        "category_form": f.CategoryForm(initial={**version, "category": event.category, "seen_category": event.category}),
        "pin_form": f.PinForm(initial={**version, "slot": event.pinned_slot or 1}),
        "hide_form": f.HideForm(initial=version),
        "merge_form": f.MergeForm(),
        "split_form": f.SplitForm(initial={"mode": "selected"}),
        "pin_slots": services.pin_slots(),
    }


def _seen(form, name: str) -> dict:
    return {name: form.cleaned_data.get(f"seen_{name}", "")}


def _edit_rename(request, event, form):
    return services.event_rename(actor=request.user, event=event, title=form.cleaned_data["title"],
                                 expected_version=form.cleaned_data["version"], seen_values=_seen(form, "title"))


def _edit_summary(request, event, form):
    return services.event_set_summary(actor=request.user, event=event, summary=form.cleaned_data["summary"],
                                      expected_version=form.cleaned_data["version"], seen_values=_seen(form, "summary"))


def _edit_category(request, event, form):
    return services.event_set_category(actor=request.user, event=event, category=form.cleaned_data["category"],
                                       expected_version=form.cleaned_data["version"], seen_values=_seen(form, "category"))


def _edit_representatives(request, event, form):
    return services.event_set_representatives(actor=request.user, event=event, tweet_ids=form.cleaned_data["tweet_ids"],
                                              expected_version=form.cleaned_data["version"])


def _edit_pin(request, event, form):
    return services.event_pin(actor=request.user, event=event, slot=form.cleaned_data["slot"], until=form.until(),
                              expected_version=form.cleaned_data["version"])


def _edit_unpin(request, event, form):
    return services.event_unpin(actor=request.user, event=event, reason=form.cleaned_data["reason"])


def _edit_hide(request, event, form):
    return services.event_hide(actor=request.user, event=event, reason=form.cleaned_data["reason"],
                               expected_version=form.cleaned_data["version"])


def _edit_unhide(request, event, form):
    return services.event_unhide(actor=request.user, event=event, reason=form.cleaned_data["reason"])


def _edit_merge(request, event, form):
    other = form.cleaned_data["other_event"]
    source, target = (event.pk, other) if form.cleaned_data["direction"] == "into_other" else (other, event.pk)
    return services.event_merge(actor=request.user, source=source, target=target, reason=form.cleaned_data["reason"])


def _edit_split(request, event, form):
    if form.cleaned_data["mode"] == "subcluster":
        return services.event_split(actor=request.user, event=event, by_subcluster=True, reason=form.cleaned_data["reason"])
    return services.event_split(actor=request.user, event=event, tweet_ids=form.cleaned_data["tweet_ids"],
                                reason=form.cleaned_data["reason"])


EDITS = {
    "rename": (f.RenameForm, _edit_rename, "Title saved and locked."),
    "summary": (f.SummaryForm, _edit_summary, "Summary saved."),
    "category": (f.CategoryForm, _edit_category, "Category saved and locked."),
    "representatives": (f.RepresentativesForm, _edit_representatives, "Representative posts saved."),
    "pin": (f.PinForm, _edit_pin, "Event pinned."),
    "unpin": (f.ReasonForm, _edit_unpin, "Event unpinned."),
    "hide": (f.HideForm, _edit_hide, "Event hidden."),
    "unhide": (f.ReasonForm, _edit_unhide, "Event visible again."),
    "merge": (f.MergeForm, _edit_merge, "Events merged."),
    "split": (f.SplitForm, _edit_split, "Posts split off into a new event."),
}


@permission_required(perms.PERM_CURATE)
@require_POST
def event_edit(request: HttpRequest, event_id: int, action: str) -> HttpResponse:
    if action not in EDITS:
        raise Http404("No such action")
    event = get_object_or_404(Event, pk=event_id)
    form_class, apply, done = EDITS[action]
    form = form_class(request.POST)
    landing = reverse("curation:event", args=[event.pk])
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(landing)
    try:
        result = apply(request, event, form)
    except services.EditConflict as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, done)
        if action == "split":
            messages.info(request, f"The new event is #{result.pk}.")
        if action == "merge" and result.pk != event.pk:
            landing = reverse("curation:event", args=[result.pk])
    return HttpResponseRedirect(landing)


# --- sources: block and allow lists, trusted and blocked authors -----------------------------------


@permission_required(perms.PERM_BLOCKLIST)
@require_GET
def sources(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in BlockRule.Kind.values else ""
    return _render(
        request,
        "curation/sources.html",
        {
            "rules": selectors.blockrules_list(kind=kind),
            "kind": kind,
            "kinds": BlockRule.Kind.choices,
            "rule_form": f.BlockRuleForm(initial={"kind": kind or BlockRule.Kind.TERM}),
            "author_form": f.AuthorTrustForm(),
            "flagged": selectors.sources_flagged(),
        },
    )


@permission_required(perms.PERM_BLOCKLIST)
@require_POST
def rule_create(request: HttpRequest) -> HttpResponse:
    form = f.BlockRuleForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, "curation:sources")
    try:
        rule = services.blockrule_create(actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"{rule.get_action_display()} rule for {rule.get_kind_display().lower()} “{rule.value}” is on.")
    return _back(request, "curation:sources")


@permission_required(perms.PERM_BLOCKLIST)
@require_POST
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    form = f.RuleToggleForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, "curation:sources")
    try:
        rule = services.blockrule_set_active(actor=request.user, rule=rule_id, active=form.cleaned_data["active"])
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"Rule “{rule.value}” is {'on' if rule.is_active else 'off'}.")
    return _back(request, "curation:sources")


@permission_required(perms.PERM_BLOCKLIST)
@require_POST
def author_trust(request: HttpRequest) -> HttpResponse:
    form = f.AuthorTrustForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, "curation:sources")
    raw = form.cleaned_data["author"].strip().lstrip("@")
    author = User.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    author = author or User.objects.filter(username__iexact=raw).first()
    if author is None:
        messages.error(request, f"No account “{raw}”.")
        return _back(request, "curation:sources")
    flags = {
        "trust": {"trusted": True},
        "untrust": {"trusted": False},
        "block": {"blocked": True},
        "unblock": {"blocked": False},
    }[form.cleaned_data["decision"]]
    try:
        services.author_set_trust(actor=request.user, author=author, reason=form.cleaned_data["reason"], **flags)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"@{author.username}: {form.cleaned_data['decision']} applied to future posts.")
    return _back(request, "curation:sources")


# --- audit log ------------------------------------------------------------------------------------


@permission_required(perms.PERM_AUDIT)
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    form = f.AuditFilterForm(request.GET or None)
    entries = []
    if form.is_bound and not form.is_valid():
        entries = []
    else:
        data = form.cleaned_data if form.is_bound else {}
        since, until = form.bounds() if form.is_bound else (None, None)
        entries = list(
            selectors.auditlog_list(
                actor=data.get("actor", ""),
                action=data.get("action", ""),
                target_type=data.get("target_type", ""),
                target_id=data.get("target_id", ""),
                since=since,
                until=until,
            )
        )
    for entry in entries:
        entry.can_undo = services.auditlog_can_undo(entry)
    return _render(
        request,
        "curation/audit.html",
        {"form": form, "entries": entries, "actions": selectors.auditlog_actions()},
    )


@permission_required(perms.PERM_AUDIT)
@require_POST
def audit_undo(request: HttpRequest, entry_id: int) -> HttpResponse:
    try:
        services.auditlog_undo(actor=request.user, entry=entry_id, reason=request.POST.get("reason", "")[:200])
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, f"Entry #{entry_id} undone.")
    return _back(request, "curation:audit")


# --- pipeline health ------------------------------------------------------------------------------


@permission_required(perms.PERM_HEALTH)
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    data = selectors.pipeline_health()
    per_minute = [(moment.strftime("%H:%M"), n) for moment, n in data["per_minute"]]
    backlog_rows = [(label, info["count"]) for label, info in data["backlog"].items()]
    if data["queue_depths"]:
        backlog_rows += [(f"queue {name}", depth) for name, depth in data["queue_depths"].items()]
    return _render(
        request,
        "curation/health.html",
        {
            **data,
            "ingest_chart": charts.column_chart_svg(series=per_minute, title="Posts ingested per minute, last hour"),
            "state_chart": charts.bar_chart_svg(rows=data["events_by_state"], title="Events by lifecycle state"),
            "backlog_chart": charts.bar_chart_svg(
                rows=backlog_rows, title="Pipeline backlog", highlight={label for label, _ in backlog_rows}
            ),
        },
    )
