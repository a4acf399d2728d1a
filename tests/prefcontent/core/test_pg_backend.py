"""prefcontent.core.pg: a connection that just served a request is not pinged again; an idle one is."""
from __future__ import annotations

import pytest
from django.db import connections

from prefcontent.core.pg import base

connection = connections["default"]


@pytest.fixture
def pings(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL backend")
    assert isinstance(connection, base.DatabaseWrapper)
    calls = []
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: calls.append(1) or real())
    now = [1000.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: now[0])
    return calls, now


def _request() -> None:
    """What Django does around a request: check the connection at start and end, one query between."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close_if_unusable_or_obsolete()


def _fresh() -> None:
    """A connection that has not served a request yet."""
    connection.ensure_connection()
    connection.close_if_unusable_or_obsolete()
    connection._healthy_at = float("-inf")


@pytest.mark.django_db(transaction=True)
def test_a_warm_connection_skips_the_ping_and_an_idle_one_is_pinged(pings, settings):
    calls, now = pings
    settings.DB_HEALTH_CHECK_IDLE_S = 1.0
    _fresh()
    _request()
    assert len(calls) == 1  # never served a request: pinged
    now[0] += 0.5
    _request()
    assert len(calls) == 1  # served one half a second ago: trusted
    now[0] += 1.5
    _request()
    assert len(calls) == 2  # idle past the limit: pinged again


@pytest.mark.django_db(transaction=True)
def test_a_connection_broken_in_a_request_is_closed_when_it_ends(pings, monkeypatch):
    calls, _ = pings
    _fresh()
    _request()
    connection.close_if_unusable_or_obsolete()
    with pytest.raises(Exception), connection.cursor() as cursor:  # noqa: B017 - any database error
        cursor.execute("SELECT * FROM no_such_table")
    monkeypatch.setattr(connection, "is_usable", lambda: calls.append(1) and False)  # the server went away
    connection.close_if_unusable_or_obsolete()  # the end of that request: errors occurred, so it is checked
    assert len(calls) == 2 and connection.connection is None
    assert connection._healthy_at == float("-inf")  # a new connection earns trust by serving a request
