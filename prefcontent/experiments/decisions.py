"""Evaluating experiments and deciding them: the rules that turn counts into a winner.

A winner needs all three: the always-valid sequential test on readers at the brand's `alpha`
(prefcontent.experiments.sequential: the winner beats every other arm, and an experiment whose
arms do not differ names one with probability at most alpha however often it is decided), every
arm at `min_sample_per_arm` impressions, and no sample-ratio mismatch. Thompson experiments are
tested by inverse-propensity weighting with the propensities stored at assignment. The Bayesian
figures (probability to be best, expected loss) are descriptions. The decision stores its evidence;
on a winner the preferences task is enqueued by name after commit.

Everything is read from counters ingestion keeps (counters.py), never from the raw events. The
periodic pass plans the experiments whose counters moved, oldest analysed first, and sends them in
chunk tasks; an analysis holds no lock, only its write takes the experiment's no-key lock.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.brands.settings import brand_settings
from prefcontent.core import metrics
from prefcontent.core.errors import InvalidState
from prefcontent.core.queue import enqueue, enqueue_on_commit
from prefcontent.experiments.allocation import thompson_allocation
from prefcontent.experiments.assigned import AssignedTotals, assigned_totals, assignments_roll
from prefcontent.experiments.assignment import assignment_cache_drop
from prefcontent.experiments.holdout import holdout_arm_counts, holdout_summary
from prefcontent.experiments.models import (
    CONCLUDED,
    PAUSED,
    RUNNING,
    STOPPED,
    Arm,
    Decision,
    Experiment,
    success_counter,
)
from prefcontent.experiments.readers import reader_stats
from prefcontent.experiments.sequential import ArmReaders
from prefcontent.experiments.stats import Analysis, ArmCounts, analyze
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import SYSTEM, Principal

BUILD_PAIRS_TASK = "preferences.build_pairs_for_experiment"
DECIDE_CHUNK_TASK = "experiments.decide_chunk"
DECIDE_CHUNK = 100  # experiments per chunk task: a few seconds of work, so a pool shares a pass evenly


@dataclass(frozen=True)
class Evaluation:
    analysis: Analysis  # the stats engine's verdict
    evidence: dict  # what a decision stores (see evidence())
    events: int | None = None  # the arms' event counters summed, as this evaluation read them


@dataclass(frozen=True)
class DecideResult:
    experiment: Experiment  # the experiment after the call
    evaluation: Evaluation  # the evaluation the call made
    decision: Decision | None  # the decision, when the experiment ended
    earlier: bool = False  # the experiment had already ended before this call: `decision` is that one


def _actor(principal: Principal) -> str:
    if principal.is_user:
        return f"user:{principal.user_id}"
    if principal.is_api_key:
        return f"api_key:{principal.api_key_prefix}"
    return "system"


def experiment_evaluate(*, experiment: Experiment, arms: list[Arm] | None = None,
                        assigned: dict[int, AssignedTotals] | None = None,
                        held: dict[int, tuple[int, int, int]] | None = None) -> Evaluation:
    """Analyse the current counters (reads only; no event is read).

    The decision's unit is the reader (readers.py): clicks (or conversions) per reader, under Thompson
    weighted by the inverse of each reader's stored propensity, from the reader counters ingestion
    keeps. For the descriptions, trials are impressions and successes the primary metric's events,
    capped at impressions (a click without a recorded impression is counted on the arm but cannot
    push a rate above 1).
    The sample-ratio check compares exposed units (units with an impression, counted at ingestion)
    with the planned split: the weights for fixed allocation, the share of stored assignments for
    Thompson (whose weights move on purpose). Units, because assignment splits readers, not page
    views. Experiments known only by their counters (no impression events, e.g. imported history)
    fall back to impressions. `arms`, `assigned` (assigned_totals' entry) and `held` (holdout_arm_counts')
    may be given by a caller that read them for many experiments at once.
    """
    brand = experiment.brand
    if arms is None:
        arms = list(Arm.objects.filter(experiment_id=experiment.pk).order_by("id"))
    if assigned is None:
        assigned = assigned_totals([experiment.pk]).get(experiment.pk, {})
    if held is None:
        held = holdout_arm_counts([experiment.pk]).get(experiment.pk, {})
    # Held-out readers (holdout.py) are not part of the test: their assignments and reader counters are
    # kept apart at ingestion, their events are subtracted here, and the evidence's "holdout" counts them.
    metric = success_counter(experiment.primary_metric)

    def net(arm: Arm, counter: str) -> int:  # the arm's event counter without held-out readers' events
        _, impressions, successes = held.get(arm.pk, (0, 0, 0))
        return getattr(arm, counter) - (impressions if counter == "impressions" else successes)

    assigned_n = {arm_id: t.assigned for arm_id, t in assigned.items()}
    use_assignments = experiment.allocation == "thompson" and sum(assigned_n.values()) > 0
    exposed = {arm.pk: arm.exposed_units for arm in arms}
    by_units = sum(exposed.values()) > 0
    counts = []
    for arm in arms:
        share = assigned_n.get(arm.pk, 0) if use_assignments else arm.weight
        trials = net(arm, "impressions")
        successes = min(net(arm, metric), trials)
        counts.append(ArmCounts(arm_id=str(arm.pk), trials=trials, successes=successes,
                                expected_share=share if share > 0 else None,
                                units=exposed.get(arm.pk, 0) if by_units else None))
    if any(c.expected_share is None for c in counts):  # fall back to an equal split
        counts = [ArmCounts(c.arm_id, c.trials, c.successes, units=c.units) for c in counts]
    adaptive = experiment.allocation == "thompson"
    per_reader = reader_stats(arms=arms, metric=experiment.primary_metric, adaptive=adaptive, assigned=assigned,
                              held_successes={arm_id: h[2] for arm_id, h in held.items()})
    # Known only by counters (no events, e.g. imported): one impression stands in for one reader. Under
    # Thompson nothing stands in: without stored propensities no reader can be weighted, so no winner.
    readers = None
    if per_reader.arms or adaptive:
        none = 0.0 if adaptive else None
        readers = [per_reader.arms.get(arm.pk) or ArmReaders(str(arm.pk), 0, 0.0, 0.0, none, none, none)
                   for arm in arms]
    cfg = brand_settings(brand)
    threshold = cfg.decision_threshold
    control = next(a for a in arms if a.is_control)
    analysis = analyze(counts, str(control.pk), alpha=cfg.alpha, prob_threshold=threshold,
                       min_sample=experiment.min_sample_per_arm, srm_p=cfg.srm_p, seed=experiment.pk,
                       readers=readers, adaptive=adaptive, minimum_detectable_effect=cfg.minimum_detectable_effect,
                       baseline_rate=cfg.baseline_rate)
    evidence = {
        "experiment_id": experiment.pk,
        "primary_metric": experiment.primary_metric,
        "allocation": experiment.allocation,
        "decision_threshold": threshold,
        "alpha": cfg.alpha,
        "minimum_detectable_effect": cfg.minimum_detectable_effect,
        "baseline_rate": cfg.baseline_rate,
        "unit": "reader" if readers is not None else "impression",
        "unweighted_readers": per_reader.unweighted_readers,
        "min_sample_per_arm": experiment.min_sample_per_arm,
        "srm_expected_from": "assignments" if use_assignments else "weights",
        "srm_observed": "exposed_units" if by_units else "impressions",
        "evaluated_at": timezone.now().isoformat(),
        "counts": {
            str(arm.pk): {"variant_id": arm.variant_id, "is_control": arm.is_control, "weight": arm.weight,
                          "impressions": arm.impressions, "clicks": arm.clicks, "conversions": arm.conversions,
                          "assignments": assigned_n.get(arm.pk, 0), "exposed_units": exposed.get(arm.pk, 0)}
            for arm in arms
        },
        "analysis": analysis.to_dict(),
        "holdout": holdout_summary(held=held, assigned=sum(t.assigned + t.held_out for t in assigned.values()),
                                   held_assigned=sum(t.held_out for t in assigned.values()),
                                   metric=experiment.primary_metric, share=cfg.holdout_share, srm_p=cfg.srm_p),
    }
    return Evaluation(analysis=analysis, evidence=evidence, events=_events(arms))


def _events(arms: list[Arm]) -> int:
    return sum(a.impressions + a.clicks + a.conversions for a in arms)


def _conclude(experiment: Experiment, evaluation: Evaluation, principal: Principal, *, status: str) -> Decision:
    winner = evaluation.analysis.winner_id if status == CONCLUDED else None
    decision = Decision.objects.create(
        experiment=experiment, outcome="winner" if winner else "inconclusive",
        winner_arm_id=int(winner) if winner else None, reason=evaluation.analysis.reason,
        evidence=evaluation.evidence, decided_by=_actor(principal),
    )
    experiment.status = status
    assignment_cache_drop(experiment.pk)
    experiment.ended_at = decision.decided_at
    experiment.last_analysis = evaluation.evidence
    experiment.analyzed_at = decision.decided_at
    experiment.analyzed_events = evaluation.events
    experiment.save(update_fields=["status", "ended_at", "last_analysis", "analyzed_at", "analyzed_events"])
    audit_record(principal=principal, organization_id=experiment.brand.organization_id,
                 brand_id=experiment.brand_id, action=f"experiment.{status}", target=experiment,
                 data={"outcome": decision.outcome, "winner_arm": decision.winner_arm_id})
    metrics.DECISIONS.labels(brand=str(experiment.brand_id), outcome=decision.outcome).inc()
    if winner:
        enqueue_on_commit(BUILD_PAIRS_TASK, args=[experiment.pk])
    return decision


def _locked(experiment: Experiment) -> Experiment:
    # FOR NO KEY UPDATE, and only for the write: event and assignment inserts take FOR KEY SHARE on the
    # experiment through their foreign key, which this lock does not block; the analysis runs before it.
    return Experiment.objects.select_for_update(no_key=True).select_related("brand").get(pk=experiment.pk)


def _ended(experiment: Experiment) -> DecideResult | None:
    """The decision an experiment already ended with, answered as if this call had made it.

    A caller racing the periodic decision (the scheduler concluded it a second earlier) gets the
    outcome it asked for instead of an error; only an experiment that never ran is refused.
    """
    decision = Decision.objects.filter(experiment_id=experiment.pk).first()
    if decision is None:
        return None
    evaluation = Evaluation(analysis=Analysis.from_dict(decision.evidence["analysis"]), evidence=decision.evidence)
    return DecideResult(experiment, evaluation, decision, earlier=True)


def _not_live(experiment: Experiment, verb: str) -> DecideResult:
    if (ended := _ended(experiment)) is not None:
        return ended
    raise InvalidState(f"Cannot {verb} an experiment that is {experiment.status}.",
                       details={"status": experiment.status})


def _record(experiment: Experiment, evaluation: Evaluation, principal: Principal, *, stop: bool) -> DecideResult:
    """Write what an evaluation made of the experiment, under the no-key lock, if it is still live."""
    with transaction.atomic():
        experiment = _locked(experiment)
        if experiment.status not in (RUNNING, PAUSED):  # ended by someone else since the evaluation began
            return _not_live(experiment, "stop" if stop else "decide")
        if evaluation.analysis.winner_id is not None or stop:
            status = CONCLUDED if evaluation.analysis.winner_id is not None else STOPPED
            return DecideResult(experiment, evaluation, _conclude(experiment, evaluation, principal, status=status))
        experiment.last_analysis = evaluation.evidence
        experiment.analyzed_at = timezone.now()
        experiment.analyzed_events = evaluation.events
        experiment.save(update_fields=["last_analysis", "analyzed_at", "analyzed_events"])
        return DecideResult(experiment, evaluation, None)


def _decide(principal: Principal, experiment: Experiment, *, stop: bool) -> DecideResult:
    experiment = Experiment.objects.select_related("brand").get(pk=experiment.pk)
    if experiment.status not in (RUNNING, PAUSED):
        return _not_live(experiment, "stop" if stop else "decide")
    return _record(experiment, experiment_evaluate(experiment=experiment), principal, stop=stop)


def experiment_decide(*, principal: Principal, experiment: Experiment) -> DecideResult:
    """Conclude with a winner if the rules allow; otherwise record the evaluation and keep running.

    The analysis holds no lock; the write takes the experiment's no-key lock and re-checks that it is
    still live (the sequential test is valid at any look, so data that arrived meanwhile are for the next
    look). An experiment that has already ended answers with its decision (`earlier=True`).
    """
    access.brand_require(principal, experiment.brand, "experiments.write")
    return _decide(principal, experiment, stop=False)


def experiment_stop(*, principal: Principal, experiment: Experiment) -> DecideResult:
    """End the experiment: concluded with a winner if the rules already allow one, else stopped inconclusive.

    An experiment that has already ended answers with its decision (`earlier=True`), as in experiment_decide.
    """
    access.brand_require(principal, experiment.brand, "experiments.write")
    return _decide(principal, experiment, stop=True)


def _unchanged(experiment: Experiment, events: int) -> bool:
    """True when no arm's counters moved since the stored evaluation (they only grow): a new look would
    see the same data."""
    return experiment.analyzed_events is not None and experiment.analyzed_events == events


def experiment_latest_evidence(*, experiment: Experiment) -> dict:
    """The evidence of the experiment now (reads only): the stored evaluation while no arm's counters moved
    since it, else a fresh one from the counters. For pages polled every few seconds: no event is read."""
    arms = list(Arm.objects.filter(experiment_id=experiment.pk).order_by("id"))
    if _unchanged(experiment, _events(arms)) and experiment.last_analysis:
        return experiment.last_analysis
    return experiment_evaluate(experiment=experiment, arms=arms).evidence


@dataclass(frozen=True)
class DecidePlan:
    chunks: list[list[int]]  # experiment ids, oldest analysed (never analysed first) to newest
    skipped: int  # running experiments whose counters did not move since their last analysis


def experiments_decide_plan(*, chunk_size: int = DECIDE_CHUNK) -> DecidePlan:
    """The running live experiments whose counters moved since their last analysis, oldest analysed
    first, cut in chunks: one query over the experiments and their arms' counters."""
    rows = (Experiment.objects.filter(status=RUNNING, source="live")
            .annotate(event_total=Sum(F("arms__impressions") + F("arms__clicks") + F("arms__conversions")))
            .order_by(F("analyzed_at").asc(nulls_first=True), "id").values_list("id", "analyzed_events", "event_total"))
    due, skipped = [], 0
    for experiment_id, analyzed, events in rows:
        if analyzed is not None and analyzed == (events or 0):
            skipped += 1
        else:
            due.append(experiment_id)
    return DecidePlan([due[i:i + chunk_size] for i in range(0, len(due), chunk_size)], skipped)


def experiments_decide_running(*, chunk_size: int = DECIDE_CHUNK) -> dict[str, int]:
    """The periodic pass: plan, then one `experiments.decide_chunk` task per chunk, sent by name (a pool of
    workers decides them side by side, oldest analysed first). A chunk the broker refuses is decided here
    (the work is delayed, not lost). Counts of what it planned, sent, and decided itself."""
    assignments_roll()  # the chunks then read few assignments past the watermark
    plan = experiments_decide_plan(chunk_size=chunk_size)
    totals = {"chunks": len(plan.chunks), "sent": 0, "skipped": plan.skipped, "evaluated": 0, "concluded": 0}
    for chunk in plan.chunks:
        if enqueue(DECIDE_CHUNK_TASK, args=[chunk]):
            totals["sent"] += 1
            continue
        done = experiments_decide_chunk(experiment_ids=chunk)
        totals["evaluated"] += done["evaluated"]
        totals["concluded"] += done["concluded"]
        totals["skipped"] += done["skipped"]
    return totals


def _analyses_store(rows: list[tuple[int, dict, int]], now) -> None:
    """Write (experiment id, evidence, events analysed) as the experiments' last analysis: on PostgreSQL
    one UPDATE from one JSON document (bulk_update's CASE per row and field, or an array of JSON texts
    escaped one by one, cost more than the analyses themselves)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Experiment.objects.bulk_update([Experiment(pk=pk, last_analysis=evidence, analyzed_at=now, analyzed_events=n)
                                        for pk, evidence, n in rows], ["last_analysis", "analyzed_at", "analyzed_events"])
        return
    table = Experiment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} x SET last_analysis = v.a, analyzed_at = %s, analyzed_events = v.n "
                       f"FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, a jsonb, n bigint) WHERE x.id = v.id",
                       [now, json.dumps([{"id": pk, "a": evidence, "n": n} for pk, evidence, n in rows])])


def experiments_decide_chunk(*, experiment_ids: list[int]) -> dict[str, int]:
    """Decide these experiments (SYSTEM): their arms and assignment totals read in two queries for the
    chunk and analysed without a lock. The analyses that name no winner are written together, in one
    short transaction under the no-key locks of those still live; each winner is concluded alone.
    Experiments that ended or whose counters did not move since the plan are skipped."""
    concluded = evaluated = skipped = 0
    experiments = {e.pk: e for e in Experiment.objects.filter(pk__in=experiment_ids, status=RUNNING)
                   .select_related("brand")}
    arms: dict[int, list[Arm]] = {}
    for arm in Arm.objects.filter(experiment_id__in=list(experiments)).order_by("id"):
        arms.setdefault(arm.experiment_id, []).append(arm)
    assigned = assigned_totals(list(experiments))
    held = holdout_arm_counts(list(experiments))
    winners, waiting = [], {}
    for experiment_id in experiment_ids:
        experiment = experiments.get(experiment_id)
        if experiment is None or experiment_id not in arms or _unchanged(experiment, _events(arms[experiment_id])):
            skipped += 1
            continue
        evaluation = experiment_evaluate(experiment=experiment, arms=arms[experiment_id],
                                         assigned=assigned.get(experiment_id, {}), held=held.get(experiment_id, {}))
        if evaluation.analysis.winner_id is not None:
            winners.append((experiment, evaluation))
        else:
            waiting[experiment_id] = evaluation
    if waiting:
        now = timezone.now()
        with transaction.atomic():
            live = list(Experiment.objects.select_for_update(no_key=True).filter(
                pk__in=list(waiting), status__in=(RUNNING, PAUSED)).order_by("pk").values_list("pk", flat=True))
            _analyses_store([(pk, waiting[pk].evidence, waiting[pk].events) for pk in live], now)
        evaluated += len(live)
    for experiment, evaluation in winners:
        try:
            result = _record(experiment, evaluation, SYSTEM, stop=False)
        except InvalidState:  # moved on since the query
            continue
        if result.earlier:  # ended by someone else since the query
            continue
        evaluated += 1
        concluded += result.decision is not None
    return {"evaluated": evaluated, "concluded": concluded, "skipped": skipped}


@transaction.atomic
def experiment_update_thompson_weights(*, experiment: Experiment) -> dict[int, float]:
    """Recompute a Thompson experiment's weights from the arms' posteriors (new units only)."""
    experiment = _locked(experiment)
    arms = list(Arm.objects.filter(experiment_id=experiment.pk).order_by("id"))
    metric = success_counter(experiment.primary_metric)
    weights = thompson_allocation([(a.pk, a.impressions, getattr(a, metric)) for a in arms],
                                  floor=experiment.thompson_floor, warmup=experiment.thompson_warmup,
                                  seed=experiment.pk)
    for arm in arms:
        arm.weight = weights[arm.pk]
    Arm.objects.bulk_update(arms, ["weight"])
    assignment_cache_drop(experiment.pk)
    experiment.weights_updated_at = timezone.now()
    experiment.save(update_fields=["weights_updated_at"])
    return weights


def experiments_update_thompson_weights() -> int:
    ids = list(Experiment.objects.filter(status=RUNNING, allocation="thompson").values_list("id", flat=True))
    for experiment_id in ids:
        experiment_update_thompson_weights(experiment=Experiment(pk=experiment_id))
    return len(ids)
