"""Reading /metrics around real traffic: what a test compares is the scrape an operator would see."""
from __future__ import annotations

from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client=None, **headers) -> dict[tuple[str, tuple], float]:
    response = (client or APIClient()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def change_since(before: dict[tuple[str, tuple], float]) -> Callable[..., float]:
    """Scrape now; return delta(name, **labels) = value now - value in `before` (absent counts as 0)."""
    after = scrape()

    def delta(name: str, **labels) -> float:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    return delta
