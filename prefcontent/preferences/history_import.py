"""Importing years of past A/B tests as concluded experiments, with the live decision rules, then pairs.

All or nothing: the file is parsed and validated first (history_file.py), and any bad row
refuses the whole file with a row-by-row report. A valid file becomes briefs, variants,
experiments, arms and decisions in one transaction, written with bulk inserts, and its
winners are turned into preference pairs like live ones.

Decisions use the live rules (`prefcontent.experiments.decisions`): the same stats engine and
always-valid test (closed form; an imported test, known only by its counters, counts each
impression as a reader), settings from the brand, seed = experiment id, and the same evidence
layout. What differs is the number of Monte Carlo draws behind the probability-to-be-best
description (live: 100,000, ~15 ms a test, which would make a large history take many minutes).
Each test is described at SCREEN_DRAWS; one whose leader lands within BORDERLINE of the brand's
`decision_threshold` is described again at HISTORY_IMPORT_DRAWS (default 10,000). The draws no
longer change who wins. The evidence records the draws used.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.brands.settings import brand_settings
from prefcontent.content.hashing import content_hash
from prefcontent.content.models import CHANNELS, Brief, Campaign, Variant
from prefcontent.core.errors import Conflict, InvalidInput, PayloadTooLarge
from prefcontent.experiments.models import (
    CONCLUDED,
    METRICS,
    STOPPED,
    Arm,
    Decision,
    Experiment,
    success_counter,
)
from prefcontent.experiments.stats import Analysis, ArmCounts, analyze
from prefcontent.preferences.building import pairs_build_loaded
from prefcontent.preferences.history_file import (
    HistoryTest,
    RowError,
    detect_format,
    parse_history,
)
from prefcontent.preferences.models import HistoryImport, ImportedTest
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal

Progress = Callable[[str, int, int], None]  # (stage, done, total)
_BATCH = 2000
SCREEN_DRAWS = 500  # standard error of a probability near 0.95: ~0.01, so the band below is ~3 errors wide
BORDERLINE = 0.03  # |leader's prob_best - threshold| below this: decide again at full precision


@dataclass(frozen=True)
class ImportOutcome:
    history_import: HistoryImport  # the stored record, with its report
    report: dict  # rows, tests, experiments by status, pairs by status


def _reject(errors: list[RowError], rows: int) -> InvalidInput:
    rejected = len({e.row for e in errors})
    return InvalidInput(
        f"The file was not imported: {len(errors)} problem(s) on {rejected} row(s). Nothing was written.",
        code="invalid_import",
        details={"rows": rows, "rows_rejected": rejected, "errors": [asdict(e) for e in errors]},
    )


def _validate_against_brand(brand: Brand, tests: list[HistoryTest]) -> list[RowError]:
    errors = [RowError(t.arms[0].row, "invalid_value", f"channel must be one of {', '.join(CHANNELS)}")
              for t in tests if t.channel and t.channel not in CHANNELS]
    known = set(ImportedTest.objects.filter(brand=brand, test_id__in=[t.test_id for t in tests])
                .values_list("test_id", flat=True))
    errors += [RowError(t.arms[0].row, "already_imported", f"test {t.test_id!r} was imported before")
               for t in tests if t.test_id in known]
    return errors


def history_import(
    *, principal: Principal, brand: Brand, data: bytes, filename: str = "", fmt: str | None = None,
    primary_metric: str = "click", min_sample_per_arm: int = 1000, progress: Progress | None = None,
) -> ImportOutcome:
    access.brand_require(principal, brand, "experiments.write")
    if len(data) > settings.MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"The file is larger than {settings.MAX_IMPORT_BYTES} bytes.",
                              details={"max_bytes": settings.MAX_IMPORT_BYTES})
    if primary_metric not in METRICS:
        raise InvalidInput(f"primary_metric must be one of {', '.join(METRICS)}.", code="invalid_metric")
    if min_sample_per_arm < 1:
        raise InvalidInput("min_sample_per_arm must be at least 1.", code="invalid_min_sample")
    fmt = fmt or detect_format(filename, data)
    if fmt not in ("csv", "jsonl"):
        raise InvalidInput("format must be csv or jsonl.", code="invalid_format")
    parsed = parse_history(data, fmt)
    errors = parsed.errors + _validate_against_brand(brand, parsed.tests)
    if errors:
        raise _reject(sorted(errors, key=lambda e: (e.row is not None, e.row or 0)), parsed.rows)
    try:
        with transaction.atomic():
            report = _write(principal, brand, parsed.tests, primary_metric, min_sample_per_arm, progress)
            experiment_ids = report.pop("_experiment_ids")
            record = HistoryImport.objects.create(
                brand=brand, filename=filename[:255], file_sha256=hashlib.sha256(data).hexdigest(), rows=parsed.rows,
                tests=len(parsed.tests), report=report, created_by_id=principal.user_id,
            )
            ImportedTest.objects.bulk_create([ImportedTest(brand=brand, history_import=record, test_id=t, experiment_id=e)
                                              for t, e in experiment_ids.items()], batch_size=_BATCH)
            audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                         action="history.import", target=record, data={"rows": parsed.rows, "tests": len(parsed.tests)})
    except IntegrityError:  # a concurrent import of the same tests won the race
        raise Conflict("Another import of these tests finished first; nothing was written.",
                       code="import_conflict") from None
    return ImportOutcome(record, {"rows": parsed.rows, "tests": len(parsed.tests), **report})


def _analysis_dict(analysis: Analysis) -> dict:
    """`Analysis.to_dict()` without dataclasses.asdict's deep copy (every field is flat): 5x faster."""
    return {**vars(analysis), "arms": [dict(vars(arm)) for arm in analysis.arms]}


def _write(principal: Principal, brand: Brand, tests: list[HistoryTest], metric: str, min_sample: int,
           progress: Progress | None) -> dict:
    tick = progress or (lambda stage, done, total: None)
    now = timezone.now()
    campaigns = {ch: Campaign.objects.create(brand=brand, name=f"Imported {ch}", channel=ch, goal_metric=metric)
                 for ch in sorted({t.channel for t in tests if t.channel})}
    brief_keys = {(t.brief, t.product, t.audience, t.tone) for t in tests if t.brief or t.product}
    briefs = {key: Brief(brand=brand, campaign=None, title=(key[0] or key[1])[:200], product=(key[1] or key[0])[:500],
                         audience=key[2][:500], tone=key[3][:200], locale=brand.locale, constraints=key[0])
              for key in sorted(brief_keys)}
    Brief.objects.bulk_create(briefs.values(), batch_size=_BATCH)

    def brief_of(t: HistoryTest):
        return briefs.get((t.brief, t.product, t.audience, t.tone))

    variants: dict[str, Variant] = {}
    for t in tests:
        for arm in t.arms:
            if arm.text not in variants:
                variants[arm.text] = Variant(brand=brand, brief=brief_of(t), campaign=campaigns.get(t.channel),
                                             text=arm.text, source="imported", content_hash=content_hash(arm.text),
                                             provenance={"source": "history_import"})
    Variant.objects.bulk_create(variants.values(), batch_size=_BATCH)
    tick("variants", len(variants), len(variants))

    experiments = [Experiment(
        brand=brand, campaign=campaigns.get(t.channel), brief=brief_of(t), name=t.test_id, status=CONCLUDED,
        allocation="fixed", primary_metric=metric, min_sample_per_arm=min_sample, source="imported",
        created_by_id=principal.user_id, started_at=t.started_at, ended_at=t.ended_at or now,
    ) for t in tests]
    Experiment.objects.bulk_create(experiments, batch_size=_BATCH)
    arms: list[list[Arm]] = [[Arm(experiment=e, variant=variants[a.text], is_control=a.is_control,
                                  weight=1 / len(t.arms), impressions=a.impressions, clicks=a.clicks,
                                  conversions=a.conversions) for a in t.arms]
                             for t, e in zip(tests, experiments, strict=True)]
    for group in arms:
        if not any(a.is_control for a in group):
            group[0].is_control = True  # no control marked: the test's first row is the control
    Arm.objects.bulk_create([a for group in arms for a in group], batch_size=_BATCH)

    cfg = brand_settings(brand)
    threshold, alpha, srm_p = cfg.decision_threshold, cfg.alpha, cfg.srm_p
    draws = int(getattr(settings, "HISTORY_IMPORT_DRAWS", 10_000))
    actor = f"user:{principal.user_id}" if principal.is_user else "system"
    decisions, stopped = [], []
    winners: list[Experiment] = []
    for i, (experiment, group) in enumerate(zip(experiments, arms, strict=True)):
        field = success_counter(metric)
        counts = [ArmCounts(str(a.pk), a.impressions, min(getattr(a, field), a.impressions)) for a in group]
        control = next(a for a in group if a.is_control)
        rules = {"alpha": alpha, "prob_threshold": threshold, "min_sample": min_sample, "srm_p": srm_p,
                 "seed": experiment.pk}
        analysis, used = analyze(counts, str(control.pk), draws=SCREEN_DRAWS, **rules), SCREEN_DRAWS
        leader = max(arm.prob_best for arm in analysis.arms)
        if analysis.ready and abs(leader - threshold) < BORDERLINE:
            analysis, used = analyze(counts, str(control.pk), draws=draws, **rules), draws
        evidence = {
            "experiment_id": experiment.pk, "primary_metric": metric, "allocation": "fixed",
            "decision_threshold": threshold, "min_sample_per_arm": min_sample, "srm_expected_from": "weights",
            "srm_observed": "impressions", "evaluated_at": now.isoformat(), "source": "history_import", "draws": used,
            "counts": {str(a.pk): {"variant_id": a.variant_id, "is_control": a.is_control, "weight": a.weight,
                                   "impressions": a.impressions, "clicks": a.clicks, "conversions": a.conversions,
                                   "assignments": 0, "exposed_units": 0} for a in group},
            "analysis": _analysis_dict(analysis),
        }
        winner = analysis.winner_id
        decisions.append(Decision(experiment=experiment, outcome="winner" if winner else "inconclusive",
                                  winner_arm_id=int(winner) if winner else None, reason=analysis.reason,
                                  evidence=evidence, decided_by=actor, decided_at=experiment.ended_at))
        if winner:
            experiment.decision = decisions[-1]
            winners.append(experiment)
        else:
            stopped.append(experiment.pk)
        if i % 500 == 0:
            tick("decisions", i, len(experiments))
    tick("decisions", len(experiments), len(experiments))
    Decision.objects.bulk_create(decisions, batch_size=_BATCH)
    tick("pairs", 0, 1)
    for start in range(0, len(stopped), _BATCH):
        Experiment.objects.filter(pk__in=stopped[start : start + _BATCH]).update(status=STOPPED)
    # The rows are all in memory: build from them rather than reading back what was just written.
    built = pairs_build_loaded(experiments=winners,
                               arms_by_experiment={e.pk: group for e, group in zip(experiments, arms, strict=True)})
    tick("pairs", 1, 1)
    return {
        "experiments": len(experiments), "concluded": len(winners), "stopped_inconclusive": len(stopped),
        "pairs": built.pairs, "pairs_active": built.active, "pairs_excluded_by_reason": built.excluded,
        "_experiment_ids": {t.test_id: e.pk for t, e in zip(tests, experiments, strict=True)},
    }
