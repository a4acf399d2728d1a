"""The worker side of a training run: claim, train with heartbeat, gate, publish, finish.

Called by the gpu-queue task with a run id. Every write after the claim is guarded by the
lease owner, so a worker that lost its lease (the reaper requeued the run) changes nothing.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from models_store.errors import StoreError
from prefcontent.adapters.base_match import adapter_base_mismatch
from prefcontent.adapters.gate import GateInputs, GenerationSet, evaluate_gate, gate_thresholds
from prefcontent.adapters.model_card import render_model_card
from prefcontent.adapters.selectors import (
    AdapterArtifactError,
    adapter_active_for,
    adapter_local_path,
)
from prefcontent.adapters.services import adapter_auto_promote, adapter_version_publish
from prefcontent.core import metrics
from prefcontent.training import facade
from prefcontent.training.conf import training_settings
from prefcontent.training.lease import LeaseKeeper, owned, training_run_claim
from prefcontent.training.models import TrainingRun

logger = logging.getLogger(__name__)
State = TrainingRun.State
# Per-step keys kept in the run's metric history (the rest are throughput figures).
METRIC_KEYS = ("step", "epoch", "loss", "reward_accuracy", "reward_margin", "rewards_chosen", "rewards_rejected",
               "logps_chosen", "logps_rejected", "grad_norm", "lr", "elapsed_s")
PROGRESS_WRITE_INTERVAL_S = 1.0


class LeaseLost(Exception):
    """Another worker (or the reaper) owns the run now; stop without writing."""


@dataclass(frozen=True)
class GateSampling:
    """How the gate samples generations for held-out briefs and the brand's recent ones."""

    max_prompts: int = 16  # distinct held-out briefs used
    recent_briefs: int = 8  # and up to this many of the brand's recent briefs (generation's), judged apart
    # completions per recent brief and model: distinct-2 of a few dozen short lines stays near 1 whatever the
    # adapter repeats across briefs
    recent_samples: int = 16
    samples_per_prompt: int = 4  # completions per brief and model
    max_new_tokens: int = 48  # completion budget
    temperature: float = 1.0  # sampling temperature
    seed: int = 1234  # same seeds for every model, so generations are aligned


def json_safe(value):
    """What JSONB accepts: no NaN/inf (a diverged loss becomes null), no NUL characters (raw model output)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def run_dir(run_id: int) -> Path:
    return Path(settings.WORK_DIR) / "training" / f"run-{run_id}"


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def training_run_execute(*, run_id: int, owner: str | None = None) -> str:
    """Run one attempt of a training run; returns the outcome ("skipped" for a duplicate delivery)."""
    cfg = training_settings()
    owner = owner or worker_identity()
    run = training_run_claim(run_id=run_id, owner=owner, cfg=cfg)
    if run is None:
        logger.info("run %s is not queued; duplicate or stale delivery skipped", run_id)
        return "skipped"
    claimed = time.monotonic()
    metrics.queue_wait_observe(kind="training", sent_at=run.enqueued_at or run.created_at, claimed_at=timezone.now())
    keeper = LeaseKeeper(run.pk, owner, cfg)
    keeper.start()
    outcome = "lease_lost"
    try:
        try:
            outcome = _execute(run, owner, keeper)
        except SoftTimeLimitExceeded:
            _finish(run, owner, State.FAILED, error="The attempt hit the task time limit; retry resumes from the "
                                                   "last checkpoint.")
            outcome = State.FAILED
        except LeaseLost:
            raise
        except Exception as exc:
            logger.exception("training run %s failed", run.pk)
            _finish(run, owner, State.FAILED, error=f"{type(exc).__name__}: {exc}")
            outcome = State.FAILED
    except LeaseLost:
        logger.warning("run %s: lease lost by %s; leaving it to its new owner", run.pk, owner)
    finally:
        keeper.stop()
        metrics.RUN_DURATION_SECONDS.labels(kind="training", outcome=str(outcome)).observe(time.monotonic() - claimed)
    return outcome


def _finish(run: TrainingRun, owner: str, state: str, **fields) -> None:
    done = owned(run.pk, owner).update(state=state, finished_at=timezone.now(), lease_owner="",
                                       lease_expires_at=None, **fields)
    if not done:
        raise LeaseLost(run.pk)


def _examples(run: TrainingRun) -> list:
    from prefcontent.preferences.selectors import snapshot_examples

    return list(snapshot_examples(run.snapshot))


class _Progress:
    """The training loop's progress callback: metric history, step and checkpoint on the row."""

    def __init__(self, run: TrainingRun, owner: str, keeper: LeaseKeeper, checkpoint_dir: Path) -> None:
        self.run, self.owner, self.keeper, self.checkpoint_dir = run, owner, keeper, checkpoint_dir
        self.history: list[dict] = list(run.metrics or [])
        self.step, self.total = run.step, run.total_steps
        self.last_write = 0.0

    def __call__(self, record: dict) -> None:
        if "step_s" in record:
            metrics.TRAINING_STEP_SECONDS.observe(record["step_s"])
        kept = json_safe({k: record[k] for k in METRIC_KEYS if k in record})
        kept.update(json_safe({k: v for k, v in record.items() if k.startswith("holdout_")}))
        kept["attempt"] = self.run.attempts  # shows which steps a resumed attempt inherited
        # A resumed attempt replays the steps after its checkpoint: drop what it will redo.
        self.history = [m for m in self.history if m["step"] < record["step"]] + [kept]
        self.step, self.total = record["step"], record["total_steps"]
        # Always write on checkpoint steps (the loop reports before it saves), so the history on the
        # row covers every step a resumed attempt will not redo.
        every = self.run.hyperparameters.get("checkpoint_every") or 0
        at_checkpoint = bool(every) and self.step % every == 0
        if at_checkpoint or self.step == self.total or time.monotonic() - self.last_write >= PROGRESS_WRITE_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        if not self.history:
            return
        name = facade.latest_checkpoint_name(self.checkpoint_dir)
        key = str((self.checkpoint_dir / name).relative_to(settings.WORK_DIR)) if name else ""
        if not owned(self.run.pk, self.owner).update(step=self.step, total_steps=self.total, metrics=self.history,
                                                     checkpoint_key=key, updated_at=timezone.now()):
            self.keeper.lost.set()
        self.last_write = time.monotonic()


def _execute(run: TrainingRun, owner: str, keeper: LeaseKeeper) -> str:
    work = run_dir(run.pk)
    checkpoint_dir = work / "checkpoints"
    output_dir = work / f"adapter-attempt-{run.attempts}"
    parent = adapter_local_path(run.parent_adapter) if run.parent_adapter_id else None
    examples = _examples(run)
    resume = facade.latest_checkpoint_name(checkpoint_dir) is not None
    job = facade.train_job(base_model_path=run.base_model_id, examples=examples,
                           hyperparameters=run.hyperparameters, output_dir=output_dir,
                           checkpoint_dir=checkpoint_dir, parent_adapter_dir=parent, resume=resume)
    progress = _Progress(run, owner, keeper, checkpoint_dir)
    result = facade.run_training(job, progress=progress, should_cancel=keeper.should_stop)
    progress.flush()
    if keeper.lost.is_set():
        raise LeaseLost(run.pk)
    if result.cancelled or keeper.cancelled.is_set():
        _finish(run, owner, State.CANCELLED, error="Cancelled on request; no adapter was published.")
        return State.CANCELLED

    holdout = json_safe(result.holdout)
    report = json_safe(_gate(run, examples, Path(result.adapter_dir), result.holdout))
    for check in report["checks"]:
        metrics.GATE_CHECKS.labels(brand=str(run.brand_id), check=check["name"],
                                   result="passed" if check["passed"] else "failed").inc()
    if keeper.should_stop():  # the gate takes a while; a cancel during it still wins
        if keeper.lost.is_set():
            raise LeaseLost(run.pk)
        _finish(run, owner, State.CANCELLED, error="Cancelled on request; no adapter was published.")
        return State.CANCELLED

    def card(version: int) -> str:
        return render_model_card(
            brand_name=run.brand.name, version=version, base_model_id=run.base_model_id,
            data_summary=_data_summary(run, examples), hyperparameters=run.hyperparameters,
            holdout=holdout, history=progress.history, gate=report,
        )

    state = State.SUCCEEDED if report["passed"] else State.REJECTED
    error = "" if report["passed"] else "Promotion gate failed: " + "; ".join(report["reasons"])
    try:
        # One transaction: whoever sees the run succeeded also sees its adapter active (auto-promote).
        with transaction.atomic():
            adapter = adapter_version_publish(run=run, adapter_dir=Path(result.adapter_dir), eval_report=report,
                                              model_card=card, passed=report["passed"])
            _finish(run, owner, state, error=error, holdout=holdout, step=result.steps)
            if report["passed"]:
                adapter_auto_promote(adapter=adapter)
    except StoreError as exc:
        _finish(run, owner, State.FAILED, error=f"Publishing the adapter failed; nothing was published: {exc}")
        return State.FAILED
    shutil.rmtree(work, ignore_errors=True)
    return state


def _data_summary(run: TrainingRun, examples: list) -> dict:
    snapshot = run.snapshot
    return {
        "snapshot_id": snapshot.pk,
        "snapshot_hash": getattr(snapshot, "content_hash", ""),
        "train_pairs": sum(e.split == "train" for e in examples),
        "holdout_pairs": sum(e.split == "holdout" for e in examples),
        "counts": getattr(snapshot, "counts", {}),
        "parent_adapter_version": run.parent_adapter.version if run.parent_adapter_id else None,
    }


def _gate(run: TrainingRun, examples: list, adapter_dir: Path, holdout: dict) -> dict:
    """Generate for held-out briefs and the brand's recent briefs with base, candidate (and active adapter);
    apply the gate's checks to each set."""
    from prefcontent.brands.compliance import check_text, compliance_rules_for
    from prefcontent.content.wellformed import well_formed_flags
    from prefcontent.preferences.channels import snapshot_holdout_briefs, snapshot_holdout_channels

    sampling = GateSampling(**getattr(settings, "ADAPTER_GATE_SAMPLING", {}))
    held = list(dict.fromkeys(e.prompt for e in examples if e.split == "holdout"))[:sampling.max_prompts]
    baseline, label, note = None, "base", ""
    active = adapter_active_for(run.brand)
    if active is not None and adapter_base_mismatch(active, base_path=run.base_model_id, compute=True) is None:
        try:
            baseline = facade.GateAdapter(f"active-v{active.version}", adapter_local_path(active), active.sha256)
            label = f"active adapter v{active.version}"
        except AdapterArtifactError as exc:
            note = f"active adapter v{active.version} unreadable, compared with the base: {exc.message}"
    channel_of = snapshot_holdout_channels(run.snapshot) if held else {}
    brief_of = snapshot_holdout_briefs(run.snapshot) if held else {}
    # A recent brief may render the held-out prompt of another brief (the prompt states no facts): each
    # position keeps its own channel and brief.
    recent = _recent_prompts(run, sampling.recent_briefs) if held else []
    repeats = max(1, math.ceil(sampling.recent_samples / sampling.samples_per_prompt))
    sampled = [row for row in recent for _ in range(repeats)]  # each repeat on its own seed
    prompts = held + [row.prompt for row in sampled]
    channels = [channel_of.get(prompt, "") for prompt in held] + [row.channel for row in sampled]
    briefs = [brief_of.get(prompt) for prompt in held] + [row.brief for row in sampled]
    # Held-out briefs at the gate's temperature; recent ones as their last job sampled them: an adapter that
    # repeats one phrasing shows it at the temperature it is served at and hides it under hotter sampling.
    sampled_at = [None] * len(held) + [row.sampling for row in sampled]
    gens = facade.GateGenerations(prompts=[], base=[], candidate=[], baseline=None)
    if prompts:
        gens = facade.generate_for_gate(
            base_model_path=run.base_model_id, prompts=prompts, channels=channels,
            candidate=facade.GateAdapter(f"candidate-run-{run.pk}", adapter_dir, facade.adapter_checksum(adapter_dir)),
            baseline=baseline, samples_per_prompt=sampling.samples_per_prompt,
            max_new_tokens=sampling.max_new_tokens, temperature=sampling.temperature, seed=sampling.seed,
            sampling=sampled_at,
        )
    rules = compliance_rules_for(run.brand)
    claims_of = _claim_flags(run)

    def generation_set(first: int, last: int) -> GenerationSet:
        """The generations of prompts[first:last] (gens holds samples_per_prompt per prompt, in order)."""
        k = sampling.samples_per_prompt
        start, stop = first * k, last * k
        at = gens.prompts[start:stop]
        at_channels = [c for c in channels[first:last] for _ in range(k)]
        at_briefs = [b for b in briefs[first:last] for _ in range(k)]
        base, cand = gens.base[start:stop], gens.candidate[start:stop]
        line = gens.baseline[start:stop] if gens.baseline is not None else None

        def violations(texts: list[str]) -> list[bool]:
            return [not check_text(rules, text, c).ok for text, c in zip(texts, at_channels, strict=True)]

        def unsupported(texts: list[str]) -> list[bool] | None:
            return claims_of(texts, at_briefs) if claims_of else None

        return GenerationSet(
            base_texts=base, adapter_texts=cand, adapter_violations=violations(cand),
            baseline_violations=violations(line if line is not None else base),
            base_violations=violations(base) if line is not None else None,
            base_well_formed=well_formed_flags(base, at_channels, at),
            adapter_well_formed=well_formed_flags(cand, at_channels, at),
            adapter_unsupported_claims=unsupported(cand),
            baseline_unsupported_claims=unsupported(line if line is not None else base),
            base_unsupported_claims=unsupported(base) if line is not None else None,
        )

    report = evaluate_gate(GateInputs(
        holdout=holdout, beta=float(run.hyperparameters.get("beta", 0.1)), baseline_label=label,
        held_out=generation_set(0, len(held)), recent=generation_set(len(held), len(prompts)) if recent else None,
    ), gate_thresholds()).to_dict()
    report["summary"]["held_out_briefs"] = len(held)
    report["summary"]["recent_briefs"] = [{"brief_id": row.brief.pk, "channel": row.channel,
                                           "temperature": row.sampling[0], "top_p": row.sampling[1]} for row in recent]
    report["summary"]["channels"] = sorted(set(channels))
    if note:
        report["summary"]["note"] = note
    return report


@dataclass(frozen=True)
class _RecentBrief:
    prompt: str  # rendered as generation renders it now
    channel: str
    brief: object
    sampling: tuple[float, float]  # (temperature, top_p) of its newest job


def _recent_prompts(run: TrainingRun, limit: int) -> list[_RecentBrief]:
    """The brand's last briefs it generated copy for, each with the sampling its newest job asked for."""
    from prefcontent.generation.selectors import recent_briefs
    from prefcontent.generation.services import sampling_params
    from prefcontent.preferences.prompting import render_prompt

    found = []
    for brief, channel, params in recent_briefs(brand_id=run.brand_id, limit=limit):
        served = sampling_params(temperature=params.get("temperature"), top_p=params.get("top_p"))  # None: default
        found.append(_RecentBrief(render_prompt(brand=run.brand, brief=brief, channel=channel), channel, brief,
                                  (float(served.temperature), float(served.top_p))))
    return found


def _claim_flags(run: TrainingRun):
    """A function (texts, the brief of each) -> per text whose brief has facts, whether it makes a claim the facts
    contradict or do not support (read for today), texts for briefs without facts left out; it returns None
    when no text has a brief with facts. None instead of the function when the brand's claim_guard is off."""
    from prefcontent.brands.settings import OFF, brand_settings
    from prefcontent.content.claims import check_claims, claim_problems
    from prefcontent.content.claims.facts import facts_read

    cfg = brand_settings(run.brand)
    if cfg.claim_guard == OFF:
        return None
    today = timezone.localdate()
    read: dict[int, object] = {}

    def facts(brief):
        if brief is None:
            return None
        if brief.pk not in read:
            read[brief.pk] = facts_read(brief.facts, also_allowed=cfg.allowed_claims)
        return read[brief.pk]

    def flags(texts: list[str], briefs: list) -> list[bool] | None:
        judged = [(text, brief, f) for text, brief in zip(texts, briefs, strict=True) if (f := facts(brief)) is not None]
        if not judged:
            return None
        return [bool(claim_problems(check_claims(text, f, today=today, locale=brief.locale or "en",
                                                 product=brief.product or "")))
                for text, brief, f in judged]

    return flags
