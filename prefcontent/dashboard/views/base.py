"""What every dashboard page shares: login, the acting principal, the current brand and error pages.

A page is a plain function `view(request, dash, ...)` wrapped by `dashboard_page`. The wrapper
requires a session login, resolves the brand the user is looking at (switcher `?brand=`,
a form's hidden `brand`, the session, else the first visible brand) and turns the services'
domain errors into HTML pages: another tenant's id is a 404, a role without the capability a 403.
Pages check nothing themselves: each write service checks its caller (tenancy.access).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from prefcontent.brands.models import Brand
from prefcontent.brands.selectors import brand_get, brand_list
from prefcontent.core.base_model import base_model_status
from prefcontent.core.errors import DomainError, NotFound
from prefcontent.tenancy.principal import Principal, principal_for_user
from prefcontent.tenancy.roles import CAPABILITIES

SESSION_BRAND = "dashboard_brand_id"


@dataclass(frozen=True)
class Dash:
    """The request's principal and the brand the page is about."""

    principal: Principal  # the logged-in person with their roles
    brand: Brand  # the brand every page shows and acts on
    brands: list[Brand]  # every brand the person may switch to

    @property
    def role(self) -> str | None:
        return self.principal.role_in(self.brand.organization_id)

    def can(self, capability: str) -> bool:
        return self.principal.can(capability, organization_id=self.brand.organization_id)

    def capabilities(self) -> dict[str, bool]:
        """`can.keys_manage` style flags for templates (dots are not usable in template lookups)."""
        return {cap.replace(".", "_"): self.can(cap) for cap in CAPABILITIES}


def _current_brand(request: HttpRequest, principal: Principal, brands: list[Brand]) -> Brand:
    wanted = request.GET.get("brand") or request.POST.get("brand")
    if wanted:
        brand = brand_get(principal=principal, brand_id=wanted)  # another tenant's id: NotFound
        request.session[SESSION_BRAND] = brand.pk
        return brand
    remembered = request.session.get(SESSION_BRAND)
    for brand in brands:
        if brand.pk == remembered:
            return brand
    return brands[0]


def render_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return render(request, "dashboard/error.html", {"error": exc}, status=exc.status_code)


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:  # noqa: ARG001 - handler404's signature
    return render_error(request, NotFound("This page does not exist."))


def page_context(dash: Dash, **extra) -> dict:
    return {"dash": dash, "brand": dash.brand, "brands": dash.brands, "can": dash.capabilities(),
            "base_model": base_model_status(), **extra}


def dashboard_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        principal = principal_for_user(request.user)
        brands = list(brand_list(principal=principal).select_related("organization"))
        if not brands:
            return render(request, "dashboard/no_brand.html", status=200)
        try:
            dash = Dash(principal=principal, brand=_current_brand(request, principal, brands), brands=brands)
            return view(request, dash, *args, **kwargs)
        except DomainError as exc:
            return render_error(request, exc)

    return wrapper


def form_error(form, exc: DomainError) -> None:
    """Put a service's validation error on the form: on the field it names, else on the form."""
    fields = exc.details.get("fields") if isinstance(exc.details, dict) else None
    if isinstance(fields, dict):
        for name, messages in fields.items():
            target = name if name in form.fields else None
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(target, str(message))
        return
    form.add_error(None, exc.message)

