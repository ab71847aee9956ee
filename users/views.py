"""Account pages: sign up, log in/out, settings, profiles and follows. Writes go through users.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from trends import site
from trends.forms import ComposeForm
from trends.models import Tweet
from trends.views import rate_limited_response
from users import services
from users.forms import LoginForm, SettingsForm, SignupForm
from users.models import HANDLE_VALIDATOR, Follow, User

PROFILE_PAGE = 20
HANDLE_RE = HANDLE_VALIDATOR.regex


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("trends:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        try:
            site.rate_limit_check(bucket="signup", ident=site.client_ip(request))
        except site.RateLimited as exc:
            return rate_limited_response(request, exc, "creating accounts")
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.user_create(
                    handle=data["handle"],
                    password=data["password"],
                    email=data["email"],
                    display_name=data["display_name"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome, @{user.username}! Pick topics to tune your Explore tab.")
                return redirect("users:settings")
        return render(request, "users/signup.html", {"form": form}, status=400)
    return render(request, "users/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    template_name = "users/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # Per address: slows password guessing without letting anyone lock a victim's account.
        try:
            site.rate_limit_check(bucket="login", ident=site.client_ip(request))
        except site.RateLimited as exc:
            return rate_limited_response(request, exc, "logging in")
        return super().post(request, *args, **kwargs)


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    form = SettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            site.feed_invalidate(user=request.user)
            messages.success(request, "Settings saved.")
            return redirect("users:settings")
        return render(request, "users/settings.html", {"form": form}, status=400)
    return render(request, "users/settings.html", {"form": form})


def _profile_user(handle: str) -> User:
    handle = handle.lstrip("@")
    if not HANDLE_RE.fullmatch(handle):
        raise Http404("No such account")
    user = User.objects.filter(username__iexact=handle, is_active=True).first()
    if user is None:
        raise Http404("No such account")
    return user


def profile(request: HttpRequest, handle: str) -> HttpResponse:
    owner = _profile_user(handle)
    try:
        page = max(1, min(50, int(request.GET.get("page", 1))))
    except ValueError:
        page = 1
    posts = list(
        Tweet.objects.filter(author=owner, is_deleted=False)
        .order_by("-created_at", "-id")
        .select_related("author")[(page - 1) * PROFILE_PAGE : page * PROFILE_PAGE + 1]
    )
    is_self = request.user.is_authenticated and request.user.pk == owner.pk
    following = (
        request.user.is_authenticated
        and not is_self
        and Follow.objects.filter(follower=request.user, followee=owner).exists()
    )
    context = {
        "owner": owner,
        "posts": posts[:PROFILE_PAGE],
        "has_next": len(posts) > PROFILE_PAGE,
        "page": page,
        "is_self": is_self,
        "following": following,
        "compose_form": ComposeForm() if is_self else None,
    }
    if getattr(request, "htmx", False) and request.htmx.target == "profile-more":
        return render(request, "users/_profile_posts.html", context)
    return render(request, "users/profile.html", context)


def _follow_change(request: HttpRequest, handle: str, *, follow: bool) -> HttpResponse:
    owner = _profile_user(handle)
    if owner.pk == request.user.pk:
        messages.error(request, "You cannot follow yourself.")
        return redirect("trends:profile", handle=owner.username)
    if follow:
        services.follow_create(follower=request.user, followee=owner)
    else:
        services.follow_delete(follower=request.user, followee=owner)
    # Social proof feeds For You: the next render should reflect the new follow graph.
    site.feed_invalidate(user=request.user)
    if getattr(request, "htmx", False):
        owner.refresh_from_db(fields=["followers_count"])
        return render(request, "users/_follow_button.html", {"owner": owner, "following": follow})
    return redirect("trends:profile", handle=owner.username)


@login_required
@require_POST
def follow(request: HttpRequest, handle: str) -> HttpResponse:
    return _follow_change(request, handle, follow=True)


@login_required
@require_POST
def unfollow(request: HttpRequest, handle: str) -> HttpResponse:
    return _follow_change(request, handle, follow=False)
