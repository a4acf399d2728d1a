"""The closed loop's plumbing, end to end on a tiny model: generate, test, decide, pair, train, gate, measure."""
import json

import pytest
from django.core.management import call_command

from tests.worker import CeleryWorker

# A random tiny model cannot earn a promotion on four imported tests; the gate is opened so that the
# plumbing after it (promotion, best_of generation with the adapter) is exercised too.
OPEN_GATE = {"min_reward_accuracy": 0.0, "significance_alpha": 1.01, "compliance_tolerance": 1.0,
             "min_diversity_ratio": 0.0, "min_length_ratio": 0.0, "max_length_ratio": 1e9,
             "max_chosen_logp_drop": 1e9, "min_changed_fraction": 0.0}


@pytest.mark.slow
def test_simulate_smoke_runs_every_stage(transactional_db, settings, tiny_model_dir, tmp_path):
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    settings.ADAPTER_GATE = OPEN_GATE
    worker = CeleryWorker(extra_env={"PREFCONTENT_BASE_MODEL": str(tiny_model_dir),
                                     "MODELS_STORE_URL": settings.MODELS_STORE_URL,
                                     "PREFCONTENT_WORK_DIR": str(settings.WORK_DIR),
                                     "ADAPTER_GATE": json.dumps(OPEN_GATE)})
    worker.start()
    try:
        report_path = tmp_path / "sim" / "report.json"
        call_command("simulate", "--smoke", "--external-workers", "--base", str(tiny_model_dir),
                     "--report", str(report_path))
    finally:
        worker.stop()
    report = json.loads(report_path.read_text())
    (brand,) = report["brands"].values()
    assert [r["round"] for r in brand["rounds"]] == [0, 1]
    first, second = brand["rounds"]
    assert first["generated"] > 0 and first["experiments"] >= 1
    assert 0 < first["served"] <= first["generated"]
    # Training really ran between the rounds (every step, a gate report), and round 1 generated with its adapter.
    assert second["training"]["state"] == "succeeded", second["training"]
    from prefcontent.training.models import TrainingRun

    run = TrainingRun.objects.get(pk=second["training"]["run"])
    assert run.step == run.total_steps > 0 and run.adapter_version.eval_report["checks"]
    assert first["adapter_version"] is None and second["adapter_version"] == second["training"]["active_version"] == 1
    # With an active adapter a job samples best_of and serves the n it ranks best; without one it samples n.
    from prefcontent.generation.models import GenerationJob

    jobs = list(GenerationJob.objects.all())
    with_adapter = [j for j in jobs if j.adapter_version_id]
    assert with_adapter and len(with_adapter) < len(jobs)
    assert all(j.params.get("best_of") == (8 if j.adapter_version_id else None) for j in jobs)
    assert all(j.params["n"] == 4 for j in jobs)
    assert all(j.result["sampled"] == 8 and j.result["stored"] <= 4 for j in with_adapter)
    # The rates are those of what round 0 really sampled, not just numbers in [0, 1].
    from simulation.metrics import ended_rate, valid_rate

    round0 = [(c, j.prompt) for j in jobs if not j.adapter_version_id for c in j.candidates.all()]
    assert len([c for c, _ in round0 if c.text]) == first["generated"]
    assert first["valid_rate"] == pytest.approx(valid_rate([c.text for c, _ in round0], "headline",
                                                           [p for _, p in round0]))
    assert first["ended_rate"] == pytest.approx(ended_rate([c.finish_reason for c, _ in round0]))
    # Claims are read against each brief's offer on everything sampled; the guard (block) serves none.
    from django.utils import timezone

    from simulation.metrics import unsupported_claim_rate

    sampled = [(c.text, j.brief) for j in jobs if not j.adapter_version_id for c in j.candidates.all() if c.text]
    assert first["unsupported_claim_rate"] == pytest.approx(unsupported_claim_rate(sampled, timezone.localdate()))
    assert first["served_unsupported_claim_rate"] == second["served_unsupported_claim_rate"] == 0.0
    assert {c.finish_reason for c, _ in round0} <= {"stop", "newline", "length", "max_chars"}
    assert 0 < first["true_ctr"] <= brand["ceiling_ctr"] and "headroom_captured" in brand
    # Every experiment's control is human-written copy, which the holdout saw; each round carries the lift
    # the report measured beside the true one.
    from prefcontent.experiments.models import Arm, Assignment

    live = Arm.objects.filter(is_control=True, experiment__source="live").select_related("variant")
    assert {a.variant.source for a in live} == {"human"}
    held = Assignment.objects.filter(holdout=True).select_related("arm")
    assert held.exists() and all(a.arm.is_control for a in held)
    for r in brand["rounds"]:
        assert r["true_lift"] is not None
        assert r["measured_lift"] is None or r["measured_lift_low"] <= r["measured_lift"] <= r["measured_lift_high"]
    assert report["base_model"] == str(tiny_model_dir.resolve())
    assert (tmp_path / "sim" / "northpeak.png").stat().st_size > 0
