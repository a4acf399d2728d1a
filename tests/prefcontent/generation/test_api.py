import logging

import pytest
from django.urls import reverse

from prefcontent.content.models import Variant
from prefcontent.experiments.models import Decision
from prefcontent.generation import services
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.models import GenerationJob
from tests.conftest import client_for_key, client_for_user
from tests.factories import BrandFactory
from tests.prefcontent.generation.factories import (
    BriefFactory,
    corrupt_adapter,
    publish_adapter,
)


def _generate(client, brand_id, **body):
    return client.post(reverse("brand-generate", kwargs={"brand_id": brand_id}), body, format="json")


def _score(client, brand_id, **body):
    return client.post(reverse("brand-score", kwargs={"brand_id": brand_id}), body, format="json")


BRIEF = {"product": "wool socks", "audience": "hikers", "tone": "warm"}


@pytest.mark.smoke
@pytest.mark.django_db(transaction=True)
def test_sync_generate_answers_with_stored_variants_and_says_base_model(brand, owner_client, eager_tasks):
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=3, seed=9, temperature=1.0, max_new_tokens=10)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "succeeded" and body["kind"] == "generate"
    assert body["model"]["base_model"] is True and body["model"]["adapter_version_id"] is None
    assert body["model"]["engine"] == "inprocess" and body["seed"] == 9
    stored = [c for c in body["candidates"] if c["variant"]]
    assert stored
    variant = Variant.objects.get(pk=stored[0]["variant"])
    assert variant.text == stored[0]["text"] and variant.provenance["generation_job_id"] == body["id"]
    assert variant.brief.product == "wool socks" and variant.brand == brand


@pytest.mark.django_db(transaction=True)
def test_generate_with_an_existing_brief_and_the_active_adapter(brand, owner_client, tiny_adapter_dir, eager_tasks):
    adapter = publish_adapter(brand, tiny_adapter_dir, version=3)
    brief = BriefFactory(brand=brand)
    response = _generate(owner_client, brand.pk, brief_id=brief.pk, n=2, best_of=4, seed=1, max_new_tokens=8)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model"] == {"base_model": False, "adapter_version_id": adapter.pk, "adapter_version": 3,
                             "model_id": body["model"]["model_id"], "engine": "inprocess"}
    assert body["brief"] == brief.pk
    ranked = [c for c in body["candidates"] if c["rank"]]
    assert [c["rank"] for c in ranked] == list(range(1, len(ranked) + 1))
    assert all(c["score"] is not None for c in ranked)


@pytest.mark.django_db(transaction=True)
def test_async_returns_a_job_to_poll(brand, owner_client, eager_tasks):
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=1, max_new_tokens=4, **{"async": True})
    assert response.status_code == 202
    job = response.json()
    polled = owner_client.get(job["poll_url"])
    assert polled.status_code == 200 and polled.json()["state"] == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_more_than_the_sync_limit_is_a_job(brand, owner_client, settings, eager_tasks):
    settings.GENERATE_SYNC_MAX_N = 1
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=2, max_new_tokens=4)
    assert response.status_code == 202


@pytest.mark.django_db(transaction=True)
def test_a_request_that_times_out_stays_pollable(brand, owner_client, settings, monkeypatch):
    settings.GENERATE_SYNC_TIMEOUT_S = 0.3
    monkeypatch.setattr(services, "generation_job_enqueue", lambda job_id: True)  # no worker takes it in time
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=1, max_new_tokens=4)
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "queued" and body["poll_url"] == reverse("generation-job-detail", kwargs={"pk": body["id"]})
    generation_job_execute(job_id=body["id"], worker="late-worker")
    polled = owner_client.get(body["poll_url"]).json()
    assert polled["state"] == "succeeded" and polled["candidates"]


@pytest.mark.django_db(transaction=True)
def test_a_corrupt_adapter_is_a_clear_503_and_logged(brand, owner_client, tiny_adapter_dir, eager_tasks, caplog):
    corrupt_adapter(publish_adapter(brand, tiny_adapter_dir))
    with caplog.at_level(logging.ERROR):
        response = _generate(owner_client, brand.pk, brief=BRIEF, n=1)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "adapter_artifact_invalid" and "corrupt" in error["message"]
    assert GenerationJob.objects.get(pk=error["details"]["job_id"]).state == "failed"
    assert not Variant.objects.filter(brand=brand).exists()
    assert any(r.levelno >= logging.ERROR and "adapter" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_score_ranks_candidates_and_viewers_may_call_it(org, brand, make_member, tiny_adapter_dir, eager_tasks):
    publish_adapter(brand, tiny_adapter_dir)
    viewer = client_for_user(make_member(org, "viewer"))
    response = _score(viewer, brand.pk, brief=BRIEF, candidates=["Warm socks", "Cold feet? Never", "Hike on"])
    assert response.status_code == 200, response.content
    scores = response.json()["scores"]
    assert [s["rank"] for s in scores] == [1, 2, 3]
    assert [s["score"] for s in scores] == sorted((s["score"] for s in scores), reverse=True)


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "code"), [
    ({"brief": BRIEF, "n": 33}, "n_above_cap"),
    ({"brief": BRIEF, "max_new_tokens": 65}, "max_new_tokens_above_cap"),
    ({"brief": {"title": "nothing else"}}, "empty_brief"),
    ({}, "brief_required"),
    ({"brief": BRIEF, "brief_id": 1}, "brief_required"),
    ({"brief": BRIEF, "n": 0}, "validation_error"),
    ({"brief": BRIEF, "channel": "fax"}, "validation_error"),
    ({"brief": {**BRIEF, "facts": {"offer": {"discount_percent": 150}}}, "async": True}, "invalid_facts"),
    ({"brief": {**BRIEF, "facts": {"offer": "20% off"}}, "async": True}, "invalid_facts"),
])
def test_bad_input_is_a_clear_400(brand, owner_client, body, code):
    response = _generate(owner_client, brand.pk, **body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_an_inline_brief_keeps_its_facts(brand, owner_client):
    facts = {"offer": {"discount_percent": 10}, "validity": {"ends": "2026-12-06"}}
    response = _generate(owner_client, brand.pk, brief={**BRIEF, "facts": facts}, n=1, **{"async": True})
    assert response.status_code == 202, response.content
    brief = GenerationJob.objects.get(pk=response.json()["id"]).brief
    assert brief.facts["offer"]["discount_percent"] == 10 and brief.facts["validity"]["ends"] == "2026-12-06"


@pytest.mark.django_db
def test_unknown_brand_and_brief_are_404(brand, owner_client):
    assert _generate(owner_client, 999999, brief=BRIEF).status_code == 404
    assert _generate(owner_client, brand.pk, brief_id=999999).status_code == 404
    foreign = BriefFactory(brand=BrandFactory())
    assert _generate(owner_client, brand.pk, brief_id=foreign.pk).json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_score_without_an_adapter_is_a_clear_409(brand, owner_client):
    response = _score(owner_client, brand.pk, brief=BRIEF, candidates=["a"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_active_adapter"


@pytest.mark.django_db
def test_api_keys_need_the_generate_scope(brand, make_key):
    refused = _generate(client_for_key(make_key(brand, scopes=["content:read"])), brand.pk, brief=BRIEF)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "missing_scope"
    accepted = _generate(client_for_key(make_key(brand, scopes=["generate"])), brand.pk, brief=BRIEF, n=1,
                         **{"async": True})
    assert accepted.status_code == 202
    assert GenerationJob.objects.get(pk=accepted.json()["id"]).requested_by_api_key_id is not None


@pytest.mark.django_db
def test_job_list_shows_only_visible_brands(brand, owner_client):
    mine = GenerationJob.objects.create(brand=brand, channel="headline", prompt="p", prompt_version="v")
    GenerationJob.objects.create(brand=BrandFactory(), channel="headline", prompt="p", prompt_version="v")
    rows = owner_client.get(reverse("generation-job-list")).json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]


@pytest.mark.django_db(transaction=True)
def test_a_variant_traces_back_to_its_dataset_and_experiments(brand, owner_client, settings, eager_tasks):
    """Followed through the real path: experiments decided by the live rules, pairs built, a snapshot frozen,
    an adapter really trained on it and promoted, a generation with it; the lineage names them all."""
    from prefcontent.preferences.building import pairs_build
    from prefcontent.preferences.snapshots import snapshot_create
    from prefcontent.tenancy.principal import SYSTEM
    from prefcontent.training.models import TrainingRun
    from tests.prefcontent.preferences.factories import concluded_experiment

    settings.TRAINING_HEARTBEAT_SECONDS, settings.TRAINING_LEASE_SECONDS = 0.1, 30
    settings.ADAPTER_GATE_SAMPLING = {"max_new_tokens": 12, "max_prompts": 4}
    # The split hashes the rendered prompt, which names the brand: a fixed name keeps the split of these
    # six pairs fixed (the factory's numbered names leave a 12% chance of no holdout pair, then a 400).
    brand.name = "Trailhead Outfitters"
    brand.save(update_fields=["name"])
    # The gate is not what this test is about: every check is opened so the trained adapter goes active.
    settings.ADAPTER_GATE = {"min_reward_accuracy": 0.0, "significance_alpha": 1.01, "compliance_tolerance": 1.0,
                             "min_diversity_ratio": 0.0, "min_length_ratio": 0.0, "max_length_ratio": 1e9,
                             "max_chosen_logp_drop": 1e9, "min_changed_fraction": 0.0}
    ids = [concluded_experiment(brand, [(f"Meet our trail shoes, model {i}", 5000, 250),
                                        (f"Save {10 + i}% on trail shoes today", 5000, 400)]).pk for i in range(6)]
    decided = set(Decision.objects.filter(experiment_id__in=ids, outcome="winner").values_list("experiment_id",
                                                                                               flat=True))
    assert decided == set(ids)
    assert pairs_build(experiment_ids=ids).active == 6
    snapshot = snapshot_create(principal=SYSTEM, brand=brand, holdout_fraction=0.3)
    assert 0 < snapshot.counts["holdout"] < 6, snapshot.counts
    started = owner_client.post("/api/v1/training-runs/", {"brand": brand.pk, "snapshot": snapshot.pk, "hyperparameters": {
        "max_steps": 2, "batch_size": 4, "lr": 5e-3, "lora_rank": 8, "lora_alpha": 16, "beta": 0.25}}, format="json")
    assert started.status_code == 201, started.content
    run = TrainingRun.objects.get(pk=started.json()["id"])  # tasks run inline here: the run is done
    assert run.state == TrainingRun.State.SUCCEEDED, run.error

    body = _generate(owner_client, brand.pk, brief=BRIEF, n=2, best_of=3, seed=2, max_new_tokens=8).json()
    assert body["model"]["base_model"] is False and body["params"]["beta"] == 0.25  # the run's own DPO beta
    variant_id = next(c["variant"] for c in body["candidates"] if c["variant"])
    lineage = owner_client.get(reverse("variant-lineage", kwargs={"variant_id": variant_id})).json()
    adapter = run.adapter_version
    assert lineage == {
        "variant_id": variant_id, "generated": True, "generation_job_id": body["id"], "base_model": False,
        "model_id": body["model"]["model_id"], "adapter_version_id": adapter.pk, "adapter_version": 1,
        "training_run_id": run.pk, "snapshot_id": snapshot.pk, "snapshot_content_hash": snapshot.content_hash,
        "experiment_ids": sorted(ids), "claims": [],
    }
    human = Variant.objects.create(brand=brand, text="By hand", content_hash="b" * 64)
    assert owner_client.get(reverse("variant-lineage", kwargs={"variant_id": human.pk})).json()["generated"] is False


@pytest.mark.django_db(transaction=True)
def test_a_real_generation_records_its_engine_latency_job_duration_and_queue_wait(brand, owner_client, eager_tasks):
    from tests.metrics_scrape import change_since, scrape

    before = scrape()
    response = _generate(owner_client, brand.pk, brief=BRIEF, n=2, seed=4, max_new_tokens=8)
    assert response.status_code == 200 and response.json()["state"] == "succeeded", response.content
    delta = change_since(before)

    assert delta("prefcontent_generation_latency_seconds_count", kind="generate") == 1
    assert delta("prefcontent_generation_latency_seconds_sum", kind="generate") > 0
    assert delta("prefcontent_run_duration_seconds_count", kind="generate", outcome="succeeded") == 1
    assert delta("prefcontent_queue_wait_seconds_count", kind="generate") == 1


@pytest.mark.django_db
def test_the_lineage_and_the_job_carry_flagged_claims_with_their_reasons(brand, owner_client):
    from prefcontent.generation.models import GeneratedCandidate
    from tests.prefcontent.generation.factories import GenerationJobFactory

    claim = {"rule": "claim", "kind": "discount", "verdict": "contradicted", "match": "Save 20%",
             "reason": "claims 20% off; the offer is 10%", "message": "contradicted discount claim 'Save 20%': ...",
             "value": 20.0, "detail": ""}
    job = GenerationJobFactory(brand=brand, state="succeeded")
    variant = Variant.objects.create(brand=brand, text="Save 20% on jackets", content_hash="c" * 64,
                                     source="generated")
    GeneratedCandidate.objects.create(job=job, index=0, text=variant.text, status="flagged", variant=variant,
                                      violations=[claim])
    lineage = owner_client.get(reverse("variant-lineage", kwargs={"variant_id": variant.pk})).json()
    assert lineage["claims"] == [claim]
    body = owner_client.get(reverse("generation-job-detail", kwargs={"pk": job.pk})).json()
    assert body["candidates"][0]["violations"] == [claim]
