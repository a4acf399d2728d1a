import pytest

from prefcontent.experiments.models import Experiment
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.models import GenerationJob
from tests.browser.conftest import in_thread, log_in
from tests.factories import PASSWORD, BrandFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_generate_candidates_and_save_them_into_a_new_experiment(page, shot, settings, tiny_model_dir, no_broker):
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    membership = MembershipFactory(role="marketer")
    brand = BrandFactory(organization=membership.organization)
    log_in(page, membership.user.username, PASSWORD)

    page.goto("/dashboard/generate/")
    page.fill("#id_title", "Trail shoes")
    page.fill("#id_product", "waterproof trail shoes")
    page.fill("#id_audience", "weekend hikers")
    page.fill("#id_n", "3")
    page.fill("#id_seed", "7")
    shot(page, "generate_brief")
    page.click("#brief button[type=submit]")
    page.wait_for_selector("#job-state")
    job = GenerationJob.objects.get(brand=brand)
    assert ("generation.run_job", [job.pk]) in no_broker

    worker = in_thread(generation_job_execute, job_id=job.pk, worker="browser-test")
    worker.join(timeout=120)
    # Candidates are stored before the job's final state, so a poll may show them while it still
    # says running: wait for the state the page polls in, then read the candidates.
    page.wait_for_function("document.querySelector('#job-state')?.textContent.trim() === 'succeeded'",
                           timeout=120_000)
    page.wait_for_selector("#candidates")
    stored = list(job.candidates.filter(variant__isnull=False).values_list("variant_id", flat=True))
    assert len(stored) >= 2
    shot(page, "generate_candidates")

    page.fill("#new-experiment #id_name", "Generated trail headlines")
    page.click("#new-experiment button[type=submit]")
    page.wait_for_selector("#experiment-status")
    experiment = Experiment.objects.get(brand=brand)
    assert sorted(experiment.arms.values_list("variant_id", flat=True)) == sorted(stored)
    shot(page, "experiment_from_generated")
