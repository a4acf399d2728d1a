import pytest
from django_celery_beat.models import PeriodicTask

from prefcontent.accounts.models import AuditLog
from prefcontent.tenancy.principal import SYSTEM
from prefcontent.training.models import RetrainPolicy
from prefcontent.training.policies import retrain_policy_create
from tests.factories import BrandFactory

pytestmark = pytest.mark.django_db
BODY = {"enabled": "on", "cron": "0 3 * * 1", "threshold_pairs": 50, "min_interval_minutes": 60,
        "auto_promote": "on", "priority": 0}


def test_create_then_update_a_policy_and_see_the_next_retraining(brand, member):
    _, client = member(brand.organization, "ops")
    assert client.post("/dashboard/training/policy/", {"brand": brand.pk, **BODY}).status_code == 302
    policy = RetrainPolicy.objects.get(brand=brand)
    assert (policy.cron, policy.threshold_pairs, policy.enabled) == ("0 3 * * 1", 50, True)
    assert PeriodicTask.objects.filter(name=policy.periodic_task_name, enabled=True).exists()
    page = client.get("/dashboard/training/").content.decode()
    assert "Next scheduled: <strong>" in page and "50 more usable pairs to the threshold." in page
    overview = client.get("/dashboard/").content.decode()
    assert "scheduled " in overview.split('id="next-retrain"')[1] and "after 50 more usable pairs" in overview

    client.post("/dashboard/training/policy/", {"brand": brand.pk, **BODY, "cron": "", "enabled": ""})
    policy.refresh_from_db()
    assert policy.cron == "" and policy.enabled is False
    assert not PeriodicTask.objects.filter(name=policy.periodic_task_name).exists()
    assert "policy disabled" in client.get("/dashboard/").content.decode()
    assert {"retrain_policy.create", "retrain_policy.update"} <= set(AuditLog.objects.values_list("action", flat=True))


def test_invalid_cron_is_shown_inline(brand, member):
    _, client = member(brand.organization, "owner")
    response = client.post("/dashboard/training/policy/", {"brand": brand.pk, **BODY, "cron": "every monday"})
    assert response.status_code == 400
    assert "cron needs five fields" in response.content.decode()
    assert not RetrainPolicy.objects.exists()


def test_delete_policy_and_roles_and_tenants(brand, member):
    retrain_policy_create(principal=SYSTEM, brand=brand, values={"cron": "0 3 * * *"})
    other = BrandFactory()
    retrain_policy_create(principal=SYSTEM, brand=other, values={"cron": "0 4 * * *"})
    _, viewer = member(brand.organization, "viewer")
    page = viewer.get("/dashboard/training/").content.decode()
    assert "<code>0 3 * * *</code>" in page and "Save policy" not in page and "0 4 * * *" not in page
    assert viewer.post("/dashboard/training/policy/", {"brand": brand.pk, **BODY}).status_code == 403
    assert viewer.post("/dashboard/training/policy/delete/", {"brand": brand.pk}).status_code == 403
    _, owner = member(brand.organization, "owner")
    assert owner.post("/dashboard/training/policy/delete/", {"brand": other.pk}).status_code == 404
    assert owner.post("/dashboard/training/policy/delete/", {"brand": brand.pk}).status_code == 302
    assert list(RetrainPolicy.objects.values_list("brand_id", flat=True)) == [other.pk]


def test_next_cron_time_is_the_next_matching_minute_in_utc():
    from datetime import UTC, datetime

    from prefcontent.training.cron import next_cron_time

    friday = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert next_cron_time("0 3 * * *", friday) == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert next_cron_time("30 1 * * *", friday) == datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
    assert next_cron_time("0 3 * * 1", friday) == datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # the Monday after
