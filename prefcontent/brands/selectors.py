from __future__ import annotations

from django.db.models import QuerySet

from prefcontent.brands.models import Brand
from prefcontent.core.errors import NotFound
from prefcontent.tenancy.principal import Principal


def brand_list(*, principal: Principal) -> QuerySet[Brand]:
    return Brand.objects.filter(pk__in=principal.visible_brand_ids()).order_by("id")


def brand_get(*, principal: Principal, brand_id) -> Brand:
    """The brand if the principal may see it; otherwise 404 (ids of other tenants are not probeable)."""
    try:
        brand_id = int(brand_id)
    except (TypeError, ValueError):
        raise NotFound("Brand not found.") from None
    brand = brand_list(principal=principal).filter(pk=brand_id).select_related("organization").first()
    if brand is None:
        raise NotFound("Brand not found.")
    return brand
