"""One closed loop per brand, through the real code paths.

Round 0 generates with the base model; every later round first trains on what the previous
rounds' experiments taught (snapshot → training run on a real Celery worker → gate → promote),
then generates with the brand's active adapter. Each round: generate for several briefs,
run an experiment per brief with simulated readers (assignment + event ingestion), let the
decision rules conclude them, build pairs (guardrail filters included), and measure.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from simulation.audience import SimBrand, default_brands
from simulation.metrics import (
    ceiling_ctr,
    distinct_n_at,
    ended_rate,
    headroom_captured,
    unsupported_claim_rate,
    valid_rate,
    violation_rate,
)
from simulation.traffic import send_traffic


@dataclass
class SimConfig:
    rounds: int = 4  # round 0 (base model) plus rounds-1 trained rounds
    brands: int = 2  # how many of the default brands take part
    briefs: int = 10  # briefs (experiments) per brand and round
    candidates: int = 8  # variants each generation job serves (n); an experiment's arms come from one job
    # With an active adapter each job samples best_of and serves the n that rank best (the product's
    # best_of: the adapter's implicit DPO reward plus the brand's test evidence, kept apart from each
    # other and from the brand's recent variants); without one (round 0) it samples n.
    best_of: int | None = 32
    # Generation jobs per brief. One job's variants go into the brief's experiment (the last created: jobs come
    # back newest first, and `jobs[:len(briefs)]` holds one job of each brief); the round's metrics
    # are read on all of them (10 briefs x 2 x 8 = 160 served texts, up to 640 sampled), so that e.g. a 3 %
    # violation rate is not measured as 0/80 in one round and 2/80 in the next.
    jobs_per_brief: int = 2
    diversity_sample: int = 120  # distinct2 is read on this many served texts (see metrics.distinct_n_at)
    arms: int = 4  # arms per experiment (compliant candidates, chosen to differ from each other)
    units: int = 1100  # simulated readers per experiment (traffic is most of a run: 8-15 min on 2 cores)
    views_per_unit: int = 24  # impressions per reader
    decision_threshold: float = 0.9  # the simulated brands' required probability-to-be-best
    history_tests: int = 200  # past A/B tests each brand imports before round 0 (0: none)
    min_sample_per_arm: int = 1000  # impressions an arm needs before a decision
    train_epochs: int = 4  # passes over the snapshot's train split per training run
    learning_rate: float = 2e-3  # the dev model is tiny: LoRA on it needs a larger step than on a 1B model
    holdout_fraction: float = 0.25  # share of pairs the gate evaluates on
    beta: float = 0.3
    # Conservative DPO: A/B winners are right most of the time, not always (threshold 0.9, pairs at 0.95,
    # many tests), and plain DPO on noisy labels pushes the losers down until the copy stops parsing.
    loss_type: str = "cdpo"
    label_smoothing: float = 0.2
    rpo_alpha: float = 1.0  # NLL on the winners keeps the copy grammatical while DPO moves it (see ml.losses)
    entropy_floor: float = 0.0  # the price of next-token entropy lost against the base (ml.losses); see simulate
    # Rule-repair pairs (prefcontent.preferences.building): each rule-breaking arm of the imported history,
    # repaired, over itself; they train without the NLL term. Off, as for a new brand (see bench/RESULTS.md).
    repair_pairs: bool = False
    temperature: float = 0.8
    max_new_tokens: int = 40
    seed: int = 0
    job_timeout_s: float = 900.0  # the longest wait for the workers without progress (a job done, a run ended)
    # The brands' claim_guard (prefcontent.brands.settings): "off" for the comparison run that lets copy claiming
    # more than its brief's offer into tests and pairs (manage.py simulate --claim-guard off).
    claim_guard: str = "block"
    # Each experiment's control is human-written copy (simulation.copywriter), the copy the brand would have
    # run anyway: the brand's persistent holdout sees it, and the round measures the lift over it.
    human_control: bool = True


@dataclass
class RoundReport:
    round: int
    adapter_version: int | None
    true_ctr: float
    valid_rate: float  # share of sampled texts that are well-formed copy for the channel
    ended_rate: float  # share of sampled texts the model ended itself, not the token budget
    violation_rate: float
    distinct2: float
    generated: int  # texts sampled (best_of per job with an adapter)
    served: int  # texts the jobs kept as variants (n per job)
    experiments: int
    concluded: int
    pairs_active: int
    training: dict = field(default_factory=dict)
    # Share of sampled texts (before any filter) with a claim their brief's facts contradict or do not support,
    # and of served texts (what the jobs kept as variants).
    unsupported_claim_rate: float = 0.0
    served_unsupported_claim_rate: float = 0.0
    # The lift report over this round's experiments (treated readers against the holdout, from events)
    # beside the true lift the audience knows (simulation.lift); None without held-out readers.
    measured_lift: float | None = None
    measured_lift_low: float | None = None
    measured_lift_high: float | None = None
    true_lift: float | None = None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str, poll_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll_s)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def _wait_progress(done: Callable[[], int], total: int, stall_s: float, what: str, poll_s: float = 0.5) -> None:
    """Wait until `done()` reaches `total`, failing only after `stall_s` without one more done.

    Many jobs on a slow machine take long in all, each within its own task time limit: a stall,
    not the sum, is what says the workers are stuck.
    """
    count, deadline = done(), time.monotonic() + stall_s
    while count < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no progress for {stall_s:.0f}s waiting for {what} ({count} of {total} done)")
        time.sleep(poll_s)
        latest = done()
        if latest > count:
            count, deadline = latest, time.monotonic() + stall_s


def pick_diverse(variants: list, k: int, products: tuple[str, ...] = ()) -> list:
    """Up to k distinct variants that differ most in their visible features, as a marketer would test.

    Greedy farthest-point selection on the copy's visible features (discount, urgency, question,
    emoji, length, ...), read off the free text; the audience's weights stay hidden.
    """
    from simulation.audience import feature_vector

    unique = list({v.content_hash: v for v in variants}.values())
    if not unique:
        return []
    vectors = {v.pk: feature_vector(v.text, products) for v in unique}

    def distance(a, b) -> float:
        return sum(abs(vectors[a.pk][f] - vectors[b.pk][f]) for f in vectors[a.pk])

    chosen = [unique[0]]
    while len(chosen) < min(k, len(unique)):
        rest = [v for v in unique if v not in chosen]
        chosen.append(max(rest, key=lambda v: min(distance(v, c) for c in chosen)))
    return chosen


class BrandLoop:
    """The loop for one simulated brand, owned by a simulation organization."""

    def __init__(self, sim: SimBrand, *, org, owner, cfg: SimConfig, log: Callable[[str], None]):
        from prefcontent.accounts.services import api_key_create
        from prefcontent.brands.compliance import check_text, compliance_rules_for
        from prefcontent.brands.compliance_services import compliance_rule_create
        from prefcontent.brands.models import Brand
        from prefcontent.brands.settings import brand_settings_clean
        from prefcontent.tenancy.principal import principal_for_api_key, principal_for_user

        self.sim, self.cfg, self.log = sim, cfg, log
        self.principal = principal_for_user(owner)
        self.brand, created = Brand.objects.get_or_create(
            organization=org, slug=sim.name.lower(),
            defaults={"name": sim.name, "voice": sim.voice,
                      # "flag" keeps violating candidates visible so the report can count them;
                      # the simulation never puts a flagged candidate into an experiment.
                      "settings": brand_settings_clean({"compliance_mode": "flag", "auto_promote": True,
                                                        "decision_threshold": cfg.decision_threshold,
                                                        "pairs_from_repairs": cfg.repair_pairs,
                                                        "claim_guard": cfg.claim_guard})},
        )
        if created:
            for phrase in sim.rules.get("banned_phrases", []):
                compliance_rule_create(principal=self.principal, brand=self.brand, kind="banned_phrase", pattern=phrase)
            if sim.rules.get("max_discount_pct") is not None:
                compliance_rule_create(principal=self.principal, brand=self.brand, kind="max_discount",
                                       limit=float(sim.rules["max_discount_pct"]))
            if cfg.history_tests:
                self._import_history()
        issued = api_key_create(principal=self.principal, brand=self.brand, name="simulation",
                                scopes=["assign", "events:write"])
        from prefcontent.accounts.models import ApiKey

        self.key_principal = principal_for_api_key(ApiKey.objects.select_related("brand").get(pk=issued.api_key.pk))
        rules = compliance_rules_for(self.brand)
        self.allowed = lambda text: check_text(rules, text, sim.channel).ok
        self.rng = random.Random(cfg.seed * 1000 + sum(map(ord, sim.name)))
        self.reports: list[RoundReport] = []
        self.last_texts: list[str] = []

    def _import_history(self) -> None:
        """The brand's past tests through the real history import (statistics, decisions, pairs)."""
        from prefcontent.preferences.history_import import history_import
        from simulation.history import history_csv

        data = history_csv(self.sim, tests=self.cfg.history_tests, seed=self.cfg.seed)
        outcome = history_import(principal=self.principal, brand=self.brand, data=data, filename="history.csv",
                                 min_sample_per_arm=self.cfg.min_sample_per_arm)
        self.log(f"{self.sim.name}: imported history {outcome.report}")

    # -- one round -------------------------------------------------------------------------

    def _briefs(self, round_no: int):
        from django.utils import timezone

        from prefcontent.content.models import Brief
        from simulation.offers import brief_facts

        briefs = []
        for i in range(self.cfg.briefs):
            product = self.sim.products[i % len(self.sim.products)]
            tone = self.sim.tones[(i + round_no) % len(self.sim.tones)]
            brief, _ = Brief.objects.get_or_create(
                brand=self.brand, title=f"{product} / {tone}",
                defaults={"product": product, "audience": "everyone", "tone": tone, "locale": self.brand.locale,
                          "facts": brief_facts(self.sim.name, i, timezone.localdate())},
            )
            briefs.append(brief)
        return briefs

    def _generate(self, briefs, round_no: int, *, ranked: bool) -> list:
        from prefcontent.generation.models import GenerationJob
        from prefcontent.generation.services import generation_job_create, sampling_params

        best_of = self.cfg.best_of if ranked else None
        jobs = []
        for k in range(self.cfg.jobs_per_brief):  # one job for every brief, then the next
            for i, brief in enumerate(briefs):
                params = sampling_params(n=self.cfg.candidates, temperature=self.cfg.temperature, top_p=1.0,
                                         max_new_tokens=self.cfg.max_new_tokens, best_of=best_of,
                                         seed=self.cfg.seed * 100_000 + round_no * 100 + i + 1000 * k)
                jobs.append(generation_job_create(principal=self.principal, brand=self.brand, brief=brief,
                                                  channel=self.sim.channel, params=params))
        ids = [j.pk for j in jobs]
        _wait_progress(lambda: GenerationJob.objects.filter(pk__in=ids, state__in=GenerationJob.TERMINAL).count(),
                       len(ids), self.cfg.job_timeout_s, "generation jobs")
        failed = GenerationJob.objects.filter(pk__in=ids, state=GenerationJob.State.FAILED)
        if failed.exists():
            job = failed.first()
            raise RuntimeError(f"generation job {job.pk} failed: {job.error_code} {job.error_message}")
        return list(GenerationJob.objects.filter(pk__in=ids).select_related("brief")
                    .prefetch_related("candidates__variant"))

    def _human_copy(self, brief):
        """A compliant human-written variant for the brief (the copywriter's, as the brand would have run)."""
        from prefcontent.content.channels import channel_form
        from prefcontent.content.services import variant_create
        from simulation.copywriter import write_copy

        for _ in range(50):
            text = write_copy(self.rng, product=brief.product, tone=brief.tone,
                              max_chars=channel_form(self.sim.channel).max_chars)
            if self.allowed(text):
                return variant_create(principal=self.principal, brand=self.brand, text=text, source="human",
                                      brief=brief)
        return None

    def _campaign(self):
        from prefcontent.content.models import Campaign

        campaign, _ = Campaign.objects.get_or_create(brand=self.brand, name="simulation",
                                                     defaults={"channel": self.sim.channel})
        return campaign

    def _experiment(self, job, round_no: int):
        from prefcontent.experiments.services import ArmSpec, experiment_create, experiment_transition

        stored = [c.variant for c in job.candidates.all() if c.variant_id and not c.violations]
        arms = pick_diverse(stored, self.cfg.arms, self.sim.products)
        if len(arms) < 2:
            return None
        human = self._human_copy(job.brief) if self.cfg.human_control else None
        if human is not None:
            arms = [human, *arms]
        experiment = experiment_create(
            principal=self.principal, brand=self.brand, name=f"sim r{round_no} job {job.pk}", brief=job.brief,
            arms=[ArmSpec(variant=v, is_control=(i == 0)) for i, v in enumerate(arms)],
            primary_metric="click", min_sample_per_arm=self.cfg.min_sample_per_arm, campaign=self._campaign(),
        )
        return experiment_transition(principal=self.principal, experiment=experiment, action="start")

    def _decide(self, experiment) -> bool:
        from prefcontent.experiments.decisions import experiment_decide, experiment_stop

        result = experiment_decide(principal=self.principal, experiment=experiment)
        if result.decision is None:
            result = experiment_stop(principal=self.principal, experiment=experiment)
        return result.experiment.status == "concluded"

    def run_round(self, round_no: int) -> RoundReport:
        from prefcontent.adapters.selectors import adapter_active_for
        from prefcontent.preferences.models import PreferencePair

        active = adapter_active_for(self.brand)
        briefs = self._briefs(round_no)
        jobs = self._generate(briefs, round_no, ranked=active is not None)
        # Validity and compliance are read on everything sampled (before any filter or ranking);
        # CTR and diversity on what the jobs served as variants, which is what a marketer gets.
        sampled = [(c, job.prompt) for job in jobs for c in job.candidates.all()]
        texts = [c.text for c, _ in sampled if c.text]
        served = [c.text for job in jobs for c in job.candidates.all() if c.variant_id]
        allowed_texts = [t for t in served if self.allowed(t)]
        claims_sampled, claims_served = self._claim_rates(jobs)
        from django.utils import timezone

        traffic_from = timezone.now()
        experiments = [e for e in (self._experiment(job, round_no) for job in jobs[:len(briefs)]) if e is not None]
        concluded = 0
        for experiment in experiments:
            send_traffic(key_principal=self.key_principal, experiment_id=experiment.pk, audience=self.sim.audience,
                         units=self.cfg.units, views_per_unit=self.cfg.views_per_unit, rng=self.rng)
            concluded += self._decide(experiment)
        concluded_ids = [e.pk for e in experiments]
        # Pairs are built by the preferences task the decision enqueued on a worker; wait for it.
        from prefcontent.experiments.models import Experiment

        winners = list(Experiment.objects.filter(pk__in=concluded_ids, status="concluded").values_list("pk", flat=True))
        _wait(lambda: set(PreferencePair.objects.filter(experiment_id__in=winners)
                          .values_list("experiment_id", flat=True).distinct()) == set(winners),
              self.cfg.job_timeout_s, "preference pairs")
        self.last_texts = allowed_texts
        from simulation.lift import round_lift

        lift = round_lift(self.brand, [e.pk for e in experiments], traffic_from, self.sim.audience.click_probability)
        report = RoundReport(**lift,
            round=round_no, adapter_version=active.version if active else None,
            true_ctr=self.sim.audience.true_ctr(allowed_texts),
            valid_rate=valid_rate([c.text for c, _ in sampled], self.sim.channel, [p for _, p in sampled]),
            ended_rate=ended_rate([c.finish_reason for c, _ in sampled]),
            violation_rate=violation_rate(texts, self.allowed), distinct2=distinct_n_at(served, self.cfg.diversity_sample, seed=self.cfg.seed * 100 + round_no),
            generated=len(texts), served=len(served), experiments=len(experiments), concluded=concluded,
            pairs_active=PreferencePair.objects.filter(brand=self.brand, status="active").count(),
            unsupported_claim_rate=claims_sampled, served_unsupported_claim_rate=claims_served,
        )
        self.reports.append(report)
        self._record_history()
        self.log(f"{self.sim.name} round {round_no}: adapter={report.adapter_version} true_ctr={report.true_ctr:.4f} "
                 f"valid={report.valid_rate:.2f} ended={report.ended_rate:.2f} violations={report.violation_rate:.2f} "
                 f"distinct2={report.distinct2:.2f} unsupported_claims={report.unsupported_claim_rate:.2f} "
                 f"served_unsupported_claims={report.served_unsupported_claim_rate:.2f} "
                 f"concluded={concluded}/{len(experiments)} "
                 f"pairs={report.pairs_active} measured_lift={_fmt(report.measured_lift)} "
                 f"[{_fmt(report.measured_lift_low)}, {_fmt(report.measured_lift_high)}] "
                 f"true_lift={_fmt(report.true_lift)}")
        return report

    @staticmethod
    def _claim_rates(jobs) -> tuple[float, float]:
        """Unsupported-claim rate of everything sampled (before the guard or any filter) and of what was served."""
        from django.utils import timezone

        today = timezone.localdate()
        sampled = [(c.text, job.brief) for job in jobs for c in job.candidates.all() if c.text]
        served = [(c.text, job.brief) for job in jobs for c in job.candidates.all() if c.variant_id]
        return unsupported_claim_rate(sampled, today), unsupported_claim_rate(served, today)

    def _record_history(self) -> None:
        """Keep the rounds on the brand so the dashboard overview shows the same history as the report."""
        from dataclasses import asdict

        from prefcontent.brands.models import Brand
        from prefcontent.brands.settings import brand_settings_with

        brand = Brand.objects.get(pk=self.brand.pk)
        brand.settings = brand_settings_with(brand, simulation_history=[
            {k: v for k, v in asdict(r).items() if k != "training"} for r in self.reports])
        brand.save(update_fields=["settings"])

    def train(self) -> dict:
        """Snapshot the active pairs and train on a real worker; the gate decides promotion."""
        from prefcontent.adapters.selectors import adapter_active_for
        from prefcontent.core.errors import DomainError
        from prefcontent.preferences.snapshots import snapshot_create
        from prefcontent.training.models import TrainingRun
        from prefcontent.training.services import training_run_create

        try:
            snapshot = snapshot_create(principal=self.principal, brand=self.brand, name="simulation",
                                       holdout_fraction=self.cfg.holdout_fraction)
            run = training_run_create(
                principal=self.principal, brand=self.brand, snapshot=snapshot, parent_adapter=None,
                hyperparameters={"epochs": self.cfg.train_epochs, "lr": self.cfg.learning_rate, "beta": self.cfg.beta,
                                 "loss_type": self.cfg.loss_type, "label_smoothing": self.cfg.label_smoothing,
                                 "rpo_alpha": self.cfg.rpo_alpha, "entropy_floor": self.cfg.entropy_floor,
                                 "seed": self.cfg.seed},
            )
        except DomainError as exc:  # too few pairs, or a snapshot the gate could never pass
            self.log(f"{self.sim.name}: no training this round ({exc.message})")
            return {"state": "skipped", "reason": exc.message}
        _wait(lambda: TrainingRun.objects.get(pk=run.pk).state not in ("queued", "running"),
              self.cfg.job_timeout_s, f"training run {run.pk}", poll_s=1.0)
        run.refresh_from_db()
        active = adapter_active_for(self.brand)
        outcome = {"run": run.pk, "state": run.state, "pairs": snapshot.counts,
                   "active_version": active.version if active else None, "error": run.error[:300]}
        self.log(f"{self.sim.name}: training run {run.pk} {run.state}; active adapter v{outcome['active_version']}")
        return outcome


def simulation_owner(org_slug: str = "simulation", *, watcher: str = "demo"):
    """The simulation's organization and acting user; `watcher` (the demo user, if it exists) joins it
    as a marketer so the dashboard shows the simulated brands."""
    from prefcontent.accounts.models import Membership, Organization

    org, _ = Organization.objects.get_or_create(slug=org_slug, defaults={"name": "Simulation"})
    user, _ = get_user_model().objects.get_or_create(username="simulation")
    Membership.objects.update_or_create(organization=org, user=user, defaults={"role": "owner"})
    person = get_user_model().objects.filter(username=watcher).first() if watcher else None
    if person is not None:
        Membership.objects.get_or_create(organization=org, user=person, defaults={"role": "marketer"})
    return org, user


def run_simulation(cfg: SimConfig, *, log: Callable[[str], None] = print) -> dict:
    org, owner = simulation_owner(f"simulation-{cfg.seed}")
    sims = default_brands(seed=cfg.seed)[: cfg.brands]
    loops = [BrandLoop(sim, org=org, owner=owner, cfg=cfg, log=log) for sim in sims]
    for round_no in range(cfg.rounds):
        for loop in loops:
            if round_no > 0:
                outcome = loop.train()
            loop.run_round(round_no)
            if round_no > 0:
                loop.reports[-1].training = outcome
    return build_report(loops, cfg)


def build_report(loops: list[BrandLoop], cfg: SimConfig) -> dict:
    from dataclasses import asdict

    brands = {}
    for loop in loops:
        rounds = [asdict(r) for r in loop.reports]
        first, last = loop.reports[0], loop.reports[-1]
        others = [o for o in loops if o is not loop]
        ceiling = ceiling_ctr(loop.sim.audience, loop.allowed, channel=loop.sim.channel, products=loop.sim.products,
                              seed=cfg.seed)
        entry = {
            "rounds": rounds,
            "lift": (last.true_ctr / first.true_ctr - 1.0) if first.true_ctr else None,
            "ceiling_ctr": ceiling,
            "headroom_captured": headroom_captured(first.true_ctr, last.true_ctr, ceiling),
        }
        if others:
            other = others[0]
            entry["cross_ctr"] = other.sim.audience.true_ctr(loop.last_texts)
            entry["other_adapter_ctr"] = loop.sim.audience.true_ctr(other.last_texts)
        brands[loop.sim.name] = entry
    return {"config": asdict(cfg), "brands": brands}
