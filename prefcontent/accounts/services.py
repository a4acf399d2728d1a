"""Writes for organizations, members, API keys, user tokens and the audit log."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from prefcontent.accounts.models import ApiKey, AuditLog, Membership, Organization, UserToken
from prefcontent.brands.models import Brand
from prefcontent.core import secrets
from prefcontent.core.errors import Conflict, InvalidInput, InvalidState, NotFound
from prefcontent.core.logging import current_request_id
from prefcontent.tenancy import access
from prefcontent.tenancy.authentication import api_key_cache_drop
from prefcontent.tenancy.principal import Principal
from prefcontent.tenancy.roles import OWNER, ROLES, SCOPES


def audit_record(
    *,
    principal: Principal,
    organization_id: int,
    action: str,
    target=None,
    brand_id: int | None = None,
    data: dict | None = None,
) -> AuditLog:
    return AuditLog.objects.create(
        organization_id=organization_id,
        brand_id=brand_id,
        actor_user_id=principal.user_id,
        actor_api_key_prefix=principal.api_key_prefix,
        action=action,
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or ""),
        data=data or {},
        request_id=current_request_id(),
    )


def _unique_slug(model, base: str, **scope) -> str:
    base = slugify(base)[:60] or "item"
    slug, n = base, 1
    while model.objects.filter(slug=slug, **scope).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def organization_create(*, principal: Principal, name: str, user) -> Organization:
    """Any person may found an organization; `user` becomes its owner."""
    access.person_require(principal)
    org = Organization.objects.create(name=name, slug=_unique_slug(Organization, name))
    Membership.objects.create(organization=org, user=user, role=OWNER)
    audit_record(principal=principal, organization_id=org.pk, action="organization.create", target=org)
    return org


def organization_update(*, principal: Principal, organization: Organization, name: str) -> Organization:
    access.organization_require(principal, organization, "org.manage")
    organization.name = name
    organization.save(update_fields=["name"])
    audit_record(principal=principal, organization_id=organization.pk, action="organization.update", target=organization)
    return organization


@transaction.atomic
def membership_add(*, principal: Principal, organization: Organization, username: str, role: str) -> Membership:
    access.organization_require(principal, organization, "members.manage")
    if role not in ROLES:
        raise InvalidInput(f"Unknown role '{role}'.", details={"allowed": list(ROLES)})
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"No user named '{username}'.", code="unknown_user")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(organization=organization, user=user, role=role)
    except IntegrityError:
        raise Conflict(f"'{username}' is already a member.") from None
    audit_record(
        principal=principal, organization_id=organization.pk, action="member.add", target=membership,
        data={"user": username, "role": role},
    )
    return membership


def _ensure_an_owner_remains(membership: Membership, new_role: str | None) -> None:
    if membership.role == OWNER and new_role != OWNER:
        others = Membership.objects.filter(organization=membership.organization, role=OWNER).exclude(pk=membership.pk)
        if not others.exists():
            raise InvalidState("An organization needs at least one owner.", code="last_owner")


@transaction.atomic
def membership_change_role(*, principal: Principal, membership: Membership, role: str) -> Membership:
    access.organization_require(principal, membership.organization, "members.manage")
    if role not in ROLES:
        raise InvalidInput(f"Unknown role '{role}'.", details={"allowed": list(ROLES)})
    _ensure_an_owner_remains(membership, role)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        principal=principal, organization_id=membership.organization_id, action="member.role_change",
        target=membership, data={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, principal: Principal, membership: Membership) -> None:
    access.organization_require(principal, membership.organization, "members.manage")
    _ensure_an_owner_remains(membership, None)
    audit_record(
        principal=principal, organization_id=membership.organization_id, action="member.remove",
        target=membership, data={"user_id": membership.user_id},
    )
    membership.delete()


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str


def api_key_create(
    *, principal: Principal, brand: Brand, name: str, scopes: list[str], expires_at: datetime | None = None
) -> IssuedKey:
    access.brand_require(principal, brand, "keys.manage")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise InvalidInput("Scopes must be a non-empty subset of the known scopes.",
                           details={"unknown": unknown, "allowed": list(SCOPES)})
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expires_at must be in the future.", code="invalid_expiry")
    issued = secrets.issue_secret(settings.API_KEY_PREFIX)
    with transaction.atomic():
        key = ApiKey.objects.create(
            brand=brand, name=name, prefix=issued.prefix, secret_hash=issued.secret_hash,
            scopes=sorted(set(scopes)), created_by_id=principal.user_id, expires_at=expires_at,
        )
        audit_record(
            principal=principal, organization_id=brand.organization_id, brand_id=brand.pk, action="api_key.create",
            target=key, data={"prefix": key.prefix, "scopes": key.scopes},
        )
    return IssuedKey(api_key=key, plaintext=issued.plaintext)


@transaction.atomic
def api_key_revoke(*, principal: Principal, api_key: ApiKey) -> ApiKey:
    access.brand_require(principal, api_key.brand, "keys.manage")
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        api_key_cache_drop(api_key.prefix)  # other processes within HOT_CACHE_SECONDS
        audit_record(
            principal=principal, organization_id=api_key.brand.organization_id, brand_id=api_key.brand_id,
            action="api_key.revoke", target=api_key, data={"prefix": api_key.prefix},
        )
    return api_key


@dataclass(frozen=True)
class IssuedToken:
    token: UserToken
    plaintext: str


def user_token_create(*, user, name: str = "token") -> IssuedToken:
    issued = secrets.issue_secret(settings.USER_TOKEN_PREFIX)
    token = UserToken.objects.create(
        user=user, name=name, prefix=issued.prefix, secret_hash=issued.secret_hash,
        expires_at=timezone.now() + settings.USER_TOKEN_TTL,
    )
    return IssuedToken(token=token, plaintext=issued.plaintext)


def user_token_revoke(*, token: UserToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def membership_get(*, principal: Principal, membership_id: int) -> Membership:
    membership = Membership.objects.filter(pk=membership_id, organization_id__in=principal.organization_ids()).first()
    if membership is None or principal.is_api_key:
        raise NotFound("Not found.")
    return membership
