"""Retrain policies CRUD, the ops queue view and ops requeue (urls included by training.urls)."""
from __future__ import annotations

from django.urls import re_path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from prefcontent.brands.selectors import brand_get
from prefcontent.core.fields import IdField, Int32Field
from prefcontent.tenancy.views import TenantAPIView, TenantViewSet
from prefcontent.training import ops, policies
from prefcontent.training.hyperparameters import HyperparametersField
from prefcontent.training.models import RetrainPolicy, TrainingRun
from prefcontent.training.serializers import TrainingRunOut


class RetrainPolicyIn(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    cron = serializers.CharField(required=False, allow_blank=True, max_length=120,
                                 help_text='"minute hour day month weekday" in UTC; empty for none.')
    threshold_pairs = Int32Field(required=False, allow_null=True, min_value=1,
                                               help_text="New usable pairs since the last run that trigger one.")
    min_interval_minutes = Int32Field(required=False, min_value=0)
    auto_promote = serializers.BooleanField(required=False)
    hyperparameters = HyperparametersField(required=False, help_text="TrainConfig overrides for its runs.")
    priority = Int32Field(required=False, help_text="Higher starts first.")


class RetrainPolicyCreateIn(RetrainPolicyIn):
    brand = IdField()


class RetrainPolicyOut(serializers.ModelSerializer):
    periodic_task_name = serializers.SerializerMethodField()

    class Meta:
        model = RetrainPolicy
        fields = ["id", "brand", "enabled", "cron", "threshold_pairs", "min_interval_minutes", "auto_promote",
                  "hyperparameters", "priority", "periodic_task_name", "cron_due_at", "last_run",
                  "last_evaluated_at", "last_outcome", "created_at", "updated_at"]

    def get_periodic_task_name(self, policy: RetrainPolicy) -> str | None:
        return policy.periodic_task_name if policy.periodic_task_id else None


class RetrainPolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """One retrain policy per brand. Reading needs "read", writing "training.write"; API keys are refused."""

    queryset = RetrainPolicy.objects.select_related("brand")
    serializer_class = RetrainPolicyOut

    @extend_schema(request=RetrainPolicyCreateIn, responses={201: RetrainPolicyOut})
    def create(self, request):
        data = RetrainPolicyCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        brand = brand_get(principal=self.principal, brand_id=values.pop("brand"))
        policy = policies.retrain_policy_create(principal=self.principal, brand=brand, values=values)
        return Response(RetrainPolicyOut(policy).data, status=status.HTTP_201_CREATED)

    def _update(self, request, partial: bool):
        policy = self.get_object()
        data = RetrainPolicyIn(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        policy = policies.retrain_policy_update(principal=self.principal, policy=policy,
                                                values=dict(data.validated_data))
        return Response(RetrainPolicyOut(policy).data)

    @extend_schema(request=RetrainPolicyIn, responses=RetrainPolicyOut)
    def update(self, request, pk=None):
        return self._update(request, partial=False)

    @extend_schema(request=RetrainPolicyIn, responses=RetrainPolicyOut)
    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    @extend_schema(request=None, responses={204: None})
    def destroy(self, request, pk=None):
        policies.retrain_policy_delete(principal=self.principal, policy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class OpsTrainingRunViewSet(TenantViewSet):
    """Ops repairs on training runs (cancel and retry live on the main training-runs routes)."""

    queryset = TrainingRun.objects.select_related("brand")
    serializer_class = TrainingRunOut

    @extend_schema(request=None, responses=TrainingRunOut)
    @action(detail=True, methods=["post"])
    def requeue(self, request, pk=None):
        """Requeue a running run whose worker is stuck: its lease is cleared and it is queued again."""
        run = ops.training_run_requeue(principal=self.principal, run=self.get_object())
        return Response(TrainingRunOut(run).data)


_STATE_COUNTS = serializers.DictField(child=serializers.IntegerField())
OpsQueueOut = inline_serializer("OpsQueue", fields={
    "brand_ids": serializers.ListField(child=serializers.IntegerField()),
    "max_concurrent_runs": serializers.IntegerField(),
    "training_by_state": _STATE_COUNTS,
    "running_by_worker": serializers.DictField(child=serializers.ListField(child=serializers.IntegerField()),
                                               help_text="Lease owner (worker) -> running run ids."),
    "queued": inline_serializer("OpsQueuedRun", fields={
        "id": serializers.IntegerField(), "brand_id": serializers.IntegerField(),
        "age_s": serializers.FloatField(), "enqueued_at": serializers.DateTimeField(allow_null=True)}, many=True),
    "generation_by_state": serializers.DictField(child=serializers.IntegerField()),
})


class OpsQueueView(TenantAPIView):
    """Training runs by state, running runs by worker, queued runs by age and generation jobs by state,
    across the brands of the organizations where you hold "ops.read"."""

    @extend_schema(responses=OpsQueueOut)
    def get(self, request):
        queue = ops.ops_queue(principal=self.principal)
        return Response({
            "brand_ids": queue.brand_ids, "max_concurrent_runs": queue.max_concurrent_runs,
            "training_by_state": queue.training_by_state, "running_by_worker": queue.running_by_worker,
            "queued": [{"id": q.id, "brand_id": q.brand_id, "age_s": q.age_s,
                        "enqueued_at": q.enqueued_at.isoformat() if q.enqueued_at else None} for q in queue.queued],
            "generation_by_state": queue.generation_by_state,
        })


router = SimpleRouter(trailing_slash="/?")
router.register("retrain-policies", RetrainPolicyViewSet, basename="retrain-policy")
router.register("training-runs", OpsTrainingRunViewSet, basename="training-run")

urlpatterns = [*router.urls, re_path(r"^ops/queue/?$", OpsQueueView.as_view(), name="ops-queue")]
