"""The Celery app's wiring: every name it routes or schedules, and every name a service sends, is a task."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from prefcontent.celery import BEAT_SCHEDULE, ROUTES, app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def registered() -> set[str]:
    app.autodiscover_tasks(force=True)
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_task_names_are_app_dot_verb_and_live_in_their_app(registered):
    for name in registered:
        app_label, _, verb = name.partition(".")
        assert verb and "." not in verb, name
        module = app.tasks[name].__module__
        assert module == f"prefcontent.{app_label}.tasks", (name, module)


def test_every_routed_and_scheduled_name_is_a_task(registered):
    assert set(ROUTES) <= registered
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= registered


def _task_name_constants() -> dict[str, str]:
    """NAME_TASK = "..." constants declared in the services modules (what services send)."""
    found = {}
    for path in (ROOT / "prefcontent").rglob("*.py"):
        if path.name == "tasks.py" or "migrations" in path.parts:
            continue
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id.endswith("_TASK") and isinstance(node.value, ast.Constant)):
                found[f"{path.relative_to(ROOT)}:{node.targets[0].id}"] = node.value.value
    return found


def test_every_task_name_a_service_sends_is_registered(registered):
    constants = _task_name_constants()
    assert len(constants) >= 5  # run_execute, run_job, shard_heartbeat, build_pairs, policy fire
    missing = {where: name for where, name in constants.items() if name not in registered}
    assert not missing


def test_every_task_is_scheduled_or_sent_by_product_code(registered):
    """A task nothing schedules or sends is dead code (a worker would never run it)."""
    sent = set(_task_name_constants().values()) | {entry["task"] for entry in BEAT_SCHEDULE.values()}
    # Sent from outside the product code, on purpose:
    probes = {"core.ping"}  # readiness probe: a worker consumed the broker and reached the database
    assert not registered - sent - probes
