"""`GET /api/v1/status`: what a person or a probe needs to know before using the product, without logging in.

Only states and names, nothing secret (no paths, no keys). `/readyz` stays about the web tier's own
dependencies, so a web pod keeps serving events while a base model is still being prepared.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from prefcontent.core.base_model import STATES, base_model_status

_BaseModelOut = inline_serializer("BaseModelStatus", {
    # A plain string (one of STATES) rather than an enum: a third "state" enum would rename others in the schema.
    "state": serializers.CharField(help_text="One of: " + ", ".join(STATES)),
    "name": serializers.CharField(),
    "detail": serializers.CharField(),
    "updated_at": serializers.DateTimeField(allow_null=True),
})


class StatusView(APIView):
    """The base model's state: preparing (with progress), ready, failed (with the reason) or missing."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses=inline_serializer("StatusOut", {"base_model": _BaseModelOut}), auth=[])
    def get(self, request):
        return Response({"base_model": base_model_status().to_dict()})
