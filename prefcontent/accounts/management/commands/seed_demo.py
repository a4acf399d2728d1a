"""Create (idempotently) a demo organization, brand, user and API key.

`--json` prints one object: organization, brand_id, username, password, api_key. The API key
secret cannot be read back from the database (only its hash is kept), so `--keep-key FILE` reads
it from the JSON a previous run wrote: while that key still works it is kept (a page set up with
it keeps working across restarts); otherwise a fresh demo key is issued and the old ones revoked.
"""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from prefcontent.accounts import services
from prefcontent.accounts.models import ApiKey, Membership, Organization
from prefcontent.brands.models import Brand
from prefcontent.core import secrets
from prefcontent.tenancy.principal import SYSTEM
from prefcontent.tenancy.roles import OWNER, SCOPES

DEMO_ORG = "demo"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password-123"
DEMO_KEY_NAME = "demo-cms"


class Command(BaseCommand):
    help = "Create the demo organization, brand, user and API key (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the credentials as one JSON object.")
        parser.add_argument("--keep-key", metavar="FILE",
                            help="A previous run's JSON output: keep its API key while it still works.")

    @transaction.atomic
    def handle(self, *args, **options):
        org, _ = Organization.objects.get_or_create(slug=DEMO_ORG, defaults={"name": "Demo Org"})
        user, created = get_user_model().objects.get_or_create(username=DEMO_USER)
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        Membership.objects.update_or_create(organization=org, user=user, defaults={"role": OWNER})
        brand, _ = Brand.objects.get_or_create(
            organization=org, slug="acme-outdoor",
            defaults={"name": "Acme Outdoor", "voice": "Friendly, concrete, never pushy. Short sentences."},
        )
        plaintext = _still_working(options.get("keep_key"), brand)
        if plaintext is None:
            for old in ApiKey.objects.usable().filter(brand=brand, name=DEMO_KEY_NAME):
                services.api_key_revoke(principal=SYSTEM, api_key=old)
            plaintext = services.api_key_create(principal=SYSTEM, brand=brand, name=DEMO_KEY_NAME,
                                                scopes=list(SCOPES)).plaintext
        result = {
            "organization": org.slug,
            "brand_id": brand.pk,
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
            "api_key": plaintext,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")


def _still_working(path: str | None, brand: Brand) -> str | None:
    """The demo key stored in `path` when it is still a usable demo key of `brand`, else None."""
    if not path or not Path(path).is_file():
        return None
    try:
        plaintext = json.loads(Path(path).read_text()).get("api_key")
    except (ValueError, AttributeError):
        return None
    if not isinstance(plaintext, str):
        return None
    prefix = secrets.parse_prefix(plaintext, settings.API_KEY_PREFIX)
    key = ApiKey.objects.usable().filter(brand=brand, name=DEMO_KEY_NAME, prefix=prefix).first() if prefix else None
    return plaintext if key is not None and secrets.matches(plaintext, key.secret_hash) else None
