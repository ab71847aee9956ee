from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from trends import selectors


def home(request: HttpRequest) -> HttpResponse:
    events = selectors.event_list_trending(limit=30)
    return render(request, "trends/home.html", {"events": events})


def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = selectors.event_get_public(event_id=event_id)
    if event is None:
        raise Http404("No such event")
    order = "latest" if request.GET.get("order") == "latest" else "top"
    tweets = selectors.event_tweets(event=event, order=order, limit=50)
    return render(request, "trends/event_detail.html", {"event": event, "tweets": tweets, "order": order})
