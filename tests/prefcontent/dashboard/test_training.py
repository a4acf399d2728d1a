import pytest

from prefcontent.accounts.models import AuditLog
from prefcontent.training.models import TrainingRun
from tests.factories import BrandFactory
from tests.prefcontent.dashboard.helpers import adapter, snapshot
from tests.prefcontent.training.factories import make_snapshot

pytestmark = pytest.mark.django_db
WRITERS = {"owner": True, "marketer": True, "ops": True, "viewer": False}


def _run(brand, **fields):
    snap = snapshot(brand)
    return TrainingRun.objects.create(brand=brand, snapshot=snap, base_model_id="base", total_steps=10, **fields)


@pytest.mark.parametrize("role", WRITERS)
def test_pages_render_for_every_role_and_only_writers_get_controls(brand, member, role):
    run = _run(brand, state="running", step=4,
               metrics=[{"step": s, "loss": 0.7 - s / 100, "reward_accuracy": 0.5 + s / 20} for s in range(1, 5)])
    _, client = member(brand.organization, role)
    listing = client.get("/dashboard/training/").content.decode()
    assert f'data-run="{run.pk}"' in listing and 'data-poll="/dashboard/training/rows/"' in listing
    assert ("Start training" in listing) is WRITERS[role]
    detail = client.get(f"/dashboard/training/{run.pk}/").content.decode()
    assert "Step 4 of 10 (40%)" in detail and 'data-series="DPO loss"' in detail
    assert ('data-series="train reward accuracy"' in detail)
    assert ("Cancel</button>" in detail) is WRITERS[role]


def test_start_a_run_from_a_snapshot(brand, member):
    snap = make_snapshot(brand, train=4, holdout=5)
    _, client = member(brand.organization, "marketer")
    body = {"brand": brand.pk, "snapshot": snap.pk, "parent_adapter": "", "max_steps": 3, "epochs": 1,
            "lr": 0.0005, "beta": 0.1, "lora_rank": 8}
    response = client.post("/dashboard/training/new/", body)
    run = TrainingRun.objects.get(brand=brand)
    assert response.status_code == 302 and response["Location"] == f"/dashboard/training/{run.pk}/"
    assert run.state == "queued" and run.snapshot_id == snap.pk and run.total_steps == 3
    assert run.hyperparameters["lora_rank"] == 8 and run.hyperparameters["lr"] == 0.0005
    assert AuditLog.objects.filter(action="training_run.create", target_id=str(run.pk)).exists()


def test_start_form_errors_inline_and_viewer_refused(brand, member):
    snap = snapshot(brand)
    foreign = snapshot(BrandFactory(), name="theirs")
    _, client = member(brand.organization, "owner")
    base = {"brand": brand.pk, "epochs": 1, "lr": 0.0005, "beta": 0.1, "lora_rank": 8}
    other = client.post("/dashboard/training/new/", {**base, "snapshot": foreign.pk})
    assert other.status_code == 400 and "Select a valid choice" in other.content.decode()
    bad = client.post("/dashboard/training/new/", {**base, "snapshot": snap.pk, "beta": -1})
    assert bad.status_code == 400 and 'class="error" role="alert"' in bad.content.decode()
    _, viewer = member(brand.organization, "viewer")
    assert viewer.post("/dashboard/training/new/", {**base, "snapshot": snap.pk}).status_code == 403
    assert not TrainingRun.objects.exists()


def test_progress_fragment_polls_until_the_run_ends(brand, member):
    run = _run(brand, state="running", step=2)
    _, client = member(brand.organization, "viewer")
    live = client.get(f"/dashboard/training/{run.pk}/progress/")
    assert "X-Poll-Done" not in live and "Step 2 of 10" in live.content.decode()
    TrainingRun.objects.filter(pk=run.pk).update(state="succeeded", step=10)
    done = client.get(f"/dashboard/training/{run.pk}/progress/")
    assert done["X-Poll-Done"] == "1" and "Step 10 of 10 (100%)" in done.content.decode()
    assert client.get("/dashboard/training/rows/")["X-Poll-Done"] == "1"


def test_cancel_and_retry_through_the_services(brand, member):
    run = _run(brand, state="queued")
    _, client = member(brand.organization, "ops")
    client.post(f"/dashboard/training/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.state == "cancelled"
    client.post(f"/dashboard/training/{run.pk}/retry/")
    run.refresh_from_db()
    assert run.state == "queued"
    assert {"training_run.cancel", "training_run.retry"} <= set(AuditLog.objects.values_list("action", flat=True))
    TrainingRun.objects.filter(pk=run.pk).update(state="succeeded")
    follow = client.post(f"/dashboard/training/{run.pk}/retry/", follow=True)
    assert "only failed or cancelled runs can be retried" in follow.content.decode()


def test_viewer_cannot_cancel_and_other_tenants_runs_answer_404(brand, member):
    run = _run(brand, state="queued")
    theirs = _run(BrandFactory(), state="queued")
    _, viewer = member(brand.organization, "viewer")
    assert viewer.post(f"/dashboard/training/{run.pk}/cancel/").status_code == 403
    _, owner = member(brand.organization, "owner")
    for url in (f"/dashboard/training/{theirs.pk}/", f"/dashboard/training/{theirs.pk}/progress/"):
        assert owner.get(url).status_code == 404
    assert owner.post(f"/dashboard/training/{theirs.pk}/cancel/").status_code == 404
    assert set(TrainingRun.objects.values_list("state", flat=True)) == {"queued"}


def test_run_links_to_the_adapter_it_produced(brand, member):
    run = _run(brand, state="succeeded", step=10)
    version = adapter(brand, 1, "candidate")
    version.run = run
    version.save()
    _, client = member(brand.organization, "viewer")
    assert f"/dashboard/adapters/{version.pk}/" in client.get(f"/dashboard/training/{run.pk}/").content.decode()


def test_a_snapshot_the_gate_could_never_pass_is_refused_with_its_reasons(brand, member):
    snap = snapshot(brand)  # one pair, no holdout
    _, client = member(brand.organization, "marketer")
    body = {"brand": brand.pk, "snapshot": snap.pk, "parent_adapter": "", "epochs": 1, "lr": 0.0005, "beta": 0.1,
            "lora_rank": 8}
    response = client.post("/dashboard/training/new/", body)
    assert response.status_code == 400 and "cannot pass the promotion gate" in response.content.decode()
    assert "no held-out pair" in response.content.decode()
    assert not TrainingRun.objects.exists()
