from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsAuthenticatedPrincipal(BasePermission):
    """Any authenticated person or API key; finer checks live in the base view and services."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)
