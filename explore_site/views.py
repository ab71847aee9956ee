from django.http import HttpRequest, HttpResponse


def ping(request: HttpRequest) -> HttpResponse:
    """The cheapest possible Django response: the ceiling that serving benchmarks compare against."""
    return HttpResponse("ok", content_type="text/plain")
