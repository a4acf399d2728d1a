import pytest

from prefcontent.accounts.models import AuditLog
from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.models import GenerationJob
from tests.factories import BrandFactory

pytestmark = pytest.mark.django_db
BRIEF = {"title": "Trail shoes", "product": "waterproof trail shoes", "audience": "weekend hikers",
         "tone": "warm", "constraints": "", "channel": "headline", "n": 3, "temperature": 0.9, "seed": 11}


@pytest.fixture(autouse=True)
def _tiny_base_model(settings, tiny_model_dir):
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)


def _generate(client, brand, **extra):
    response = client.post("/dashboard/generate/", {"brand": brand.pk, **BRIEF, **extra})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = GenerationJob.objects.get(brand=brand)
    assert response["Location"] == f"/dashboard/generate/{job.pk}/"
    return job


@pytest.mark.parametrize("role,can_generate", [("owner", True), ("marketer", True), ("ops", False), ("viewer", False)])
def test_playground_renders_for_every_role_with_the_brief_form_for_generators(brand, member, role, can_generate):
    _, client = member(brand.organization, role)
    html = client.get("/dashboard/generate/").content.decode()
    assert "the base model (this brand has no active adapter)" in html
    assert ('id="brief"' in html) is can_generate
    if not can_generate:
        assert client.post("/dashboard/generate/", {"brand": brand.pk, **BRIEF}).status_code == 403
        assert not GenerationJob.objects.exists()


def test_brief_in_candidates_out_with_compliance_flags_then_into_an_experiment(brand, member):
    brand.settings = {"compliance_mode": "flag"}
    brand.save()
    ComplianceRule.objects.create(brand=brand, kind="max_length", limit=1)  # every real candidate breaks it
    _, client = member(brand.organization, "marketer")
    job = _generate(client, brand)
    assert AuditLog.objects.filter(action="generation.generate", target_id=str(job.pk)).exists()
    pending = client.get(f"/dashboard/generate/{job.pk}/candidates/")
    assert "X-Poll-Done" not in pending and "Generating" in pending.content.decode()

    generation_job_execute(job_id=job.pk, worker="test")  # what the generate worker does
    done = client.get(f"/dashboard/generate/{job.pk}/candidates/")
    assert done["X-Poll-Done"] == "1"
    html = done.content.decode()
    stored = list(job.candidates.filter(variant__isnull=False))
    assert len(stored) >= 2
    for candidate in stored:
        assert f"saved as variant #{candidate.variant_id}" in html
    assert 'class="badge bad" title=' in html and "max_length" in html  # flagged inline
    assert "base model" in html

    page = client.get(f"/dashboard/generate/{job.pk}/").content.decode()
    assert "Test these candidates in a new experiment" in page
    body = {"brand": brand.pk, "name": "Generated test", "variants": [c.variant_id for c in stored],
            "control": stored[0].variant_id, "allocation": "fixed", "primary_metric": "click",
            "min_sample_per_arm": 100}
    created = client.post("/dashboard/experiments/new/", body)
    assert created.status_code == 302
    experiment = job.brand.experiments.get()
    assert sorted(experiment.arms.values_list("variant_id", flat=True)) == sorted(c.variant_id for c in stored)


def test_brief_errors_inline_and_other_tenants_jobs_404(brand, member):
    _, client = member(brand.organization, "owner")
    empty = client.post("/dashboard/generate/", {"brand": brand.pk, **BRIEF, "product": "", "audience": "", "tone": ""})
    assert empty.status_code == 400
    assert "The brief is empty" in empty.content.decode()
    too_many = client.post("/dashboard/generate/", {"brand": brand.pk, **BRIEF, "n": 50})
    assert too_many.status_code == 400 and 'class="error" role="alert"' in too_many.content.decode()
    assert not GenerationJob.objects.exists()
    other = BrandFactory()
    _, other_client = member(other.organization, "owner")
    theirs = _generate(other_client, other)
    assert client.get(f"/dashboard/generate/{theirs.pk}/").status_code == 404
    assert client.get(f"/dashboard/generate/{theirs.pk}/candidates/").status_code == 404


def test_adapter_and_base_candidates_side_by_side(brand, member, tiny_model_dir, tmp_path):
    from ml.serving.random_adapters import make_random_adapter
    from tests.prefcontent.generation.factories import publish_adapter

    adapter = publish_adapter(brand, make_random_adapter(tiny_model_dir, tmp_path / "adapter", seed=3))
    _, client = member(brand.organization, "marketer")
    response = client.post("/dashboard/generate/", {"brand": brand.pk, **BRIEF, "compare_with_base": "on"})
    assert response.status_code == 302
    tuned, base = GenerationJob.objects.filter(brand=brand).order_by("pk")
    assert tuned.adapter_version_id == adapter.pk and base.adapter_version_id is None and base.uses_base_model
    assert tuned.brief_id == base.brief_id and tuned.params["seed"] == base.params["seed"]
    assert response["Location"] == f"/dashboard/generate/{tuned.pk}/?compare={base.pk}"
    for job in (tuned, base):
        generation_job_execute(job_id=job.pk, worker="test")
    page = client.get(response["Location"]).content.decode()
    assert 'id="compare"' in page and "Active adapter" in page and "Base model" in page
    assert f"adapter v{adapter.version}" in page and "Model: base model" in page
    other = GenerationJob.objects.create(brand=BrandFactory(), channel="headline", prompt="x", prompt_version="v")
    assert client.get(f"/dashboard/generate/{tuned.pk}/?compare={other.pk}").status_code == 404


def test_ranked_candidates_show_their_test_evidence_and_how_they_were_ranked(brand, member, tiny_model_dir, tmp_path):
    from ml.serving.random_adapters import make_random_adapter
    from tests.prefcontent.generation.factories import publish_adapter

    publish_adapter(brand, make_random_adapter(tiny_model_dir, tmp_path / "adapter", seed=3))
    _, client = member(brand.organization, "marketer")
    response = client.post("/dashboard/generate/", {"brand": brand.pk, **BRIEF, "rank_by_preference": "on"})
    assert response.status_code == 302
    job = GenerationJob.objects.get(brand=brand)
    assert job.params["best_of"] == 6
    generation_job_execute(job_id=job.pk, worker="test")
    page = client.get(response["Location"]).content.decode()
    assert "Test evidence (CTR)" in page and 'id="ranking"' in page
    assert "plus 1.0 × the evidence of 0 tested variants" in page
    assert page.count("0.0000") == job.candidates.exclude(variant=None).count()  # nothing tested: the mean, 0


def test_flagged_claims_show_with_their_reasons(brand, member):
    from prefcontent.generation.models import GeneratedCandidate

    _, client = member(brand.organization, "marketer")
    job = GenerationJob.objects.create(brand=brand, channel="headline", prompt="p", prompt_version="v",
                                       params={"n": 1}, uses_base_model=True, state="succeeded")
    GeneratedCandidate.objects.create(job=job, index=0, text="Free shipping on trail shoes", status="blocked",
                                      violations=[{"rule": "claim", "kind": "shipping", "verdict": "contradicted",
                                                   "match": "Free shipping",
                                                   "reason": "claims free shipping; the offer has none",
                                                   "message": "contradicted shipping claim"}])
    html = client.get(f"/dashboard/generate/{job.pk}/candidates/").content.decode()
    assert 'data-claim="shipping"' in html and "contradicted shipping" in html
    assert "claims free shipping; the offer has none" in html and "Free shipping" in html
