"""Headless Chromium (Debian's package) driven by Playwright against pytest-django's live server.

Screenshots of every page visited by a test go to $PYTEST_SCREENSHOT_DIR (default
test-artifacts/screenshots, gitignored) so CI can keep them. Without /usr/bin/chromium the
tests skip locally but fail in CI (CI=true), so a broken image cannot pass silently.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test bodies still use the ORM.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
SCREENSHOT_DIR = Path(os.environ.get("PYTEST_SCREENSHOT_DIR", "test-artifacts/screenshots"))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # Printed on failure by pytest (captured stdout): what the page said, to debug a red test.
    tab.on("console", lambda message: print(f"console.{message.type}: {message.text}"))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Records what the live server would send to Celery instead of sending it.

    The browser tests commit for real (live server), so on_commit hooks fire; without this they
    would leave messages on the shared broker for another test's worker to pick up.
    """
    from prefcontent.celery import app

    sent: list[tuple] = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, **kwargs: sent.append((name, list(args or []))))
    return sent


def in_thread(target, **kwargs) -> threading.Thread:
    """Run `target(**kwargs)` as a worker would, beside the browser; closes its DB connection at the end."""
    from django.db import connection

    def work():
        try:
            target(**kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def shot(request):
    """shot(page, "name"): full-page screenshot named after the test."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)

    def take(tab, name: str) -> Path:
        path = SCREENSHOT_DIR / f"{test_name}__{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(tab, username: str, password: str) -> None:
    tab.goto("/dashboard/login/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", password)
    tab.click("button[type=submit]")
    tab.wait_for_url("**/dashboard/")
