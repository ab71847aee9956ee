"""Explore pages. Thin: reads come from trends.site / selectors, writes go through trends.services.

Every interactive piece is a plain link or form first; htmx requests get a partial template
(`_name.html`) instead of the whole page, so the site works the same with JavaScript off.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from trends import pages, selectors, services, site
from trends.forms import ComposeForm, SearchForm
from trends.models import Event, EventState

logger = logging.getLogger(__name__)

EVENT_POSTS_PAGE = 20
IMPRESSION_BATCH_MAX = 50
MAX_ID = 2**63 - 1
DIGITS = re.compile(r"[0-9]{1,19}")  # database integers stop here; bigger ids in URLs or forms simply do not exist
SURFACES = {"for_you", "trending", "topic", "event", "search"}


def _int(value, default: int = 1, lo: int = 1, hi: int = site.MAX_PAGE) -> int:
    try:
        return max(lo, min(hi, int(value)))
    except (TypeError, ValueError):
        return default


def _htmx(request: HttpRequest) -> bool:
    """An htmx swap that wants a partial; a history-restore request needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _vary(response: HttpResponse) -> HttpResponse:
    # Full page and partial share a URL: caches must key on the htmx header.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """A same-site path to go back to; anything else (other hosts, schemes, view names) gets the fallback."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and "\x00" not in target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    ):
        return target
    return fallback


def rate_limited_response(request: HttpRequest, exc: site.RateLimited, what: str) -> HttpResponse:
    minutes = max(1, round(exc.retry_after / 60))
    response = render(
        request,
        "rate_limited.html",
        {"what": what, "retry_after": exc.retry_after, "minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


# --- Explore home ----------------------------------------------------------------------------------


def _tab(request: HttpRequest) -> str:
    default = "for-you" if request.user.is_authenticated else "trending"
    tab = request.GET.get("tab") or default
    if tab not in site.TAB_SLUGS or (tab == "for-you" and not request.user.is_authenticated):
        tab = default
    return tab


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # A plain For You request with a stored page never gets here: trends.pages.middleware answers it.
    tab = _tab(request)
    page = _int(request.GET.get("page"))
    everywhere = request.GET.get("scope") == "all"
    fresh = request.GET.get("fresh") == "1"
    if _htmx(request):
        context = site.explore_context(user=request.user, tab=tab, page=page, everywhere=everywhere, fresh=fresh)
        template = "trends/_feed_page.html" if request.htmx.target == "feed-more" else "trends/_explore.html"
        return _vary(render(request, template, context))
    if tab == "for-you" and page == 1 and not everywhere and pages.page_storable(request=request):
        html = pages.page_build(request=request, fresh=fresh)
        return _vary(pages.page_response(request=request, html=html))
    context = site.explore_context(user=request.user, tab=tab, page=page, everywhere=everywhere, fresh=fresh)
    context["next_path"] = request.get_full_path()
    shared_query = pages.tab_page_query(request=request)
    if shared_query is not None and page == 1 and not everywhere:
        # The "show new events" request stores the plain page: it must not link back to itself.
        context["next_path"] = f"{request.path}?{shared_query}" if shared_query else request.path
        html = pages.tab_page_store(request=request, query=shared_query, context=context)
        return _vary(pages.page_response(request=request, html=html, shared=True))
    return _vary(render(request, "trends/home.html", context))


@require_GET
def new_events(request: HttpRequest) -> HttpResponse:
    """Polled by the "N new events" banner every 30 s: a tiny fragment, one COUNT query."""
    tab = _tab(request)
    if not _htmx(request):
        return redirect(reverse("trends:home") + f"?tab={tab}")
    now = timezone.now()
    since_ts = _int(request.GET.get("since"), default=0, lo=0, hi=int(now.timestamp()))
    since = dt.datetime.fromtimestamp(since_ts, tz=dt.UTC) if since_ts else now
    count = site.new_events_count(since=since, category=site.TAB_CATEGORY.get(tab))
    return render(request, "trends/_new_banner.html", {"tab": tab, "since": int(since.timestamp()), "count": count})


IMPRESSION_TOKEN_MAX_AGE = 3600
# A 1x1 transparent GIF: what the no-JavaScript impression pixel answers with.
PIXEL_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _log_impressions(user, *, ids: list[int], offset: int, surface: str, variant: str) -> None:
    """One engagement_log_batch call for every card a page showed. Raises ValidationError.

    Best effort: impressions are analytics, so a momentarily busy database loses this batch
    instead of failing the request.
    """
    surface = surface if surface in SURFACES else ""
    items = [
        {"kind": "impression", "event_id": pk, "position": offset + i, "surface": surface, "variant": variant[:64]}
        for i, pk in enumerate(ids[:IMPRESSION_BATCH_MAX])
    ]
    if not items:
        return
    try:
        services.engagement_log_batch(user=user, items=items)
    except OperationalError:
        logger.warning("impressions dropped: database busy", exc_info=True)


@require_POST
def impressions(request: HttpRequest) -> HttpResponse:
    """Batched impression beacon (htmx, on load): one insert for all cards a page showed."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    ids = []
    for raw in request.POST.getlist("e")[:IMPRESSION_BATCH_MAX]:
        # ASCII digits only: str.isdigit() also accepts "²", which int() rejects.
        if DIGITS.fullmatch(raw) and int(raw) <= MAX_ID:
            ids.append(int(raw))
    offset = _int(request.POST.get("offset"), default=0, lo=0, hi=999 - IMPRESSION_BATCH_MAX)
    try:
        _log_impressions(
            request.user,
            ids=ids,
            offset=offset,
            surface=request.POST.get("surface", ""),
            variant=request.POST.get("variant", ""),
        )
    except ValidationError as exc:
        return HttpResponse(f"Rejected: {'; '.join(exc.messages)}", status=400, content_type="text/plain")
    return HttpResponse(status=204)


@require_GET
def impressions_pixel(request: HttpRequest) -> HttpResponse:
    """The same beacon for browsers without JavaScript: a signed, single-use <noscript> image."""
    token = request.GET.get("t", "")
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    if not request.user.is_authenticated:
        return response
    try:
        payload = signing.loads(token, salt=site.IMPRESSION_SALT, max_age=IMPRESSION_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return response
    digest = hashlib.sha256(token.encode()).hexdigest()
    # Single use: a reloaded or replayed pixel does not count the same page twice.
    if payload.get("u") != request.user.pk or not cache.add(f"px:{digest}", 1, IMPRESSION_TOKEN_MAX_AGE):
        return response
    with contextlib.suppress(ValidationError):  # an event deleted since the render: nothing to count
        _log_impressions(
            request.user,
            ids=[int(i) for i in payload.get("e", [])],
            offset=int(payload.get("o", 0)),
            surface=str(payload.get("s", "")),
            variant=str(payload.get("v", "")),
        )
    return response


def _feedback(request: HttpRequest, event_id: int, *, report: bool) -> HttpResponse:
    event = Event.objects.filter(pk=event_id).first() if event_id <= MAX_ID else None
    if event is None:
        raise Http404("No such event")
    surface = request.POST.get("surface", "")
    surface = surface if surface in SURFACES else ""
    if report:
        services.event_report(user=request.user, event=event, surface=surface)
    else:
        services.event_dismiss(user=request.user, event=event, surface=surface)
    site.feed_invalidate(user=request.user)
    if _htmx(request):
        # Nothing is swapped over the card, which removes it in place; screen readers hear why.
        return render(request, "trends/_feedback_status.html", {"event": event, "report": report})
    messages.success(
        request,
        "Thanks — reported. You won't see this event again." if report else "Got it. You won't see this event again.",
    )
    return HttpResponseRedirect(_safe_next(request, reverse("trends:home")))


@login_required
@require_POST
def event_dismiss(request: HttpRequest, event_id: int) -> HttpResponse:
    return _feedback(request, event_id, report=False)


@login_required
@require_POST
def event_report(request: HttpRequest, event_id: int) -> HttpResponse:
    return _feedback(request, event_id, report=True)


# --- event page ------------------------------------------------------------------------------------


def _log_click(request: HttpRequest, event: Event) -> None:
    surface = request.GET.get("src", "")
    if not request.user.is_authenticated or surface not in SURFACES:
        return
    position = _int(request.GET.get("pos"), default=0, lo=0, hi=999)
    # A bad click record, or a momentarily busy database, never stops the page.
    with contextlib.suppress(ValidationError, OperationalError):
        services.engagement_log_batch(
            user=request.user,
            items=[{"kind": "click", "event_id": event.pk, "surface": surface, "position": position}],
        )


def _merged_target(event_id: int, max_hops: int = 5) -> int | None:
    """The public event a merged event ended up in, following a short merge chain."""
    current = event_id
    for _ in range(max_hops):
        row = Event.objects.filter(pk=current, state=EventState.MERGED).values_list("merged_into_id", flat=True).first()
        if row is None:
            break
        current = row
    if current == event_id or selectors.event_get_public(event_id=current) is None:
        return None
    return current


@require_GET
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    if event_id > MAX_ID:
        raise Http404("No such event")
    event = selectors.event_get_public(event_id=event_id)
    if event is None:
        # A merged event lives on in the one it was folded into: old links keep working.
        target = _merged_target(event_id)
        if target is None:
            raise Http404("No such event")
        return redirect("trends:event-detail", event_id=target)
    order = "latest" if request.GET.get("order") == "latest" else "top"
    page = _int(request.GET.get("page"))
    posts = selectors.event_tweets(
        event=event, order=order, limit=EVENT_POSTS_PAGE + 1, offset=(page - 1) * EVENT_POSTS_PAGE
    )
    context = {
        "event": event,
        "order": order,
        "page": page,
        "posts": posts[:EVENT_POSTS_PAGE],
        "has_next": len(posts) > EVENT_POSTS_PAGE,
    }
    if _htmx(request) and request.htmx.target == "event-posts":
        return _vary(render(request, "trends/_event_posts.html", context))
    _log_click(request, event)
    context.update(site.event_page_parts(event=event))
    if pages.event_page_storable(request=request):
        html = pages.event_page_store(request=request, event_id=event.pk, context=context)
        return _vary(pages.page_response(request=request, html=html, shared=True))
    return _vary(render(request, "trends/event_detail.html", context))


# --- search ----------------------------------------------------------------------------------------


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    params = form.cleaned() if request.GET else {"q": "", "mode": "words", "type": "all", "page": 1}
    results = None
    if params["q"]:
        results = site.search(query=params["q"], mode=params["mode"], kind=params["type"], page=params["page"])
    context = {"form": form if request.GET else SearchForm(), "params": params, "results": results}
    if _htmx(request) and request.htmx.target == "search-results":
        return _vary(render(request, "trends/_search_results.html", context))
    return _vary(render(request, "trends/search.html", context))


# --- compose ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "trends/compose.html", {"compose_form": ComposeForm()})
    form = ComposeForm(request.POST)
    if form.is_valid():
        try:
            site.rate_limit_check(bucket="post", ident=f"user:{request.user.pk}")
        except site.RateLimited as exc:
            return rate_limited_response(request, exc, "posting")
        # The concrete User, not the request's lazy wrapper: services may use type(author).
        user = getattr(request.user, "_wrapped", request.user)
        try:
            services.tweet_create(
                author=user,
                data={
                    "text": form.cleaned_data["text"],
                    "lang": user.languages[0] if user.languages else "",
                    "location": user.location,
                },
                source="web",
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error("text" if field in {"text", "__all__"} else None, errors)
        else:
            messages.success(request, "Posted. It will join matching events in a moment.")
            return redirect("trends:profile", handle=user.username)
    return render(request, "trends/compose.html", {"compose_form": form}, status=400)
