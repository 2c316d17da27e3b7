"""Settings come from the environment and a bad value stops the process with the variable's name."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "ATTEST_ENV": "production",
    "SECRET_KEY": "9f$kq2!vLz8@pW3#rT6^yB1&nM4*cX7(hJ0)dG5-sA8+eU2=oI9",
    "ALLOWED_HOSTS": "attest.example.com",
    "DATABASE_URL": "postgres://attest@db.example.com:5432/attest",
    "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
}


def load_settings(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION and key != "DEBUG"}
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_starts_with_complete_production_values():
    result = load_settings(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_it_refuses_production_without_a_required_variable(missing):
    result = load_settings(**{**PRODUCTION, missing: None})
    assert result.returncode != 0
    assert missing in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_it_refuses_a_bad_boolean_naming_the_variable(value):
    result = load_settings(DEBUG=value)
    assert result.returncode != 0
    assert f"DEBUG={value!r} is not a boolean" in result.stderr


def test_it_refuses_a_short_secret_key_in_production():
    result = load_settings(**{**PRODUCTION, "SECRET_KEY": "short"})
    assert "SECRET_KEY must be at least 50 characters" in result.stderr


def test_it_refuses_demo_mode_in_production():
    result = load_settings(**PRODUCTION, ATTEST_DEMO="1")
    assert "ATTEST_DEMO=1 is refused" in result.stderr


def test_it_refuses_a_non_postgres_database_url():
    result = load_settings(DATABASE_URL="sqlite:///db.sqlite3")
    assert "DATABASE_URL must be a postgres:// URL" in result.stderr


def test_it_refuses_a_bad_integer_naming_the_variable():
    result = load_settings(ATTEST_MAX_ARTIFACT_BYTES="lots")
    assert "ATTEST_MAX_ARTIFACT_BYTES='lots' is not an integer" in result.stderr


def test_check_deploy_is_clean_with_production_values():
    env = {**os.environ, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DEBUG", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their own process
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_a_value_beyond_its_range_naming_the_variable():
    result = load_settings(ATTEST_CHECK_MAX_ATTEMPTS="1000")
    assert result.returncode != 0
    assert "ATTEST_CHECK_MAX_ATTEMPTS=1000 must be at most 100" in result.stderr


def test_job_and_check_settings_are_read_once_with_the_rest():
    """No module reads these from the environment later: settings.py holds them, with one default each."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.ATTEST_THRESHOLD_PROVIDERS, settings.ATTEST_CHECK_LEASE_SECONDS, "
        "settings.ATTEST_JOB_RESEND_SECONDS, settings.ATTEST_SANDBOX_SECONDS)"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ATTEST_CHECK_", "ATTEST_JOB_", "ATTEST_SANDBOX_"))
    }
    env.pop("ATTEST_THRESHOLD_PROVIDERS", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "ATTEST_CHECK_LEASE_SECONDS": "7"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['workflow.thresholds.policy_thresholds']", "7", "600", "900"]
