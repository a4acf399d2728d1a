import pytest

from prefcontent.generation import tasks
from prefcontent.generation.models import GenerationJob, GenerationShard
from tests.prefcontent.generation.factories import GenerationJobFactory

pytestmark = pytest.mark.django_db


def test_ping_shards_reaches_every_shard_queue(settings, sent_tasks):
    settings.GENERATE_SHARDS = 3
    assert tasks.ping_shards() == 3
    assert [(args[0], options["queue"], options["expires"]) for _, args, options in sent_tasks] == [
        (0, "generate", 90.0), (1, "generate.1", 90.0), (2, "generate.2", 90.0)]


def test_a_heartbeat_marks_its_shard_live(eager_tasks):
    tasks.shard_heartbeat.delay(2)
    assert GenerationShard.objects.get(shard=2).last_seen_at is not None


def test_run_job_task_runs_the_job(brand, eager_tasks):
    job = GenerationJobFactory(brand=brand, prompt="Brand: x\nWrite:", params={
        "n": 1, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4, "seed": 1, "best_of": None})
    assert tasks.run_job.delay(job.pk).get() == "succeeded"
    assert tasks.run_job.delay(job.pk).get() is None  # a second delivery finds it taken
    assert GenerationJob.objects.get(pk=job.pk).candidates.count() == 1
