from tests.tenancy import RouteCase

ROUTES = {
    "brand-list": RouteCase(
        hidden_ids=lambda w: {w.brand_a.pk},
        body=lambda w: {"organization": w.org_a.pk, "name": "Another brand"},
    ),
    "brand-detail": RouteCase(kwargs=lambda w: {"pk": w.brand_a.pk}, body=lambda w: {"voice": "Bold."}),
}
