import pytest

from tests.factories import ApiKeyFactory, BrandFactory, MembershipFactory, OrganizationFactory
from tests.tenancy import World


@pytest.fixture
def world(db):
    return make_world()


def make_world() -> World:
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    brand_a, brand_b = BrandFactory(organization=org_a), BrandFactory(organization=org_b)
    return World(
        org_a=org_a, org_b=org_b, brand_a=brand_a, brand_b=brand_b,
        owner_a=MembershipFactory(organization=org_a, role="owner").user,
        owner_b=MembershipFactory(organization=org_b, role="owner").user,
        viewer_a=MembershipFactory(organization=org_a, role="viewer").user,
        key_a=ApiKeyFactory.issue(brand=brand_a),
        key_b=ApiKeyFactory.issue(brand=brand_b),
    )
