"""/dashboard/lift/: the brand's lift over its holdout, by week with its band, per channel."""
from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from prefcontent.dashboard.charts import Series, line_chart
from prefcontent.dashboard.views.base import Dash, dashboard_page, page_context
from prefcontent.experiments.lift import brand_lift_report

ALERT_LABELS = {"below_zero": "NO LIFT", "decay": "DECAY"}


def _chart(channel: dict):
    weeks = [w for w in channel["weeks"] if w["lift"] is not None]
    points = [(datetime.fromisoformat(w["week"]).replace(tzinfo=UTC).timestamp(), w) for w in weeks]
    series = [Series(f"{channel['channel']}: lift over holdout", [(x, w["lift"]) for x, w in points],
                     band=[(x, w["low"], w["high"]) for x, w in points])]
    if points:  # the line lift must clear
        series.append(Series("no lift", [(points[0][0], 0.0), (points[-1][0], 0.0)]))
    return line_chart(series, title=f"Lift by week, {channel['channel']}",
                      x_format=lambda v: datetime.fromtimestamp(v, tz=UTC).strftime("%m-%d"),
                      y_format=lambda v: f"{v:+.0%}")


@require_GET
@dashboard_page
def lift(request: HttpRequest, dash: Dash) -> HttpResponse:
    q = request.GET
    report = brand_lift_report(principal=dash.principal, brand_id=dash.brand.pk, weeks=q.get("weeks") or None,
                               metric=q.get("metric") or None)
    charts = [(channel, _chart(channel)) for channel in report["channels"]]
    alerts = [{**a, "label": ALERT_LABELS[a["kind"]]} for a in report["alerts"]]
    return render(request, "dashboard/lift.html", page_context(
        dash, report=report, charts=charts, alerts=alerts, weeks=q.get("weeks") or "12",
        holdout_percent=f"{report['holdout_share']:.0%}"))
