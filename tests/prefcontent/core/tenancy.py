"""Routes of the ground floor in the generated tenancy tests (see tests/tenancy.py)."""
from tests.tenancy import RouteCase

ROUTES = {
    "status": RouteCase(public=True),  # the base model's state: no tenant data
}
