"""Roles and what each may do. One table, read by services, the API and the dashboard.

Decision (documented in the README): marketers run the content loop (content, experiments,
preferences, generation, training runs); ops steer retraining and promotion across brands;
only owners and admins manage members, API keys and brands; viewers read.
"""
from __future__ import annotations

OWNER, ADMIN, MARKETER, VIEWER, OPS = "owner", "admin", "marketer", "viewer", "ops"
ROLES = (OWNER, ADMIN, MARKETER, VIEWER, OPS)
ROLE_CHOICES = [(r, r.capitalize()) for r in ROLES]

# capability -> roles that hold it
CAPABILITIES: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "org.manage": frozenset({OWNER, ADMIN}),
    "members.manage": frozenset({OWNER, ADMIN}),
    "keys.manage": frozenset({OWNER, ADMIN}),
    "brands.manage": frozenset({OWNER, ADMIN}),
    "brands.edit": frozenset({OWNER, ADMIN, MARKETER}),
    "content.write": frozenset({OWNER, ADMIN, MARKETER}),
    "generate": frozenset({OWNER, ADMIN, MARKETER}),
    "training.write": frozenset({OWNER, ADMIN, MARKETER, OPS}),
    "adapters.promote": frozenset({OWNER, ADMIN, OPS}),
    "ops.read": frozenset({OWNER, ADMIN, OPS}),
}

# API key scopes (CMS plugins)
SCOPE_EVENTS_WRITE = "events:write"
SCOPE_ASSIGN = "assign"
SCOPE_CONTENT_READ = "content:read"
SCOPE_CONTENT_WRITE = "content:write"
SCOPE_GENERATE = "generate"
SCOPES = (SCOPE_EVENTS_WRITE, SCOPE_ASSIGN, SCOPE_CONTENT_READ, SCOPE_CONTENT_WRITE, SCOPE_GENERATE)


def role_can(role: str | None, capability: str) -> bool:
    return role is not None and role in CAPABILITIES[capability]
