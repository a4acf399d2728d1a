"""End to end: a real Celery worker on the generate queues serves a request submitted through the API."""
import time

import pytest
from django.urls import reverse

from prefcontent.content.models import Variant
from prefcontent.generation.models import GenerationJob, GenerationShard
from prefcontent.generation.sharding import rendezvous_shard
from tests.factories import BrandFactory
from tests.prefcontent.generation.factories import publish_adapter
from tests.worker import CeleryWorker


@pytest.fixture
def generate_worker(transactional_db, settings, tiny_model_dir):
    """One worker consuming both shard queues of a two-shard setup (and default, for the beat's ping task)."""
    settings.GENERATE_SHARDS = 2
    worker = CeleryWorker(queues="default,generate,generate.1", extra_env={
        "MODELS_STORE_URL": settings.MODELS_STORE_URL, "PREFCONTENT_WORK_DIR": str(settings.WORK_DIR),
        "PREFCONTENT_BASE_MODEL": str(tiny_model_dir), "GENERATE_SHARDS": "2", "OMP_NUM_THREADS": "1",
    })
    worker.start()
    yield worker
    worker.stop()


def _wait_for(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.smoke
def test_a_real_generate_worker_serves_the_api_with_provenance(generate_worker, org, owner_client, settings,
                                                               tiny_adapter_dir, tiny_model_dir):
    from prefcontent.generation.tasks import ping_shards

    settings.GENERATE_SYNC_TIMEOUT_S = 120  # the first request loads the model in the worker
    brand = BrandFactory(organization=org)
    while rendezvous_shard(brand.pk, [0, 1]) != 1:  # exercise the "generate.1" queue, not only the default one
        brand = BrandFactory(organization=org)
    adapter = publish_adapter(brand, tiny_adapter_dir, version=1)
    response = owner_client.post(
        reverse("brand-generate", kwargs={"brand_id": brand.pk}),
        {"brief": {"product": "wool socks", "audience": "hikers"}, "n": 2, "best_of": 3, "seed": 5,
         "temperature": 1.0, "max_new_tokens": 10}, format="json")
    assert response.status_code == 200, (response.content, generate_worker.log()[-3000:])
    body = response.json()
    assert body["state"] == "succeeded" and body["model"]["adapter_version_id"] == adapter.pk
    assert body["shard"] == 1 and GenerationJob.objects.get(pk=body["id"]).worker
    variants = Variant.objects.filter(pk__in=[c["variant"] for c in body["candidates"] if c["variant"]])
    assert variants.exists()
    for variant in variants:
        prov = variant.provenance
        assert prov["adapter_version_id"] == adapter.pk and prov["adapter"]["sha256"] == adapter.sha256
        assert prov["model_id"] == str(tiny_model_dir.resolve()) and prov["engine"] == "inprocess"
        assert prov["seed"] == 5 and prov["params"]["best_of"] == 3 and prov["score"] is not None
        assert variant.adapter_version_id == adapter.pk

    GenerationShard.objects.all().delete()
    ping_shards.delay()  # beat's job: whoever consumes each shard queue answers for that shard
    assert _wait_for(lambda: GenerationShard.objects.filter(shard__in=[0, 1]).count() == 2), generate_worker.log()[-3000:]


@pytest.fixture
def threaded_generate_worker(transactional_db, settings, tiny_model_dir):
    """A generate worker as deployed: task threads feeding the one engine of the process."""
    worker = CeleryWorker(queues="default,generate", concurrency=8, pool="threads", extra_env={
        "MODELS_STORE_URL": settings.MODELS_STORE_URL, "PREFCONTENT_WORK_DIR": str(settings.WORK_DIR),
        "PREFCONTENT_BASE_MODEL": str(tiny_model_dir), "OMP_NUM_THREADS": "1",
    })
    worker.start()
    yield worker
    worker.stop()


@pytest.mark.slow
def test_a_threaded_generate_worker_runs_the_jobs_of_several_brands_at_once(threaded_generate_worker, org,
                                                                           owner_client, tiny_adapter_dir):
    brands = [BrandFactory(organization=org) for _ in range(4)]
    for brand in brands:
        publish_adapter(brand, tiny_adapter_dir, version=1)
    ids = []
    for i in range(8):
        response = owner_client.post(
            reverse("brand-generate", kwargs={"brand_id": brands[i % 4].pk}),
            {"brief": {"product": "wool socks", "audience": "hikers"}, "n": 4, "seed": i, "temperature": 1.0,
             "max_new_tokens": 48, "async": True}, format="json")
        assert response.status_code == 202, response.content
        ids.append(response.json()["id"])
    jobs = GenerationJob.objects.filter(pk__in=ids)
    assert _wait_for(lambda: all(j.is_done for j in jobs.all()), timeout=180), threaded_generate_worker.log()[-3000:]
    jobs = list(jobs.all())
    assert {j.state for j in jobs} == {"succeeded"}, [(j.error_code, j.error_message) for j in jobs]
    # One job-at-a-time worker would run them one after the other; these overlapped in the one engine.
    overlapping = sum(1 for a in jobs for b in jobs if a.pk < b.pk and a.started_at < b.finished_at
                      and b.started_at < a.finished_at)
    assert overlapping > 0
    assert len({j.worker for j in jobs}) == 1
