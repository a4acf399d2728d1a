"""The lift the report measures from simulated traffic, beside the true lift the audience knows.

True lift of a set of experiments: the click probability of what treated readers were served
(their arms' true probabilities, weighted by how many treated readers each arm got) over that of
what held-out readers were served, minus one, pooled over the experiments as the report pools them.
Every reader sees their arm the same number of times, so it is also the ratio of expected clicks per
reader. Measured lift: prefcontent.experiments.lift over the same experiments, from their events.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta


def true_lift(experiment_ids: list[int], click_probability: Callable[[str], float]) -> float | None:
    from django.db.models import Count

    from prefcontent.experiments.models import Assignment

    sums = {False: [0.0, 0], True: [0.0, 0]}
    rows = (Assignment.objects.filter(experiment_id__in=experiment_ids).values("arm__variant__text", "holdout")
            .annotate(n=Count("id")).values_list("arm__variant__text", "holdout", "n"))
    for text, held, n in rows:
        sums[held][0] += n * click_probability(text)
        sums[held][1] += n
    (treated, n_t), (held, n_h) = sums[False], sums[True]
    if not n_t or not n_h or held <= 0:
        return None
    return (treated / n_t) / (held / n_h) - 1


def measured_lift(brand, experiment_ids: list[int], since) -> dict:
    """The report's whole-window estimate over these experiments: lift, low, high and reader counts."""
    from django.utils import timezone

    from prefcontent.experiments.lift import lift_report_for_brand, lift_window

    window = lift_window(since=(since - timedelta(minutes=10)).isoformat(),
                         until=(timezone.now() + timedelta(minutes=10)).isoformat())
    report = lift_report_for_brand(brand=brand, window=window, experiment_ids=experiment_ids)
    estimates = [c["overall"] for c in report["channels"]]
    if len(estimates) != 1:  # the simulated experiments of a brand share one channel
        return {"lift": None, "low": None, "high": None, "treated_rate": None, "holdout_rate": None,
                "treated_readers": 0, "holdout_readers": 0}
    return estimates[0]


def round_lift(brand, experiment_ids: list[int], since, click_probability: Callable[[str], float]) -> dict:
    """The four figures a round report carries."""
    measured = measured_lift(brand, experiment_ids, since)
    return {"measured_lift": measured["lift"], "measured_lift_low": measured["low"],
            "measured_lift_high": measured["high"], "true_lift": true_lift(experiment_ids, click_probability)}
