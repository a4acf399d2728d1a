import pytest

from prefcontent.accounts.models import ApiKey
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, BrandFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_log_in_switch_brand_create_and_revoke_a_key(page, shot):
    membership = MembershipFactory(role="owner")
    BrandFactory(organization=membership.organization, name="First Brand")
    second = BrandFactory(organization=membership.organization, name="Second Brand")
    log_in(page, membership.user.username, PASSWORD)
    shot(page, "overview")

    page.goto("/dashboard/settings/")
    page.select_option("#brand-select", str(second.pk))  # the switcher submits itself
    page.wait_for_url(f"**/dashboard/settings/?brand={second.pk}")
    assert page.inner_text("h1") == "Settings · Second Brand"

    page.click("form[action$='/settings/keys/'] button[type=submit]")  # empty form: inline errors
    assert page.locator(".field.has-error").count() == 2
    page.fill("#id_name", "cms")
    page.check("input[name=scopes][value=assign]")
    page.click("form[action$='/settings/keys/'] button[type=submit]")
    plaintext = page.inner_text("#issued-key")
    key = ApiKey.objects.get()
    assert key.brand_id == second.pk and key.prefix in plaintext
    shot(page, "settings_key_created")

    page.goto("/dashboard/settings/")
    assert plaintext not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-key='{key.prefix}'] button.danger")
    page.wait_for_selector(".msg-success")
    key.refresh_from_db()
    assert key.revoked_at is not None
    shot(page, "settings_key_revoked")
