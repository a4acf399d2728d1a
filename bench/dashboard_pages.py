"""Server time of each dashboard page with the demo data (`manage.py seed_demo`).

Creates a throwaway database (DATABASE_URL's server, named test_dashboard_bench), seeds the
demo, adds a working brand's volume on top (`populate`: experiments with thousands of events,
decisions, preference pairs, a snapshot, a retrain policy, training runs with 300-step metric
histories and adapter versions with full gate reports), logs in as the demo user and requests every page
through Django's test client: the time is the whole server side (middleware, queries,
templates), without a network. The baseline measured in the same run is the login page, which
renders a template and runs no query. Prints `dashboard_<page>_ms=<median>` and
`dashboard_<page>_queries=<n>` lines.

    DATABASE_URL=postgres://... python bench/dashboard_pages.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django

django.setup()

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, get_runner
from django.urls import reverse

BUDGET_MS = 300.0


EXPERIMENTS, ARMS, IMPRESSIONS_PER_ARM, DECIDED = 12, 3, 1500, 8
RUNS, STEPS, ADAPTERS = 6, 300, 5


def populate(brand) -> dict[str, int]:
    """A busy brand, built through the apps' services where they exist; returns ids for detail pages."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from prefcontent.adapters.models import AdapterVersion
    from prefcontent.content.services import variant_create
    from prefcontent.experiments import services as experiment_services
    from prefcontent.experiments.decisions import experiment_decide, experiment_stop
    from prefcontent.experiments.ingestion import events_ingest
    from prefcontent.experiments.models import Experiment
    from prefcontent.preferences.building import pairs_build
    from prefcontent.preferences.snapshots import snapshot_create
    from prefcontent.tenancy.principal import SYSTEM
    from prefcontent.training.models import TrainingRun
    from prefcontent.training.policies import retrain_policy_create

    rng = random.Random(0)
    start = timezone.now() - timedelta(hours=6)
    live = None
    for e in range(EXPERIMENTS):
        variants = [variant_create(principal=SYSTEM, brand=brand, source="generated" if a else "human",
                                   text=f"Headline {e}.{a}: walk further in {rng.choice(['dry', 'light', 'warm'])} shoes")
                    for a in range(ARMS)]
        exp = experiment_services.experiment_create(
            principal=SYSTEM, brand=brand, name=f"Headline test {e}", min_sample_per_arm=500,
            arms=[experiment_services.ArmSpec(variant=v, is_control=i == 0) for i, v in enumerate(variants)])
        exp = experiment_services.experiment_transition(principal=SYSTEM, experiment=exp, action="start")
        Experiment.objects.filter(pk=exp.pk).update(started_at=start)  # six hours of history for the charts
        for index, arm in enumerate(exp.arms.order_by("id")):
            # Decided ones: the first generated arm wins clearly. The rest stay running (no winner yet),
            # so their pages analyse live counters on every request.
            rate = (0.03, 0.08, 0.045)[index] if e < DECIDED else 0.05
            events = []
            for n in range(IMPRESSIONS_PER_ARM):
                at = (start + timedelta(seconds=rng.uniform(0, 6 * 3600))).isoformat()
                unit = f"u{arm.pk}-{n}"
                events.append({"event_id": f"i{arm.pk}-{n}", "experiment": exp.pk, "arm": arm.pk,
                               "type": "impression", "unit_id": unit, "timestamp": at})
                if rng.random() < rate:
                    events.append({"event_id": f"c{arm.pk}-{n}", "experiment": exp.pk, "arm": arm.pk,
                                   "type": "click", "unit_id": unit, "timestamp": at})
            for chunk in range(0, len(events), 1000):
                events_ingest(principal=SYSTEM, events=events[chunk:chunk + 1000])
        if e < DECIDED:
            experiment_stop(principal=SYSTEM, experiment=exp)
        else:
            experiment_decide(principal=SYSTEM, experiment=exp)
            live = exp
    pairs_build(experiment_ids=list(Experiment.objects.filter(brand=brand).values_list("pk", flat=True)))
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, name="bench", holdout_fraction=0.1)
    retrain_policy_create(principal=SYSTEM, brand=brand, values={"cron": "0 3 * * 1", "threshold_pairs": 50})
    runs = []
    for r in range(RUNS):  # rows as the runner leaves them (training itself is not what is measured)
        metrics = [{"step": s, "loss": 0.69 * 0.995 ** s, "reward_accuracy": min(1.0, 0.5 + s / 600),
                    "holdout_reward_accuracy": 0.5 + s / 900} for s in range(1, STEPS + 1)]
        runs.append(TrainingRun.objects.create(brand=brand, snapshot=snapshot, base_model_id="bench-base",
                                               state="succeeded" if r else "running", step=STEPS, total_steps=STEPS,
                                               metrics=metrics, holdout={"reward_accuracy": 0.7, "pairs": 40}))
    checks = [{"name": f"check_{c}", "value": 0.5 + c / 20, "threshold": 0.5, "comparator": ">=", "passed": True,
               "detail": "ok"} for c in range(8)]
    adapters = [AdapterVersion.objects.create(
        brand=brand, version=v + 1, status="active" if v == ADAPTERS - 1 else "retired",
        artifact_key=f"bench/{v}", sha256="0" * 64, base_model_id="bench-base", run=runs[v + 1] if v + 1 < RUNS else None,
        eval_report={"passed": True, "reasons": [], "checks": checks, "summary": {}}, model_card="# card\n" * 40)
        for v in range(ADAPTERS)]
    return {"experiment": live.pk, "run": runs[0].pk, "adapter": adapters[-1].pk,
            "pairs": snapshot.counts["pairs"]}


def pages(ids: dict[str, int]) -> dict[str, str]:
    """Every GET page, and one detail page of each kind with the bench's data."""
    return {
        "overview": reverse("dashboard:overview"),
        "settings": reverse("dashboard:settings"),
        "experiments": reverse("dashboard:experiments"),
        "experiment_detail": reverse("dashboard:experiment_detail", args=[ids["experiment"]]),
        "experiment_stats_fragment": reverse("dashboard:experiment_stats", args=[ids["experiment"]]),
        "preferences": reverse("dashboard:preferences"),
        "training": reverse("dashboard:training"),
        "training_run": reverse("dashboard:training_run", args=[ids["run"]]),
        "adapters": reverse("dashboard:adapters"),
        "adapter_detail": reverse("dashboard:adapter_detail", args=[ids["adapter"]]),
        "generate": reverse("dashboard:generate"),
    }


def measure(client: Client, url: str, repeats: int) -> tuple[float, int]:
    client.get(url)  # warm caches, template loaders
    times = []
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    query_count = len(queries.captured_queries)
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), query_count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5 requests per page instead of 30")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30

    # No setup_test_environment(): it instruments template rendering and would inflate the times.
    # Its own database name, so the bench never collides with a test run on the same server.
    django.conf.settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = "test_dashboard_bench"
    runner = get_runner(django.conf.settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    try:
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", stdout=quiet)
        client = Client()
        from prefcontent.accounts.management.commands.seed_demo import (
            DEMO_PASSWORD,
            DEMO_USER,
        )
        from prefcontent.brands.models import Brand

        ids = populate(Brand.objects.get(organization__slug="demo", slug="acme-outdoor"))

        assert client.login(username=DEMO_USER, password=DEMO_PASSWORD)
        baseline, _ = measure(Client(), reverse("dashboard:login"), repeats)
        print(f"dashboard_bench_usable_pairs={ids['pairs']}")
        print(f"dashboard_baseline_login_ms={baseline:.1f}")
        worst = 0.0
        for label, url in pages(ids).items():
            ms, queries = measure(client, url, repeats)
            worst = max(worst, ms)
            print(f"dashboard_{label}_ms={ms:.1f}")
            print(f"dashboard_{label}_queries={queries}")
        print(f"dashboard_slowest_page_ms={worst:.1f}")
        print(f"dashboard_pages_within_{int(BUDGET_MS)}ms={int(worst <= BUDGET_MS)}")
    finally:
        runner.teardown_databases(old_config)


if __name__ == "__main__":
    main()
