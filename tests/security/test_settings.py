"""Production configuration: secrets required, deploy checks clean, cookies and HSTS, password rules."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str], code: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_", "METRICS_", "CACHE_URL"))}
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120)


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "example.org",
}
SETTINGS_DUMP = (
    "import django, json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'explore_site.settings'); "
    "django.setup(); from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in ["
    "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', "
    "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS', "
    "'SESSION_COOKIE_SAMESITE', 'ALLOWED_HOSTS']}))"
)


@pytest.mark.slow
def test_secret_key_required_in_production_with_one_readable_line():
    result = run_manage("check", env={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "DJANGO_SECRET_KEY" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.slow
def test_development_secret_key_refused_in_production():
    from explore_site.settings.security import DEV_SECRET_KEY

    result = run_manage("check", env={"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": DEV_SECRET_KEY})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_production_overlay_is_clean_and_refuses_the_embedded_shape():
    overlay = {**PRODUCTION, "DJANGO_SETTINGS_MODULE": "explore_site.settings.production"}
    shaped = {
        **overlay,
        "DATABASE_URL": "postgres://explore@db.internal:5432/explore",
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
        "CACHE_URL": "redis://redis.internal:6379/1",
    }
    ok = run_manage("check", "--deploy", "--fail-level", "WARNING", env=shaped)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = run_manage("check", env={**overlay, "CACHE_URL": ""})  # SQLite, no broker, per-process cache
    assert refused.returncode != 0
    assert all(name in refused.stderr for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"))
    assert "Traceback" not in refused.stderr


@pytest.mark.slow
def test_production_cookie_hsts_and_framing_settings():
    result = run_manage(env=PRODUCTION, code=SETTINGS_DUMP)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] and values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert values["ALLOWED_HOSTS"] == ["example.org"]


@pytest.mark.django_db
def test_secure_responses_carry_hsts_and_secure_cookies(client, settings):
    from tests.factories import UserFactory

    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    UserFactory(username="hsts_user")
    response = client.post(
        "/accounts/login/", {"username": "hsts_user", "password": "correct-horse-battery"}, secure=True
    )
    assert response.status_code == 302
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    page = client.get("/", secure=True)
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"


def test_password_validators_are_active():
    names = {v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert {"MinimumLengthValidator", "CommonPasswordValidator", "NumericPasswordValidator",
            "UserAttributeSimilarityValidator"} <= names
    for weak in ("short", "password", "12345678901", "qwertyuiop"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("harbour-lantern-quietly-47")


@pytest.mark.django_db
def test_signup_refuses_weak_passwords_and_stores_nothing(client):
    from users.models import User

    for weak in ("password", "12345678", "alice_w0nder"):
        response = client.post("/accounts/signup/", {"handle": "alice_w0nder", "password": weak})
        assert response.status_code == 400, weak
        assert not User.objects.filter(username__iexact="alice_w0nder").exists()


@pytest.mark.django_db
def test_api_registration_refuses_weak_passwords(client):
    from users.models import User

    response = client.post(
        "/api/v1/auth/register", {"handle": "bob_builder", "password": "password"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "password" in json.dumps(response.json())
    assert not User.objects.filter(username__iexact="bob_builder").exists()
