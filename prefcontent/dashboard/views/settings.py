"""/dashboard/settings/: API keys (plaintext shown once), members and roles, compliance rules, brand voice and
brand settings."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from prefcontent.accounts import selectors as account_selectors
from prefcontent.accounts import services as account_services
from prefcontent.brands import compliance_services
from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.brands.services import brand_settings_update, brand_update
from prefcontent.brands.settings import brand_settings, brand_settings_repair
from prefcontent.core.errors import Conflict, InvalidInput, InvalidState, NotFound
from prefcontent.dashboard.forms import (
    ApiKeyCreateForm,
    BrandSettingsForm,
    BrandVoiceForm,
    ComplianceRuleForm,
    MemberAddForm,
)
from prefcontent.dashboard.views.base import (
    Dash,
    dashboard_page,
    form_error,
    page_context,
)
from prefcontent.tenancy.principal import scope_to_principal


def _render(request: HttpRequest, dash: Dash, *, status: int = 200, **overrides) -> HttpResponse:
    brand = dash.brand
    forms = {
        "key_form": ApiKeyCreateForm(),
        "member_form": MemberAddForm(),
        "voice_form": BrandVoiceForm(initial={"voice": brand.voice, "locale": brand.locale}),
        "rule_form": ComplianceRuleForm(),
        "settings_form": BrandSettingsForm(initial=BrandSettingsForm.initial_for(brand_settings_repair(brand.settings)[0])),
    }
    forms.update(overrides)
    keys = account_selectors.api_key_list(principal=dash.principal).filter(brand=brand).order_by("-id")
    members = account_selectors.membership_list(principal=dash.principal).filter(
        organization_id=brand.organization_id
    )
    rules = _rules(dash).filter(brand=brand)
    context = page_context(dash, keys=keys, members=members, rules=rules, settings_rows=_settings_rows(brand),
                           **forms)
    return render(request, "dashboard/settings.html", context, status=status)


def _settings_rows(brand) -> list[tuple[str, str]]:
    """(setting, value in effect) for the read-only view of the brand settings."""
    typed = brand_settings(brand)
    rows = []
    for field in BrandSettingsForm().visible_fields():
        value = getattr(typed, field.name)
        if isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, tuple):
            value = ", ".join(value) or "none"
        rows.append((field.label, str(value)))
    return rows


@require_GET
@dashboard_page
def settings_page(request: HttpRequest, dash: Dash) -> HttpResponse:
    return _render(request, dash)


@require_POST
@dashboard_page
def api_key_create(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        try:
            issued = account_services.api_key_create(
                principal=dash.principal, brand=dash.brand, name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"], expires_at=form.cleaned_data["expires_at"],
            )
        except InvalidInput as exc:
            form_error(form, exc)
        else:
            # Rendered in this response only, never stored: the plaintext cannot be shown again.
            return _render(request, dash, issued_key=issued)
    return _render(request, dash, status=400, key_form=form)


def _key_of(dash: Dash, key_id: int):
    key = account_selectors.api_key_list(principal=dash.principal).filter(pk=key_id).first()
    if key is None:
        raise NotFound("API key not found.")
    return key


@require_POST
@dashboard_page
def api_key_revoke(request: HttpRequest, dash: Dash, key_id: int) -> HttpResponse:
    key = account_services.api_key_revoke(principal=dash.principal, api_key=_key_of(dash, key_id))
    messages.success(request, f"API key {key.prefix}… revoked.")
    return redirect("dashboard:settings")


@require_POST
@dashboard_page
def member_add(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            account_services.membership_add(
                principal=dash.principal, organization=dash.brand.organization,
                username=form.cleaned_data["username"], role=form.cleaned_data["role"],
            )
        except (InvalidInput, Conflict) as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} added.")
            return redirect("dashboard:settings")
    return _render(request, dash, status=400, member_form=form)


@require_POST
@dashboard_page
def member_role(request: HttpRequest, dash: Dash, membership_id: int) -> HttpResponse:
    membership = account_services.membership_get(principal=dash.principal, membership_id=membership_id)
    try:
        account_services.membership_change_role(
            principal=dash.principal, membership=membership, role=request.POST.get("role", "")
        )
    except (InvalidInput, InvalidState) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.username} is now {membership.role}.")
    return redirect("dashboard:settings")


@require_POST
@dashboard_page
def member_remove(request: HttpRequest, dash: Dash, membership_id: int) -> HttpResponse:
    membership = account_services.membership_get(principal=dash.principal, membership_id=membership_id)
    try:
        account_services.membership_remove(principal=dash.principal, membership=membership)
    except InvalidState as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.username} removed.")
    return redirect("dashboard:settings")


@require_POST
@dashboard_page
def brand_voice(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = BrandVoiceForm(request.POST)
    if not form.is_valid():
        return _render(request, dash, status=400, voice_form=form)
    brand_update(principal=dash.principal, brand=dash.brand, **form.cleaned_data)
    messages.success(request, "Brand voice saved.")
    return redirect("dashboard:settings")


@require_POST
@dashboard_page
def brand_settings_save(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = BrandSettingsForm(request.POST)
    if form.is_valid():
        try:
            brand_settings_update(principal=dash.principal, brand=dash.brand, changes=form.changes())
        except InvalidInput as exc:
            per_key = exc.details.get("fields", {}).get("settings")
            for name, errors in (per_key.items() if isinstance(per_key, dict) else [(None, [exc.message])]):
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, "Brand settings saved.")
            return redirect("dashboard:settings")
    return _render(request, dash, status=400, settings_form=form)


def _rules(dash: Dash):
    # The brands app has no rule selector; the core tenant scope keeps other tenants' rules out.
    return scope_to_principal(ComplianceRule.objects.select_related("brand"), dash.principal)


def _rule_of(dash: Dash, rule_id: int) -> ComplianceRule:
    rule = _rules(dash).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("Compliance rule not found.")
    return rule


@require_POST
@dashboard_page
def compliance_rule_create(request: HttpRequest, dash: Dash) -> HttpResponse:
    form = ComplianceRuleForm(request.POST)
    if form.is_valid():
        try:
            compliance_services.compliance_rule_create(principal=dash.principal, brand=dash.brand, **form.cleaned_data)
        except InvalidInput as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Compliance rule added.")
            return redirect("dashboard:settings")
    return _render(request, dash, status=400, rule_form=form)


@require_POST
@dashboard_page
def compliance_rule_toggle(request: HttpRequest, dash: Dash, rule_id: int) -> HttpResponse:
    rule = _rule_of(dash, rule_id)
    compliance_services.compliance_rule_update(principal=dash.principal, rule=rule, is_active=not rule.is_active)
    messages.success(request, f"Rule {'enabled' if rule.is_active else 'disabled'}.")
    return redirect("dashboard:settings")


@require_POST
@dashboard_page
def compliance_rule_delete(request: HttpRequest, dash: Dash, rule_id: int) -> HttpResponse:
    compliance_services.compliance_rule_delete(principal=dash.principal, rule=_rule_of(dash, rule_id))
    messages.success(request, "Compliance rule deleted.")
    return redirect("dashboard:settings")
