import time

import pytest

from prefcontent.experiments import decisions
from prefcontent.experiments.models import Decision, Experiment
from prefcontent.experiments.tasks import decide_chunk, decide_running
from prefcontent.tenancy.principal import SYSTEM
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment


@pytest.fixture
def sent(monkeypatch):
    calls = []
    from prefcontent.celery import app

    monkeypatch.setattr(app, "send_task", lambda name, args, **options: calls.append((name, args)))
    return calls


def with_counts(experiment, counts):
    for arm, (impressions, clicks) in zip(experiment.arms.order_by("id"), counts, strict=True):
        arm.impressions, arm.clicks, arm.conversions = impressions, clicks, clicks // 10
        arm.save()
    return experiment


def run_pass(sent):
    """The periodic pass as the workers would run it: the plan's chunk tasks (captured by `sent`), each run."""
    plan = decide_running()
    chunks = [args[0] for name, args in sent if name == "experiments.decide_chunk"]
    assert plan["chunks"] == plan["sent"] == len(chunks)
    sent[:] = [call for call in sent if call[0] != "experiments.decide_chunk"]
    totals = {"evaluated": 0, "concluded": 0, "skipped": plan["skipped"]}
    for chunk in chunks:
        for key, n in decide_chunk(chunk).items():
            totals[key] += n
    return totals


def decide(experiment, capture):
    with capture(execute=True):
        return decisions.experiment_decide(principal=SYSTEM, experiment=experiment)


@pytest.mark.smoke
def test_clear_winner_concludes_with_evidence_and_enqueues_pairs(brand, sent, django_capture_on_commit_callbacks):
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(5000, 500), (5000, 650)])
    result = decide(experiment, django_capture_on_commit_callbacks)
    treatment = experiment.arms.order_by("id").last()
    experiment.refresh_from_db()
    assert experiment.status == "concluded" and experiment.ended_at is not None
    decision = Decision.objects.get(experiment=experiment)
    assert decision.outcome == "winner" and decision.winner_arm_id == treatment.pk == result.decision.winner_arm_id
    evidence = decision.evidence
    assert evidence["counts"][str(treatment.pk)] == {
        "variant_id": treatment.variant_id, "is_control": False, "weight": 0.5, "impressions": 5000, "clicks": 650,
        "conversions": 65, "assignments": 0, "exposed_units": 0}
    arm_stats = {a["arm_id"]: a for a in evidence["analysis"]["arms"]}
    assert arm_stats[str(treatment.pk)]["prob_best"] > 0.95 and arm_stats[str(treatment.pk)]["rate"] == 0.13
    assert arm_stats[str(treatment.pk)]["wilson_low"] < 0.13 < arm_stats[str(treatment.pk)]["wilson_high"]
    assert arm_stats[str(treatment.pk)]["p_value_vs_control"] < 0.001
    assert evidence["analysis"]["srm_flag"] is False and evidence["decision_threshold"] == 0.95
    assert sent == [("preferences.build_pairs_for_experiment", [experiment.pk])]


@pytest.mark.parametrize(("counts", "min_sample", "why"), [
    ([(5000, 500), (5000, 510)], 1000, "not sure enough"),
    ([(900, 90), (900, 180)], 1000, "an arm below its minimum sample"),
    ([(6000, 600), (4000, 520)], 1000, "sample-ratio mismatch against a 50/50 split"),
])
def test_no_winner_keeps_it_running(brand, sent, django_capture_on_commit_callbacks, counts, min_sample, why):
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=min_sample), counts)
    result = decide(experiment, django_capture_on_commit_callbacks)
    experiment.refresh_from_db()
    assert result.decision is None and experiment.status == "running", why
    assert not Decision.objects.exists() and sent == []
    assert experiment.last_analysis["analysis"]["winner_id"] is None and experiment.analyzed_at
    if "mismatch" in why:
        assert experiment.last_analysis["analysis"]["srm_flag"] is True
        top = max(experiment.last_analysis["analysis"]["arms"], key=lambda a: a["prob_best"])
        assert top["prob_best"] > 0.95  # it would have won but for the mismatch


def test_brand_error_rate_is_honoured(db, sent, django_capture_on_commit_callbacks):
    """10 % vs 13 % on 5,000 each: always-valid p ~ 0.016, a winner at alpha 0.05, not at 0.01. The
    probability to be best (> 0.999) no longer decides, whatever the brand's decision_threshold."""
    strict = BrandFactory(settings={"alpha": 0.01, "decision_threshold": 0.5})
    experiment = with_counts(make_experiment(strict, min_sample_per_arm=100), [(5000, 500), (5000, 650)])
    result = decide(experiment, django_capture_on_commit_callbacks)
    assert result.decision is None and 0.01 < result.evaluation.analysis.sequential["p_value"] < 0.05
    relaxed = BrandFactory()
    experiment = with_counts(make_experiment(relaxed, min_sample_per_arm=100), [(5000, 500), (5000, 650)])
    assert decide(experiment, django_capture_on_commit_callbacks).decision.outcome == "winner"


def test_stop_ends_inconclusive_without_pairs(brand, owner_client, sent, django_capture_on_commit_callbacks):
    experiment = with_counts(make_experiment(brand), [(100, 10), (100, 12)])
    with django_capture_on_commit_callbacks(execute=True):
        body = owner_client.post(f"/api/v1/experiments/{experiment.pk}/stop/").json()
    assert body["experiment"]["status"] == "stopped"
    assert body["experiment"]["decision"]["outcome"] == "inconclusive"
    assert body["experiment"]["decision"]["winner_arm"] is None
    assert set(body["evidence"]) >= {"counts", "analysis", "primary_metric", "decision_threshold"}
    assert sent == []


def test_decide_action_and_results_over_http(brand, owner_client, sent, django_capture_on_commit_callbacks):
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(5000, 500), (5000, 650)])
    results = owner_client.get(f"/api/v1/experiments/{experiment.pk}/results/").json()
    assert results["concluded"] is False and results["evidence"]["analysis"]["winner_id"] is not None
    assert Experiment.objects.get(pk=experiment.pk).status == "running"  # results change nothing
    with django_capture_on_commit_callbacks(execute=True):
        body = owner_client.post(f"/api/v1/experiments/{experiment.pk}/decide/").json()
    assert body["concluded"] is True and body["experiment"]["status"] == "concluded"
    assert len(sent) == 1


def test_deciding_or_stopping_after_the_scheduler_concluded_answers_its_decision(
        brand, owner_client, sent, django_capture_on_commit_callbacks):
    """A caller racing the periodic decision gets the decision the scheduler made, not an error."""
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(5000, 500), (5000, 650)])
    stale = Experiment.objects.get(pk=experiment.pk)  # what the caller loaded before the scheduler ran
    with django_capture_on_commit_callbacks(execute=True):
        assert run_pass(sent) == {"evaluated": 1, "concluded": 1, "skipped": 0}
    decision = Decision.objects.get(experiment=experiment)
    for call in (decisions.experiment_decide, decisions.experiment_stop):
        with django_capture_on_commit_callbacks(execute=True):
            result = call(principal=SYSTEM, experiment=stale)
        assert result.earlier and result.decision.pk == decision.pk
        assert result.experiment.status == "concluded"
        assert result.evaluation.analysis.winner_id == str(decision.winner_arm_id)
        assert result.evaluation.evidence == decision.evidence
    for action in ("decide", "stop"):
        body = owner_client.post(f"/api/v1/experiments/{experiment.pk}/{action}/").json()
        assert body["concluded"] is True and body["experiment"]["decision"]["outcome"] == "winner", action
        assert body["evidence"] == decision.evidence
    assert Decision.objects.count() == 1
    assert sent == [("preferences.build_pairs_for_experiment", [experiment.pk])]  # pairs are built once


def test_periodic_task_decides_only_the_ready(brand, sent, django_capture_on_commit_callbacks):
    ready = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(5000, 500), (5000, 650)])
    waiting = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(500, 50), (500, 65)])
    make_experiment(brand, status="paused")
    with django_capture_on_commit_callbacks(execute=True):
        assert run_pass(sent) == {"evaluated": 2, "concluded": 1, "skipped": 0}
    assert Experiment.objects.get(pk=ready.pk).status == "concluded"
    assert Experiment.objects.get(pk=waiting.pk).status == "running"
    # Nothing new for the waiting one: the next pass does not evaluate it again; new counts bring it back.
    with django_capture_on_commit_callbacks(execute=True):
        assert run_pass(sent) == {"evaluated": 0, "concluded": 0, "skipped": 1}
    analysed = Experiment.objects.get(pk=waiting.pk).analyzed_at
    with_counts(waiting, [(600, 60), (600, 78)])
    with django_capture_on_commit_callbacks(execute=True):
        assert run_pass(sent) == {"evaluated": 1, "concluded": 0, "skipped": 0}
    assert Experiment.objects.get(pk=waiting.pk).analyzed_at > analysed
    assert sent == [("preferences.build_pairs_for_experiment", [ready.pk])]


def test_thompson_srm_is_checked_against_assignments(brand):
    from prefcontent.experiments.models import Assignment

    experiment = with_counts(make_experiment(brand, allocation="thompson", min_sample_per_arm=100),
                             [(3000, 300), (1000, 130)])
    control, treatment = experiment.arms.order_by("id")
    Assignment.objects.bulk_create([Assignment(experiment=experiment, arm=control if i < 300 else treatment,
                                               unit_hash=f"{i:064d}") for i in range(400)])
    evaluation = decisions.experiment_evaluate(experiment=experiment)
    assert evaluation.evidence["srm_expected_from"] == "assignments"
    assert evaluation.analysis.srm_flag is False  # 3:1 impressions match 3:1 assignments


def _impressions(experiment, arm, *, units: int, per_unit: int, start: int = 0):
    from django.utils import timezone

    from prefcontent.experiments.models import Event

    now = timezone.now()
    Event.objects.bulk_create([
        Event(brand_id=experiment.brand_id, experiment=experiment, arm=arm, event_id=f"{arm.pk}-{u}-{v}",
              type="impression", unit_hash=f"{start + u:064d}", occurred_at=now, received_at=now)
        for u in range(units) for v in range(per_unit)])
    _rebuild(experiment)


def _rebuild(experiment):
    """Events written outside ingestion: the repair path recounts the experiment's readers."""
    from django.db import connection

    from prefcontent.experiments.counters import counters_rebuild

    with connection.cursor() as cursor:
        counters_rebuild(cursor, connection.vendor, [experiment.pk])


def test_srm_counts_readers_not_page_views(brand, sent, django_capture_on_commit_callbacks):
    """Readers see an arm many times: 480 vs 520 readers is a fair coin, although 9,600 vs 10,400
    impressions would be a "mismatch" (chi-square p ≈ 1.5e-8) if page views were independent draws."""
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(9600, 960), (10400, 1352)])
    control, treatment = experiment.arms.order_by("id")
    _impressions(experiment, control, units=480, per_unit=20)
    _impressions(experiment, treatment, units=520, per_unit=20, start=480)
    evaluation = decisions.experiment_evaluate(experiment=experiment)
    assert evaluation.evidence["srm_observed"] == "exposed_units"
    assert evaluation.evidence["counts"][str(treatment.pk)]["exposed_units"] == 520
    assert evaluation.analysis.srm_flag is False and evaluation.analysis.srm_p_value > 0.2
    # The decision counts readers too: these 1,000 readers sent no click events, so the counters' clicks
    # are no evidence about them and nothing is decided.
    result = decide(experiment, django_capture_on_commit_callbacks)
    assert result.decision is None and evaluation.evidence["unit"] == "reader"
    assert evaluation.analysis.sequential["readers"] == 1000


def test_srm_on_readers_still_catches_a_broken_split(brand):
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=100), [(4000, 400), (6000, 780)])
    control, treatment = experiment.arms.order_by("id")
    _impressions(experiment, control, units=400, per_unit=10)
    _impressions(experiment, treatment, units=600, per_unit=10, start=400)
    evaluation = decisions.experiment_evaluate(experiment=experiment)
    assert evaluation.analysis.srm_flag is True and evaluation.analysis.srm_p_value < 1e-8


@pytest.mark.slow
def test_periodic_decision_runs_in_a_real_worker(celery_worker):
    brand = BrandFactory()
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(5000, 500), (5000, 650)])
    decide_running.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Experiment.objects.get(pk=experiment.pk).status == "running":
        time.sleep(0.2)
    assert Experiment.objects.get(pk=experiment.pk).status == "concluded", celery_worker.log()
    assert Decision.objects.get(experiment=experiment).outcome == "winner"


def test_latest_evidence_reuses_the_stored_evaluation_until_counters_move(brand, sent, django_capture_on_commit_callbacks):
    experiment = with_counts(make_experiment(brand, min_sample_per_arm=1000), [(500, 50), (500, 65)])
    decide(experiment, django_capture_on_commit_callbacks)
    experiment.refresh_from_db()
    stored = experiment.last_analysis
    assert decisions.experiment_latest_evidence(experiment=experiment) is stored
    with_counts(experiment, [(600, 60), (600, 80)])
    fresh = decisions.experiment_latest_evidence(experiment=experiment)
    assert fresh["counts"] != stored["counts"] and fresh["evaluated_at"] > stored["evaluated_at"]


def test_plan_chunks_cover_every_changed_running_experiment_oldest_analysed_first(brand, sent):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    experiments = [with_counts(make_experiment(brand), [(10 + i, 1), (10, 1)]) for i in range(7)]
    # Analysed at different times (two never), one of them since its counters last moved.
    ages = [None, 5, 1, None, 3, 2, 4]
    for experiment, age in zip(experiments, ages, strict=True):
        if age is not None:
            Experiment.objects.filter(pk=experiment.pk).update(analyzed_at=now - timedelta(hours=age), analyzed_events=0)
    unchanged = experiments[5]
    Experiment.objects.filter(pk=unchanged.pk).update(analyzed_events=10 + 5 + 1 + 10 + 1 + 0 + 0)
    make_experiment(brand, status="paused")
    with_counts(make_experiment(brand, source="imported"), [(10, 1), (10, 1)])
    plan = decisions.experiments_decide_plan(chunk_size=2)
    expected = [experiments[i].pk for i in (0, 3, 1, 6, 4, 2)]  # never analysed (by id), then oldest first
    assert [pk for chunk in plan.chunks for pk in chunk] == expected
    assert [len(c) for c in plan.chunks] == [2, 2, 2] and plan.skipped == 1
    result = decisions.experiments_decide_running(chunk_size=2)
    assert result == {"chunks": 3, "sent": 3, "skipped": 1, "evaluated": 0, "concluded": 0}
    assert [args[0] for name, args in sent] == plan.chunks


def test_chunk_analyses_changed_experiments_and_skips_unchanged_ones(brand, sent):
    moved = with_counts(make_experiment(brand), [(500, 50), (500, 65)])
    still = with_counts(make_experiment(brand), [(500, 50), (500, 65)])
    assert decide_chunk([moved.pk, still.pk]) == {"evaluated": 2, "concluded": 0, "skipped": 0}
    analysed = {e.pk: e.analyzed_at for e in Experiment.objects.filter(pk__in=[moved.pk, still.pk])}
    with_counts(moved, [(600, 60), (600, 78)])
    assert decide_chunk([moved.pk, still.pk]) == {"evaluated": 1, "concluded": 0, "skipped": 1}
    after = {e.pk: e for e in Experiment.objects.filter(pk__in=[moved.pk, still.pk])}
    assert after[moved.pk].analyzed_at > analysed[moved.pk] and after[still.pk].analyzed_at == analysed[still.pk]
    assert after[moved.pk].analyzed_events == 600 + 60 + 6 + 600 + 78 + 7
    assert after[moved.pk].last_analysis["counts"][str(moved.arms.order_by("id").first().pk)]["impressions"] == 600
    assert decisions.experiments_decide_plan().chunks == []  # nothing moved since: the next pass sends nothing
