"""Which channel an experiment's copy ran on (and for which brief), for the prompt its pairs train on and the gate's
checks."""
from __future__ import annotations

from collections.abc import Iterable

from prefcontent.content.models import Brief
from prefcontent.experiments.models import Arm, Experiment
from prefcontent.preferences.models import DatasetSnapshot


def experiment_channel(experiment: Experiment, arms: Iterable[Arm]) -> str:
    """The experiment's campaign channel; without a campaign, the one channel its variants were made for (their
    campaign's, or the channel the generation job wrote them for); "" when none or several were recorded.

    Generated copy tested without a campaign must train on the prompt it was generated from, channel included.
    """
    if experiment.campaign_id:
        return experiment.campaign.channel
    found = set()
    for arm in arms:
        variant = arm.variant
        channel = (variant.provenance or {}).get("channel") or (variant.campaign.channel if variant.campaign_id else "")
        found.add(channel or "")
    return found.pop() if len(found) == 1 else ""


def snapshot_holdout_channels(snapshot: DatasetSnapshot) -> dict[str, str]:
    """Held-out prompt -> the channel of the experiment it came from (the gate judges samples for that channel)."""
    rows = snapshot.rows.filter(split="holdout").values_list("prompt", "experiment_id")
    ids = {experiment_id for _, experiment_id in rows}
    experiments = (Experiment.objects.filter(pk__in=ids).select_related("campaign")
                   .prefetch_related("arms__variant__campaign"))
    channels = {e.pk: experiment_channel(e, e.arms.all()) for e in experiments}
    return {prompt: channels.get(experiment_id, "") for prompt, experiment_id in rows}


def snapshot_holdout_briefs(snapshot: DatasetSnapshot) -> dict[str, Brief | None]:
    """Held-out prompt -> the brief of the experiment it came from (the gate reads its facts), None without one."""
    rows = snapshot.rows.filter(split="holdout").values_list("prompt", "experiment_id")
    briefs = {e.pk: e.brief for e in Experiment.objects.filter(pk__in={i for _, i in rows}).select_related("brief")}
    return {prompt: briefs.get(experiment_id) for prompt, experiment_id in rows}
