"""Adapters record the base they were trained on; serving and promotion refuse one of another base."""
from __future__ import annotations

import pytest
from django.urls import reverse

from prefcontent.adapters.models import AdapterVersion
from prefcontent.core.base_model import base_model_identity
from prefcontent.generation import services
from prefcontent.generation.execution import generation_job_execute
from prefcontent.tenancy.principal import SYSTEM
from tests.prefcontent.generation.factories import BriefFactory, publish_adapter

BRIEF = {"product": "wool socks", "audience": "hikers", "tone": "warm"}
OTHER_BASE = "f" * 64  # the checksum of a base model that is not the one in use


def _generate(client, brand_id, **body):
    return client.post(reverse("brand-generate", kwargs={"brand_id": brand_id}), body, format="json")


def _of_another_base(brand, tiny_adapter_dir, **kwargs) -> AdapterVersion:
    adapter = publish_adapter(brand, tiny_adapter_dir, **kwargs)
    adapter.base_model_name, adapter.base_model_sha256 = "an earlier build", OTHER_BASE
    adapter.save()
    return adapter


@pytest.mark.django_db
def test_generate_refuses_an_active_adapter_of_another_base_with_409(brand, owner_client, tiny_adapter_dir):
    base_model_identity(compute=True)  # what a worker or the preparation leaves for the web tier
    _of_another_base(brand, tiny_adapter_dir, status="active")
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=1, max_new_tokens=4)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "base_model_mismatch" and "an earlier build" in error["message"]
    assert "use_base_model" in error["message"] and error["details"]["adapter_base"]["sha256"] == OTHER_BASE


@pytest.mark.django_db
def test_the_worker_refuses_it_too_and_never_falls_back_to_the_base(brand, tiny_adapter_dir):
    adapter = publish_adapter(brand, tiny_adapter_dir, status="active")
    job = services.generation_job_create(principal=SYSTEM, brand=brand, brief=BriefFactory(brand=brand), channel=None,
                                         params=services.sampling_params(n=1, max_new_tokens=4), enqueue=False)
    AdapterVersion.objects.filter(pk=adapter.pk).update(base_model_sha256=OTHER_BASE)  # e.g. the base was rebuilt
    job = generation_job_execute(job_id=job.pk, worker="test-worker")
    assert job.state == "failed" and job.error_code == "base_model_mismatch"
    assert not job.candidates.exists()


@pytest.mark.django_db
def test_an_adapter_of_the_same_base_is_served(brand, tiny_adapter_dir):
    adapter = publish_adapter(brand, tiny_adapter_dir, status="active")
    AdapterVersion.objects.filter(pk=adapter.pk).update(base_model_sha256=base_model_identity().sha256)
    job = services.generation_job_create(principal=SYSTEM, brand=brand, brief=BriefFactory(brand=brand), channel=None,
                                         params=services.sampling_params(n=1, max_new_tokens=4), enqueue=False)
    assert generation_job_execute(job_id=job.pk, worker="test-worker").state == "succeeded"


@pytest.mark.django_db
def test_promotion_and_rollback_refuse_an_adapter_of_another_base(brand, owner_client, tiny_adapter_dir):
    base_model_identity(compute=True)
    old = _of_another_base(brand, tiny_adapter_dir, version=1, status="retired")
    candidate = _of_another_base(brand, tiny_adapter_dir, version=2, status="candidate")
    response = owner_client.post(f"/api/v1/adapters/{candidate.pk}/promote/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "base_model_mismatch"
    AdapterVersion.objects.filter(pk=candidate.pk).update(base_model_sha256=base_model_identity().sha256)
    assert owner_client.post(f"/api/v1/adapters/{candidate.pk}/promote/").status_code == 200
    response = owner_client.post(f"/api/v1/adapters/{old.pk}/rollback/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "base_model_mismatch"


@pytest.mark.django_db
def test_an_adapter_recorded_before_identities_is_compared_by_path(brand, owner_client, tiny_adapter_dir):
    publish_adapter(brand, tiny_adapter_dir, status="active", base_model_id="/models/somewhere-else")
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=1, max_new_tokens=4)
    assert response.status_code == 409 and "/models/somewhere-else" in response.json()["error"]["message"]
