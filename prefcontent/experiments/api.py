"""REST API for marketers: experiments, their arms, weights, state machine and decisions."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from prefcontent.brands.selectors import brand_get
from prefcontent.content import selectors as content_selectors
from prefcontent.experiments import decisions, services
from prefcontent.experiments.lift import brand_lift_report
from prefcontent.experiments.models import Experiment
from prefcontent.experiments.serializers import (
    EvaluationOut,
    ExperimentCreateIn,
    ExperimentOut,
    ExperimentUpdateIn,
    LiftReportOut,
    WeightsIn,
)
from prefcontent.tenancy.roles import SCOPE_CONTENT_READ
from prefcontent.tenancy.views import TenantAPIView, TenantViewSet

STATUS_FILTER = OpenApiParameter("status", str, description="Only experiments in this status.")
BRAND_FILTER = OpenApiParameter("brand", int, description="Only experiments of this brand.")


def _evaluation_body(result: decisions.DecideResult) -> dict:
    experiment = Experiment.objects.prefetch_related("arms").select_related("decision").get(pk=result.experiment.pk)
    return {"concluded": result.decision is not None, "experiment": ExperimentOut(experiment).data,
            "evidence": result.evaluation.evidence}


@extend_schema_view(list=extend_schema(parameters=[BRAND_FILTER, STATUS_FILTER]))
class ExperimentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """A/B experiments. Writes need the content.write capability; API keys may read with content:read."""

    queryset = Experiment.objects.all()
    serializer_class = ExperimentOut
    api_key_read_scope = SCOPE_CONTENT_READ

    def base_queryset(self):
        qs = Experiment.objects.prefetch_related("arms").select_related("decision")
        wanted = self.request.query_params.get("status") if self.request else None
        if wanted and getattr(self, "action", None) == "list":
            qs = qs.filter(status=wanted)
        return qs

    def _detail(self, experiment: Experiment, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.base_queryset().get(pk=experiment.pk)
        return Response(ExperimentOut(fresh).data, status=code)

    def _optional(self, getter, key: str, value):
        return None if value is None else getter(principal=self.principal, **{key: value})

    @extend_schema(request=ExperimentCreateIn, responses={201: ExperimentOut})
    def create(self, request):
        data = ExperimentCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        brand = brand_get(principal=self.principal, brand_id=data.validated_data["brand"])
        fields = {k: v for k, v in data.validated_data.items() if k != "brand"}
        arms = [services.ArmSpec(variant=content_selectors.variant_get(principal=self.principal,
                                                                       variant_id=a["variant"]),
                                 is_control=a["is_control"], weight=a.get("weight"))
                for a in fields.pop("arms")]
        fields["campaign"] = self._optional(content_selectors.campaign_get, "campaign_id", fields.get("campaign"))
        fields["brief"] = self._optional(content_selectors.brief_get, "brief_id", fields.get("brief"))
        experiment = services.experiment_create(principal=self.principal, brand=brand, arms=arms, **fields)
        return self._detail(experiment, status.HTTP_201_CREATED)

    @extend_schema(request=ExperimentUpdateIn, responses=ExperimentOut)
    def partial_update(self, request, pk=None):
        experiment = self.get_object()
        data = ExperimentUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.experiment_update(principal=self.principal, experiment=experiment, **data.validated_data)
        return self._detail(experiment)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.experiment_delete(principal=self.principal, experiment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _transition(self, name: str) -> Response:
        experiment = services.experiment_transition(principal=self.principal, experiment=self.get_object(),
                                                    action=name)
        return self._detail(experiment)

    @extend_schema(request=None, responses=ExperimentOut)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """draft → running."""
        return self._transition("start")

    @extend_schema(request=None, responses=ExperimentOut)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        """running → paused (units keep their arm; new units see the control)."""
        return self._transition("pause")

    @extend_schema(request=None, responses=ExperimentOut)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """paused → running."""
        return self._transition("resume")

    @extend_schema(request=None, responses=EvaluationOut)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        """End it: concluded if the decision rules already give a winner, else stopped (inconclusive)."""
        result = decisions.experiment_stop(principal=self.principal, experiment=self.get_object())
        return Response(_evaluation_body(result))

    @extend_schema(request=None, responses=EvaluationOut)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Evaluate now: conclude with a winner if the rules allow, otherwise keep running."""
        result = decisions.experiment_decide(principal=self.principal, experiment=self.get_object())
        return Response(_evaluation_body(result))

    @extend_schema(request=WeightsIn, responses=ExperimentOut)
    @action(detail=True, methods=["post"])
    def weights(self, request, pk=None):
        """New fixed weights for units not yet assigned (assigned units keep their arm)."""
        experiment = self.get_object()
        data = WeightsIn(data=request.data)
        data.is_valid(raise_exception=True)
        weights = {a["id"]: a["weight"] for a in data.validated_data["arms"]}
        services.experiment_set_weights(principal=self.principal, experiment=experiment, weights=weights)
        return self._detail(experiment)

    @extend_schema(responses=EvaluationOut)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The live analysis (counts, rates, intervals, probabilities, tests); changes nothing."""
        experiment = self.get_object()
        evaluation = decisions.experiment_evaluate(experiment=experiment)
        return Response({"concluded": False, "experiment": ExperimentOut(experiment).data,
                         "evidence": evaluation.evidence})


class BrandLiftView(TenantAPIView):
    """The brand's lift over its holdout, per channel and week, with always-valid intervals and alerts."""

    api_key_read_scope = SCOPE_CONTENT_READ

    @extend_schema(parameters=[
        OpenApiParameter("weeks", int, description="Weeks back from `until` (1 to 104; default 12)."),
        OpenApiParameter("since", str, description="ISO 8601 start of the window (instead of weeks)."),
        OpenApiParameter("until", str, description="ISO 8601 end of the window (default now)."),
        OpenApiParameter("metric", str, enum=["click", "conversion"], description="Default click."),
    ], responses=LiftReportOut)
    def get(self, request, brand_id: int):
        q = request.query_params
        return Response(brand_lift_report(principal=self.principal, brand_id=brand_id, weeks=q.get("weeks"),
                                          since=q.get("since"), until=q.get("until"), metric=q.get("metric")))
