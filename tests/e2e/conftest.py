"""End-to-end tests in a real browser: Playwright for Python driving Debian's chromium.

Playwright's own browser download cannot work on this machine (no internet but the package
registries), so the browser is /usr/bin/chromium (`apt-get install chromium`; `.ci/run` installs it).
The app runs in pytest-django's live server against the test database; background work runs on a real
Celery worker sharing that database. Screenshots of the main pages are written to var/screenshots/
(ignored), or to the folder named by ATTEST_SCREENSHOTS (`make screenshots`: docs/screenshots/).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ATTEST_CHROMIUM", "/usr/bin/chromium"))
# Tests write only to ignored paths: screenshots go under var/ unless ATTEST_SCREENSHOTS names a folder
# (`make screenshots` points it at docs/screenshots to refresh the README's pictures on purpose).
SCREENSHOTS = Path(
    os.environ.get("ATTEST_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "var" / "screenshots"
)
# Flags for a headless chromium in a sandboxed CI container with no outside network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests"
        )
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
    # browser steps are ordinary synchronous code, so Django's async-safety guard is told so.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(30_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def shared_media(tmp_path, settings, monkeypatch):
    """Blobs, keys and checkpoints in per-test folders that the worker process sees too."""
    media = tmp_path / "media"
    media.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": media}},
    }
    key = tmp_path / "keys" / "audit.pem"
    settings.ATTEST_AUDIT_SIGNING_KEY = key
    settings.ATTEST_AUDIT_EXPORT_DIR = tmp_path / "checkpoints"
    for name, value in (
        ("ATTEST_MEDIA_ROOT", media),
        ("ATTEST_AUDIT_SIGNING_KEY", key),
        ("ATTEST_AUDIT_EXPORT_DIR", tmp_path / "checkpoints"),
    ):
        monkeypatch.setenv(name, str(value))
    return media


def sign_in(page, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def screenshot(page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


@pytest.fixture
def csp_refusals(page):
    """Every Content-Security-Policy refusal and script error the browser reports on this page."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen
