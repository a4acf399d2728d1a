"""API keys (`X-API-Key: pck_...` or `Authorization: ApiKey pck_...`) and user tokens (`Bearer pcu_...`)."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from prefcontent.core import secrets
from prefcontent.core.hot_cache import HotCache

# last_used_at is written at most this often, so hot endpoints do not write per request.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class ApiKeyUser:
    """Stands in for request.user when a CMS plugin authenticates with an API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key):
        self.api_key = api_key
        self.username = f"apikey:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username


# Every page view authenticates: the key's row is read once per HOT_CACHE_SECONDS per process (a
# revocation reaches other processes within that long; this one drops it at once, api_key_cache_drop).
API_KEYS = HotCache("api_keys")


def api_key_cache_drop(prefix: str) -> None:
    API_KEYS.drop(prefix)


def _touch(model, obj) -> None:
    now = timezone.now()
    if obj.last_used_at is None or now - obj.last_used_at > LAST_USED_GRANULARITY:
        obj.last_used_at = now  # the cached row too, so a hot key writes once a granule, not once a request
        model.objects.filter(pk=obj.pk).update(last_used_at=now)


def _api_key(prefix: str):
    from prefcontent.accounts.models import ApiKey

    # An unknown prefix is not remembered: a key made a moment ago works at once.
    return API_KEYS.read(prefix, lambda: ApiKey.objects.select_related("brand").filter(prefix=prefix).first(),
                         keep_none=False)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "ApiKey"

    def authenticate(self, request):
        raw = request.headers.get("X-API-Key")
        if not raw:
            header = request.headers.get("Authorization", "")
            if not header.startswith(f"{self.keyword} "):
                return None
            raw = header[len(self.keyword) + 1 :].strip()
        return self._check(raw)

    def _check(self, raw: str):
        from prefcontent.accounts.models import ApiKey

        prefix = secrets.parse_prefix(raw, settings.API_KEY_PREFIX)
        key = _api_key(prefix) if prefix else None
        if key is None or not secrets.matches(raw, key.secret_hash):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key was revoked.")
        if key.expires_at is not None and key.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("This API key has expired.")
        _touch(ApiKey, key)
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword


class UserTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        if not header.startswith(f"{self.keyword} "):
            return None
        raw = header[len(self.keyword) + 1 :].strip()
        from prefcontent.accounts.models import UserToken

        prefix = secrets.parse_prefix(raw, settings.USER_TOKEN_PREFIX)
        token = UserToken.objects.select_related("user").filter(prefix=prefix).first() if prefix else None
        if token is None or not secrets.matches(raw, token.secret_hash):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None or (token.expires_at and token.expires_at <= timezone.now()):
            raise exceptions.AuthenticationFailed("This token was revoked or has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        _touch(UserToken, token)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "prefcontent.tenancy.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class UserTokenScheme(OpenApiAuthenticationExtension):
    target_class = "prefcontent.tenancy.authentication.UserTokenAuthentication"
    name = "UserToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}
