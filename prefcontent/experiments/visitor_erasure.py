"""A data subject's erasure: every event, assignment and reader row of one visitor (unit_id) in one brand.

Rows hold only the brand-keyed hash of the unit id, so the request names the id and the rows
are found by its hash. The arms' counters are aggregates with no visitor in them and stay:
decisions already taken rest on them, and a visitor's clicks are not personal data once summed.
"""
from __future__ import annotations

from django.db import transaction

from prefcontent.accounts.services import audit_record
from prefcontent.brands.models import Brand
from prefcontent.core.errors import InvalidInput
from prefcontent.experiments.models import Assignment, Event, Reader
from prefcontent.experiments.units import MAX_UNIT_ID_CHARS, unit_hash
from prefcontent.tenancy import access
from prefcontent.tenancy.principal import Principal


def visitor_erase(*, principal: Principal, brand: Brand, unit_id) -> dict[str, int]:
    """Delete the visitor's events and assignments in `brand`; how many of each. The audit log keeps the
    hash prefix only, never the id."""
    access.brand_require(principal, brand, "brands.manage")
    if not isinstance(unit_id, str) or not unit_id or len(unit_id) > MAX_UNIT_ID_CHARS:
        raise InvalidInput(f"unit_id must be 1 to {MAX_UNIT_ID_CHARS} characters.", code="invalid_unit_id")
    hashed = unit_hash(brand.pk, unit_id)
    with transaction.atomic():
        events, _ = Event.objects.filter(brand_id=brand.pk, unit_hash=hashed).delete()
        assignments, _ = Assignment.objects.filter(experiment__brand_id=brand.pk, unit_hash=hashed).delete()
        Reader.objects.filter(experiment__brand_id=brand.pk, unit_hash=hashed).delete()  # counters stay
        counts = {"events": events, "assignments": assignments}
        audit_record(principal=principal, organization_id=brand.organization_id, brand_id=brand.pk,
                     action="visitor.erase", target=brand, data={"unit_hash_prefix": hashed[:8], **counts})
    return counts
