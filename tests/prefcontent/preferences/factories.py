"""Concluded experiments with real decisions (the live evaluation path), for pair tests."""
from __future__ import annotations

from prefcontent.content.hashing import content_hash
from prefcontent.content.models import Brief, Campaign, Variant
from prefcontent.experiments.decisions import experiment_evaluate
from prefcontent.experiments.models import CONCLUDED, Arm, Decision, Experiment


def concluded_experiment(brand, arms: list[tuple[str, int, int]], *, channel: str | None = "headline",
                         min_sample: int = 100, product: str = "running shoes", weights: list[float] | None = None,
                         decide: bool = True) -> Experiment:
    """An experiment over `arms` = [(text, impressions, clicks), ...] (first is control), decided by the live rules.

    With `decide`, the decision is whatever the stats say (winner or inconclusive), as in production.
    """
    campaign = Campaign.objects.create(brand=brand, name="Spring", channel=channel) if channel else None
    brief = Brief.objects.create(brand=brand, campaign=campaign, title="Spring launch", product=product,
                                 audience="runners", tone="playful")
    experiment = Experiment.objects.create(brand=brand, campaign=campaign, brief=brief, name="test",
                                           status="running", min_sample_per_arm=min_sample)
    weights = weights or [1 / len(arms)] * len(arms)
    for i, ((text, impressions, clicks), weight) in enumerate(zip(arms, weights, strict=True)):
        variant = Variant.objects.create(brand=brand, brief=brief, campaign=campaign, text=text,
                                         content_hash=content_hash(text))
        Arm.objects.create(experiment=experiment, variant=variant, is_control=i == 0, weight=weight,
                           impressions=impressions, clicks=clicks)
    if decide:
        evaluation = experiment_evaluate(experiment=experiment)
        winner = evaluation.analysis.winner_id
        Decision.objects.create(experiment=experiment, outcome="winner" if winner else "inconclusive",
                                winner_arm_id=int(winner) if winner else None, reason=evaluation.analysis.reason,
                                evidence=evaluation.evidence, decided_by="system")
        experiment.status = CONCLUDED if winner else "stopped"
        experiment.save(update_fields=["status"])
    return experiment


def clear_win(brand, winner: str = "Fresh kicks for every run. Shop now",
              loser: str = "Our running shoes are here", **kwargs) -> Experiment:
    """Two arms, the second (`winner`) clearly better."""
    return concluded_experiment(brand, [(loser, 5000, 250), (winner, 5000, 400)], **kwargs)
