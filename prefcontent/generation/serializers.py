"""Input and output serializers of the generation API (small, separate, no logic)."""
from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from prefcontent.content.models import CHANNELS
from prefcontent.core.fields import IdField, Int32Field
from prefcontent.generation.models import GeneratedCandidate, GenerationJob


class InlineBriefIn(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    product = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    audience = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    tone = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    locale = serializers.CharField(required=False, allow_blank=True, default="", max_length=16)
    constraints = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    facts = serializers.JSONField(required=False, default=dict,
                                  help_text="The offer's facts, as on a stored brief; claims in the copy are checked "
                                            "against them.")


class _BriefChoiceIn(serializers.Serializer):
    """Exactly one of `brief_id` (an existing brief of the brand) or `brief` (inline fields)."""

    brief_id = IdField(required=False)
    brief = InlineBriefIn(required=False)
    # The content input serializers' choice set, so the schema gets no extra channel enum.
    channel = serializers.ChoiceField(choices=CHANNELS, required=False,
                                      help_text="Default: the brief's campaign channel, else headline.")

    def get_fields(self):
        fields = super().get_fields()
        # "async" is a Python keyword, so it cannot be a class attribute.
        fields["async"] = serializers.BooleanField(
            required=False, default=False, help_text="Answer at once with a job to poll instead of waiting.")
        return fields


class GenerateIn(_BriefChoiceIn):
    n = Int32Field(required=False, min_value=1, help_text="Variants wanted (capped).")
    temperature = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)
    top_p = serializers.FloatField(required=False, min_value=0.001, max_value=1.0)
    max_new_tokens = Int32Field(required=False, min_value=1, help_text="Completion budget (capped).")
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    best_of = serializers.IntegerField(
        required=False, allow_null=True, min_value=1,
        help_text="Sample this many and serve n of them: the ones the brand adapter scores best, kept apart from "
                  "each other (needs an active adapter).")
    use_base_model = serializers.BooleanField(
        required=False, default=False, help_text="Generate with the base model even if the brand has an adapter.")


class ScoreIn(_BriefChoiceIn):
    candidates = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                       allow_empty=True, help_text="Texts to score (capped).")


class ModelUsedOut(serializers.Serializer):
    base_model = serializers.BooleanField(help_text="True when the brand had no active adapter.")
    adapter_version_id = serializers.IntegerField(allow_null=True)
    adapter_version = serializers.IntegerField(allow_null=True, help_text="The brand's adapter version number.")
    model_id = serializers.CharField()
    engine = serializers.CharField()


class JobErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ScoreOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position in the request's candidates.")
    text = serializers.CharField()
    score = serializers.FloatField(help_text="beta * (log p_adapter - log p_base) of the text.")
    rank = serializers.IntegerField(help_text="1 = preferred.")


class CandidateOut(serializers.ModelSerializer):
    # Plain strings, so these choice sets do not collide with other apps' "status" enums in the schema.
    status = serializers.CharField(help_text="kept, flagged, blocked, duplicate, empty, malformed or not_selected.")

    class Meta:
        model = GeneratedCandidate
        fields = ["index", "text", "status", "variant", "rank", "score", "logprob", "token_count", "finish_reason",
                  "violations", "duplicate_of", "similarity"]
        read_only_fields = fields


class GenerationJobOut(serializers.ModelSerializer):
    kind = serializers.CharField(help_text="generate or score.")
    state = serializers.CharField(help_text="queued, running, succeeded or failed.")
    model = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    candidates = CandidateOut(many=True, read_only=True)
    poll_url = serializers.SerializerMethodField()

    class Meta:
        model = GenerationJob
        fields = ["id", "brand", "brief", "kind", "state", "channel", "prompt_version", "params", "model", "seed",
                  "shard", "result", "error", "candidates", "scores", "created_at", "started_at", "finished_at",
                  "poll_url"]
        read_only_fields = fields

    @extend_schema_field(ModelUsedOut)
    def get_model(self, job: GenerationJob) -> dict:
        adapter = job.adapter_version
        return {"base_model": job.uses_base_model, "adapter_version_id": job.adapter_version_id,
                "adapter_version": adapter.version if adapter else None, "model_id": job.model_id,
                "engine": job.engine}

    @extend_schema_field(JobErrorOut(allow_null=True))
    def get_error(self, job: GenerationJob) -> dict | None:
        return {"code": job.error_code, "message": job.error_message} if job.state == job.State.FAILED else None

    @extend_schema_field(ScoreOut(many=True))
    def get_scores(self, job: GenerationJob) -> list:
        return list((job.result or {}).get("scores", []))

    @extend_schema_field(OpenApiTypes.STR)
    def get_poll_url(self, job: GenerationJob) -> str:
        return reverse("generation-job-detail", kwargs={"pk": job.pk})


class LineageOut(serializers.Serializer):
    variant_id = serializers.IntegerField()
    generated = serializers.BooleanField(help_text="False for human or imported copy (every other field is empty).")
    generation_job_id = serializers.IntegerField(allow_null=True)
    base_model = serializers.BooleanField(allow_null=True, help_text="True when no adapter was active.")
    model_id = serializers.CharField(allow_null=True)
    adapter_version_id = serializers.IntegerField(allow_null=True)
    adapter_version = serializers.IntegerField(allow_null=True)
    training_run_id = serializers.IntegerField(allow_null=True)
    snapshot_id = serializers.IntegerField(allow_null=True)
    snapshot_content_hash = serializers.CharField(allow_null=True)
    experiment_ids = serializers.ListField(child=serializers.IntegerField())
    claims = serializers.ListField(
        child=serializers.DictField(), help_text="Claims of the text that its brief's facts contradict or do not "
        "support: kind, verdict, reason, the words (match) and the message shown to people.")
