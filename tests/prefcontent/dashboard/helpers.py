"""Build domain data for dashboard tests through the owning apps' services (as the pages do)."""
from __future__ import annotations

from django.utils import timezone

from prefcontent.content.services import variant_create
from prefcontent.experiments import services as experiment_services
from prefcontent.experiments.ingestion import events_ingest
from prefcontent.tenancy.principal import SYSTEM


def variants(brand, *texts: str, source: str = "human"):
    return [variant_create(principal=SYSTEM, brand=brand, text=text, source=source) for text in texts]


def experiment(brand, *, name: str = "Spring headline", arms: int = 2, start: bool = False,
               challenger_source: str = "human", **fields):
    made = variants(brand, f"Headline option 0 of {name} for {brand.slug}") + variants(
        brand, *[f"Headline option {i} of {name} for {brand.slug}" for i in range(1, arms)], source=challenger_source)
    specs = [experiment_services.ArmSpec(variant=v, is_control=i == 0) for i, v in enumerate(made)]
    created = experiment_services.experiment_create(principal=SYSTEM, brand=brand, name=name, arms=specs, **fields)
    if start:
        created = experiment_services.experiment_transition(principal=SYSTEM, experiment=created, action="start")
    return created


def send_events(experiment, arm, *, impressions: int, clicks: int = 0, prefix: str = "e") -> None:
    """Impressions and clicks for `arm`, one unit each, timestamped now."""
    now = timezone.now().isoformat()
    events = [{"event_id": f"{prefix}-{arm.pk}-i{n}", "experiment": experiment.pk, "arm": arm.pk,
               "type": "impression", "unit_id": f"u{arm.pk}-{n}", "timestamp": now} for n in range(impressions)]
    events += [{"event_id": f"{prefix}-{arm.pk}-c{n}", "experiment": experiment.pk, "arm": arm.pk,
                "type": "click", "unit_id": f"u{arm.pk}-{n}", "timestamp": now} for n in range(clicks)]
    result = events_ingest(principal=SYSTEM, events=events)
    assert not result.rejected, result.rejected


def concluded_with_winner(brand, *, name: str = "Decided test", challenger_source: str = "human"):
    """An experiment whose challenger clearly won (200 vs 20 clicks of 400 readers: the always-valid rule
    tuned for a 10 % lift needs hundreds of readers even for a tenfold one), concluded."""
    from prefcontent.experiments.decisions import experiment_stop

    running = experiment(brand, name=name, start=True, min_sample_per_arm=10, challenger_source=challenger_source)
    control, challenger = running.arms.order_by("id")
    send_events(running, control, impressions=400, clicks=20, prefix=f"w{running.pk}")
    send_events(running, challenger, impressions=400, clicks=200, prefix=f"w{running.pk}")
    result = experiment_stop(principal=SYSTEM, experiment=running)
    assert result.decision.outcome == "winner"
    return result.experiment


def snapshot(brand, *, name: str = "snap"):
    """A dataset snapshot of one usable pair (from a decided experiment), through the preferences services."""
    from prefcontent.preferences.building import pairs_build
    from prefcontent.preferences.snapshots import snapshot_create

    decided = concluded_with_winner(brand, name=f"for {name}")
    pairs_build(experiment_ids=[decided.pk])
    return snapshot_create(principal=SYSTEM, brand=brand, name=name, holdout_fraction=0)


GATE_PASSED = {"passed": True, "reasons": [], "summary": {"samples": {"base": ["Base copy"], "adapter": ["Tuned copy"]}},
               "checks": [{"name": "reward_accuracy", "value": 0.71, "threshold": 0.55, "comparator": ">=",
                           "passed": True, "detail": "ok"}]}
GATE_FAILED = {"passed": False, "reasons": ["reward_accuracy: fails"], "summary": {},
               "checks": [{"name": "reward_accuracy", "value": 0.41, "threshold": 0.55, "comparator": ">=",
                           "passed": False, "detail": "fails"}]}


def adapter(brand, version: int, status: str, *, report=None, base_model_id: str | None = None):
    """An adapter version as the training runner publishes it: files in the models store, then the row.

    Trained on the configured base model unless `base_model_id` names another.
    """
    import tempfile
    from pathlib import Path

    from django.conf import settings

    from models_store import get_store
    from prefcontent.adapters.models import AdapterVersion
    from prefcontent.core.knobs import base_model_path

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "adapter_config.json").write_text(f'{{"r": 8, "version": {version}}}')
        ref = get_store(settings.MODELS_STORE_URL).put_dir(Path(tmp), f"brands/{brand.pk}/adapters/v{version}")
    return AdapterVersion.objects.create(
        brand=brand, version=version, status=status, artifact_key=ref.key,
        sha256=ref.sha256, base_model_id=base_model_id or base_model_path(), eval_report=report if report is not None else GATE_PASSED,
        model_card=f"# {brand.name} copy adapter v{version}\n", promoted_at=timezone.now() if status == "active" else None,
    )
