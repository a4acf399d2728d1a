"""factory_boy factories for the foundation models. Apps add their own next to their tests."""
from __future__ import annotations

import factory
from django.conf import settings
from django.contrib.auth import get_user_model

from prefcontent.accounts.models import ApiKey, Membership, Organization
from prefcontent.brands.models import Brand
from prefcontent.core import secrets
from prefcontent.tenancy.roles import SCOPES

PASSWORD = "pass-word-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = "owner"


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    voice = "Friendly, concise, no hype."


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    brand = factory.SubFactory(BrandFactory)
    name = "cms"

    @classmethod
    def issue(cls, *, brand, scopes=None, **kwargs) -> str:
        """Create a key and return its plaintext (the factory keeps only prefix + hash, like the service)."""
        issued = secrets.issue_secret(settings.API_KEY_PREFIX)
        cls(brand=brand, prefix=issued.prefix, secret_hash=issued.secret_hash,
            scopes=list(SCOPES) if scopes is None else scopes, **kwargs)
        return issued.plaintext
