"""Dashboard test helpers: a logged-in Django test client per person."""
from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import MembershipFactory


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def member(db):
    """make a user with `role` in `org` and return (user, logged-in client)."""

    def make(org, role="owner"):
        user = MembershipFactory(organization=org, role=role).user
        return user, logged_in(user)

    return make
