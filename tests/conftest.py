"""Fixtures everyone uses: API clients per principal, a tiny model, a real Celery worker."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# PREFCONTENT_BASE_MODEL defaults to the dev model in tests/settings.py, read before this file.

import pytest  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from tests.factories import ApiKeyFactory, BrandFactory, MembershipFactory, OrganizationFactory  # noqa: E402
from tests.worker import CeleryWorker  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_store(settings, tmp_path):
    """Each test gets its own models store and work dir, and a fast password hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MODELS_STORE_URL = str(tmp_path / "models_store")
    settings.WORK_DIR = tmp_path / "work"
    settings.BASE_MODEL_STATUS_DIR = tmp_path / "base_model_status"
    settings.PREFCONTENT_BASE_MODEL = os.environ["PREFCONTENT_BASE_MODEL"]
    from prefcontent.core.hot_cache import hot_caches_clear

    hot_caches_clear(at_commit=False)  # a rolled-back test's rows (ids SQLite reuses) must not answer the next test


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly fires request_finished, which would close the test's connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api():
    return APIClient()


def client_for_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def client_for_key(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plaintext)
    return client


@pytest.fixture
def org(db):
    return OrganizationFactory()


@pytest.fixture
def brand(org):
    return BrandFactory(organization=org)


@pytest.fixture
def make_member(db):
    def make(org, role="owner"):
        return MembershipFactory(organization=org, role=role).user

    return make


@pytest.fixture
def owner(org, make_member):
    return make_member(org, "owner")


@pytest.fixture
def owner_client(owner):
    return client_for_user(owner)


@pytest.fixture
def make_key(db):
    def make(brand, scopes=None, **kwargs):
        return ApiKeyFactory.issue(brand=brand, scopes=scopes, **kwargs)

    return make


@pytest.fixture
def sent_tasks(monkeypatch):
    """Every task the code sends (through prefcontent.core.queue) as (name, args, options), no broker."""
    from prefcontent.celery import app

    calls: list[tuple[str, list, dict]] = []
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **options: calls.append((name, list(args), options)))
    return calls


@pytest.fixture
def broker_down(monkeypatch):
    """Every send fails as kombu does when the broker cannot be reached."""
    from kombu.exceptions import OperationalError

    from prefcontent.celery import app

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(app, "send_task", refuse)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from ml.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """A real `celery worker` subprocess on the configured broker and the test database."""
    worker = CeleryWorker(extra_env={"MODELS_STORE_URL": settings.MODELS_STORE_URL, "PREFCONTENT_WORK_DIR": str(settings.WORK_DIR)})
    worker.start()
    yield worker
    worker.stop()
