import pytest

from prefcontent.adapters.models import AdapterVersion
from prefcontent.training.models import TrainingRun
from prefcontent.training.runner import training_run_execute
from tests.browser.conftest import in_thread, log_in
from tests.factories import PASSWORD, BrandFactory, MembershipFactory
from tests.prefcontent.dashboard.helpers import adapter
from tests.prefcontent.training.factories import make_snapshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _owner():
    membership = MembershipFactory(role="owner")
    return membership, BrandFactory(organization=membership.organization, name="Acme Outdoor")


def test_start_a_training_run_and_see_its_progress(page, shot, settings, tiny_model_dir, no_broker):
    import torch

    torch.set_num_threads(1)
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    settings.TRAINING_HEARTBEAT_SECONDS = 0.1
    settings.ADAPTER_GATE_SAMPLING = {"max_new_tokens": 16, "max_prompts": 8}
    membership, brand = _owner()
    snap = make_snapshot(brand, train=4, holdout=5)
    log_in(page, membership.user.username, PASSWORD)

    page.goto("/dashboard/training/")
    page.select_option("#id_snapshot", str(snap.pk))
    page.fill("#id_max_steps", "6")
    page.fill("#id_lr", "0.005")
    page.select_option("#id_lora_rank", "8")
    page.click("#new-run button[type=submit]")
    page.wait_for_selector("#run-state")
    run = TrainingRun.objects.get(brand=brand)
    assert page.inner_text("#run-state") == "queued"
    assert ("training.run_execute", [run.pk]) in no_broker  # handed to the gpu queue (recorded, not sent)
    shot(page, "training_run_queued")

    worker = in_thread(training_run_execute, run_id=run.pk)
    page.wait_for_function("['succeeded', 'rejected', 'failed'].includes(document.querySelector('#run-state')"
                           ".textContent)", timeout=180_000)  # the page polls; no reload
    worker.join(timeout=60)
    run.refresh_from_db()
    assert page.inner_text("#run-state") == run.state and run.state in ("succeeded", "rejected"), run.error
    assert "Step 6 of 6 (100%)" in page.inner_text("#run-step")
    assert page.locator("#run-progress polyline[data-series='DPO loss']").count() == 1
    shot(page, "training_run_finished")
    page.goto("/dashboard/training/")
    shot(page, "training_list")


def test_compare_and_promote_an_adapter_with_confirmation(page, shot):
    membership, brand = _owner()
    old = adapter(brand, 1, "active")
    new = adapter(brand, 2, "candidate")
    log_in(page, membership.user.username, PASSWORD)

    page.goto("/dashboard/adapters/")
    assert page.locator("#gate-comparison th:has-text('v1')").count() == 1
    assert page.locator("#gate-comparison th:has-text('v2')").count() == 1
    shot(page, "adapters_list")
    page.click("tr[data-adapter='2'] a")
    shot(page, "adapter_detail")
    page.click("text=Promote v2…")
    page.wait_for_selector("#confirm-action")
    shot(page, "adapter_promote_confirm")
    page.click("#confirm-action")
    page.wait_for_selector(".msg-success")
    old.refresh_from_db(), new.refresh_from_db()
    assert (old.status, new.status) == (AdapterVersion.Status.RETIRED, AdapterVersion.Status.ACTIVE)
    page.goto("/dashboard/")
    assert "v2" in page.inner_text("#active-adapter")
    shot(page, "overview_with_active_adapter")
