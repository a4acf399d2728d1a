"""Roles and what each may do. One table, read by tenancy.access (which also maps capabilities to API key
scopes) and by the dashboard's "may I show this button" flags.

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
    "content.write": frozenset({OWNER, ADMIN, MARKETER}),  # campaigns, briefs, variants
    "experiments.write": frozenset({OWNER, ADMIN, MARKETER}),  # experiments, decisions, pair builds, history import
    "events.write": frozenset({OWNER, ADMIN, MARKETER}),
    "assign": frozenset({OWNER, ADMIN, MARKETER}),
    "generate": frozenset({OWNER, ADMIN, MARKETER}),
    "score": frozenset(ROLES),  # stores nothing but the job row
    "training.write": frozenset({OWNER, ADMIN, MARKETER, OPS}),
    "adapters.promote": frozenset({OWNER, ADMIN, OPS}),
    "ops.read": frozenset({OWNER, ADMIN, OPS}),
    "ops.repair": frozenset({OWNER, ADMIN, OPS}),  # requeue a stuck run
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
