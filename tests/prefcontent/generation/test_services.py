from datetime import timedelta

import pytest
from django.utils import timezone

from prefcontent.content.models import Brief
from prefcontent.core.errors import InvalidInput, InvalidState
from prefcontent.generation import services
from prefcontent.generation.sharding import rendezvous_shard, shard_heartbeat_record
from prefcontent.preferences.prompting import prompt_version, render_prompt
from prefcontent.tenancy.principal import SYSTEM
from tests.prefcontent.generation.factories import (
    BriefFactory,
    GenerationJobFactory,
    publish_adapter,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The (job id, queue) of every run_job the services hand to the broker."""
    from prefcontent.celery import app

    calls = []
    monkeypatch.setattr(app, "send_task", lambda name, args, queue, **kw: calls.append((args[0], queue)))
    return calls


def _create(brand, brief=None, **params):
    return services.generation_job_create(principal=SYSTEM, brand=brand, brief=brief or BriefFactory(brand=brand),
                                          channel=None, params=services.sampling_params(**params))


@pytest.mark.parametrize(("params", "code"), [
    ({"n": 33}, "n_above_cap"),
    ({"max_new_tokens": 65}, "max_new_tokens_above_cap"),
    ({"n": 4, "best_of": 2}, "best_of_below_n"),
    ({"n": 2, "best_of": 33}, "best_of_above_cap"),
])
def test_caps_are_clear_400s(brand, params, code):
    with pytest.raises(InvalidInput) as err:
        _create(brand, **params)
    assert err.value.code == code and err.value.status_code == 400


def test_caps_follow_the_settings(brand, settings):
    settings.GENERATE_MAX_N = 2
    with pytest.raises(InvalidInput, match="cap of 2"):
        _create(brand, n=3)


def test_an_empty_brief_is_refused(brand):
    with pytest.raises(InvalidInput) as err:
        _create(brand, brief=Brief(brand=brand, title="only a title"))
    assert err.value.code == "empty_brief"
    assert not Brief.objects.filter(title="only a title").exists()


def test_job_records_prompt_base_model_and_shard(brand, settings):
    settings.GENERATE_SHARDS = 4
    brief = BriefFactory(brand=brand)
    job = _create(brand, brief=brief, n=3, seed=5)
    assert job.state == "queued" and job.uses_base_model and job.adapter_version is None
    assert job.prompt == render_prompt(brand=brand, brief=brief, channel="headline")
    assert job.prompt_version == prompt_version()
    assert job.params == {"n": 3, "temperature": 0.9, "top_p": 0.95, "max_new_tokens": 48, "seed": 5,
                          "best_of": None}
    assert job.shard == rendezvous_shard(brand.pk, range(4))


def test_job_uses_the_active_adapter_and_the_campaign_channel(brand, tiny_adapter_dir):
    from prefcontent.content.models import Campaign

    publish_adapter(brand, tiny_adapter_dir, version=1, status="retired")
    active = publish_adapter(brand, tiny_adapter_dir, version=2)
    campaign = Campaign.objects.create(brand=brand, name="c", channel="email_subject")
    job = _create(brand, brief=BriefFactory(brand=brand, campaign=campaign))
    assert job.adapter_version == active and not job.uses_base_model
    assert job.channel == "email_subject"


def test_use_base_model_skips_the_active_adapter_for_comparisons(brand, tiny_adapter_dir):
    publish_adapter(brand, tiny_adapter_dir, version=1)
    job = services.generation_job_create(principal=SYSTEM, brand=brand, brief=BriefFactory(brand=brand), channel=None,
                                         params=services.sampling_params(n=2), use_base_model=True)
    assert job.adapter_version is None and job.uses_base_model


def test_an_inline_brief_is_stored_for_the_brand(brand):
    job = _create(brand, brief=Brief(title="", product="wool socks"))
    assert job.brief.pk and job.brief.brand == brand and job.brief.locale == brand.locale


def test_best_of_needs_an_adapter(brand):
    with pytest.raises(InvalidState) as err:
        _create(brand, n=1, best_of=3)
    assert err.value.code == "no_active_adapter"


def test_best_of_records_the_adapter_beta(brand, tiny_adapter_dir):
    publish_adapter(brand, tiny_adapter_dir)
    job = _create(brand, n=1, best_of=3)
    assert job.params["beta"] == services.DEFAULT_BETA and job.params["best_of"] == 3


def test_score_needs_an_adapter_and_valid_candidates(brand, tiny_adapter_dir, settings):
    brief = BriefFactory(brand=brand)

    def score(texts):
        return services.generation_score_create(principal=SYSTEM, brand=brand, brief=brief, channel=None, texts=texts)

    with pytest.raises(InvalidState):
        score(["a"])
    publish_adapter(brand, tiny_adapter_dir)
    settings.GENERATE_MAX_SCORE_CANDIDATES = 2
    for texts, code in ([[], "no_candidates"], [["a", "b", "c"], "too_many_candidates"],
                        [["a", " "], "empty_candidate"], [["x" * 2001], "candidate_too_long"]):
        with pytest.raises(InvalidInput) as err:
            score(texts)
        assert err.value.code == code
    job = score(["a", "b"])
    assert job.kind == "score" and job.texts_to_score == ["a", "b"]


def test_enqueue_sends_to_the_brand_shard_queue(brand, settings, sent, django_capture_on_commit_callbacks):
    settings.GENERATE_SHARDS = 3
    with django_capture_on_commit_callbacks(execute=True):
        job = _create(brand)
    assert sent == [(job.pk, "generate" if job.shard == 0 else f"generate.{job.shard}")]
    job.refresh_from_db()
    assert job.enqueued_at is not None


def test_a_broker_outage_leaves_the_job_queued(brand, request):
    job = _create(brand)
    request.getfixturevalue("broker_down")
    assert services.generation_job_enqueue(job_id=job.pk) is False
    job.refresh_from_db()
    assert job.state == "queued" and job.enqueued_at is None


def test_wait_returns_at_once_inside_a_transaction(brand):
    job = _create(brand)
    assert services.generation_job_wait(job=job, timeout_s=30).state == "queued"


def test_failures_map_to_clear_errors(brand):
    job = GenerationJobFactory(brand=brand, state="failed", error_code="adapter_artifact_invalid", error_message="bad")
    with pytest.raises(Exception) as err:
        services.generation_job_raise_failure(job)
    assert err.value.status_code == 503 and err.value.code == "adapter_artifact_invalid"
    assert err.value.details == {"job_id": job.pk}
    job.error_code = "invalid_request"
    with pytest.raises(InvalidInput):
        services.generation_job_raise_failure(job)


def test_reaper_fails_lost_jobs_and_moves_jobs_off_dead_shards(brand, settings, sent):
    settings.GENERATE_SHARDS = 2
    settings.GENERATE_SHARD_TTL_S = 60
    now = timezone.now()
    old = now - timedelta(seconds=200)
    dead = rendezvous_shard(brand.pk, [0, 1])
    alive = 1 - dead
    shard_heartbeat_record(shard=alive, now=now)
    shard_heartbeat_record(shard=dead, now=now - timedelta(seconds=300))
    lost = GenerationJobFactory(brand=brand, state="running", started_at=now - timedelta(hours=1))
    stranded = GenerationJobFactory(brand=brand, shard=dead, created_at=old, enqueued_at=old)
    busy = GenerationJobFactory(brand=brand, shard=alive, created_at=old, enqueued_at=old)
    never_sent = GenerationJobFactory(brand=brand, shard=alive, created_at=old, enqueued_at=None)
    fresh = GenerationJobFactory(brand=brand, shard=dead, created_at=now, enqueued_at=now)
    forgotten = GenerationJobFactory(brand=brand, created_at=now - timedelta(hours=1))

    assert services.generation_jobs_reap(now=now) == {"lost": 1, "unserved": 1, "requeued": 2}
    for job in (lost, stranded, busy, never_sent, fresh, forgotten):
        job.refresh_from_db()
    assert lost.state == "failed" and lost.error_code == "worker_lost"
    assert forgotten.state == "failed" and forgotten.error_code == "not_served"
    assert stranded.shard == alive and busy.state == "queued" and fresh.shard == dead
    assert sorted(sent) == sorted([(stranded.pk, f"generate{'.1' if alive else ''}"),
                                   (never_sent.pk, f"generate{'.1' if alive else ''}")])
