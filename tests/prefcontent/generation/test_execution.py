import logging

import pytest

from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.content.models import Variant
from prefcontent.generation import services
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.models import GenerationShard
from prefcontent.generation.ranking import preference_scores, select_best_diverse
from prefcontent.generation.selectors import variant_lineage
from prefcontent.tenancy.principal import SYSTEM
from tests.factories import BrandFactory
from tests.prefcontent.experiments.factories import make_experiment
from tests.prefcontent.generation.factories import (
    BriefFactory,
    corrupt_adapter,
    publish_adapter,
)

pytestmark = pytest.mark.django_db


def _run(brand, **params):
    job = services.generation_job_create(principal=SYSTEM, brand=brand, brief=BriefFactory(brand=brand), channel=None,
                                         params=services.sampling_params(**params), enqueue=False)
    return generation_job_execute(job_id=job.pk, worker="test-worker")


def test_base_model_generation_stores_variants_with_provenance(brand, tiny_model_dir):
    job = _run(brand, n=3, seed=11, temperature=1.0, max_new_tokens=12)
    assert job.state == "succeeded", job.error_message
    assert job.uses_base_model and job.seed == 11 and job.engine == "inprocess"
    stored = list(job.candidates.exclude(variant=None).order_by("rank"))
    assert stored and [c.rank for c in stored] == list(range(1, len(stored) + 1))
    variant = stored[0].variant
    assert variant.source == "generated" and variant.brief == job.brief and variant.adapter_version_id is None
    prov = variant.provenance
    assert prov["adapter_version_id"] == "base" and prov["adapter"] is None
    assert prov["model_id"] == str(tiny_model_dir.resolve()) and prov["engine"] == "inprocess"
    assert prov["seed"] == 11 and prov["sequence_index"] == stored[0].index
    assert prov["params"]["max_new_tokens"] == 12 and prov["generation_job_id"] == job.pk
    lineage = variant_lineage(variant)
    assert lineage["generated"] and lineage["generation_job_id"] == job.pk and lineage["base_model"] is True
    assert lineage["adapter_version_id"] is None and lineage["experiment_ids"] == []
    assert GenerationShard.objects.get(shard=0).worker == "test-worker"


def test_same_seed_same_output(brand):
    first = _run(brand, n=2, seed=3, temperature=1.0, max_new_tokens=10)
    second = _run(brand, n=2, seed=3, temperature=1.0, max_new_tokens=10)
    texts = lambda job: [c.text for c in job.candidates.order_by("index")]
    assert texts(first) == texts(second)


def test_adapter_generation_names_the_adapter(brand, tiny_adapter_dir):
    adapter = publish_adapter(brand, tiny_adapter_dir)
    job = _run(brand, n=2, seed=1, max_new_tokens=8)
    assert job.state == "succeeded", job.error_message
    variant = job.candidates.exclude(variant=None).first().variant
    assert variant.adapter_version_id == adapter.pk
    assert variant.provenance["adapter"]["sha256"] == adapter.sha256
    assert variant.provenance["adapter_version_id"] == adapter.pk
    assert variant_lineage(variant)["adapter_version_id"] == adapter.pk


def test_greedy_duplicates_are_removed(brand):
    job = _run(brand, n=4, temperature=0.0, max_new_tokens=8)
    candidates = list(job.candidates.order_by("index"))
    assert [c.status for c in candidates] == ["kept", "duplicate", "duplicate", "duplicate"]
    assert all(c.duplicate_of == 0 and c.variant_id is None for c in candidates[1:])
    assert job.result["stored"] == 1 and job.result["counts"]["duplicate"] == 3


def test_block_mode_stores_no_violating_output(brand):
    ComplianceRule.objects.create(brand=brand, kind="regex", pattern=r"[\s\S]")  # every non-empty text breaks it
    job = _run(brand, n=3, seed=2, temperature=1.0, max_new_tokens=8)
    assert job.state == "succeeded"
    # A random tiny model may also write text that is not copy at all (malformed): never stored either.
    assert set(job.candidates.values_list("status", flat=True)) <= {"blocked", "empty", "malformed"}
    assert not Variant.objects.filter(brand=brand).exists()
    blocked = list(job.candidates.filter(status="blocked"))
    assert blocked and all(b.violations[0]["rule"] == "regex" and b.variant_id is None for b in blocked)


def test_flag_mode_stores_violations_with_their_marks(brand):
    brand.settings = {"compliance_mode": "flag"}
    brand.save()
    ComplianceRule.objects.create(brand=brand, kind="regex", pattern=r"[\s\S]")
    job = _run(brand, n=3, seed=2, temperature=1.0, max_new_tokens=8)
    flagged = list(job.candidates.filter(status="flagged"))
    assert flagged, list(job.candidates.values_list("status", "text"))
    assert all(c.variant.provenance["compliance"]["violations"][0]["rule"] == "regex" for c in flagged)


def test_a_corrupt_adapter_fails_clearly_and_never_falls_back(brand, tiny_adapter_dir, caplog):
    adapter = publish_adapter(brand, tiny_adapter_dir)
    corrupt_adapter(adapter)
    with caplog.at_level(logging.ERROR, logger="prefcontent.generation.execution"):
        job = _run(brand, n=2)
    assert job.state == "failed" and job.error_code == "adapter_artifact_invalid"
    assert f"v{adapter.version}" in job.error_message
    assert not Variant.objects.filter(brand=brand).exists() and not job.candidates.exists()
    assert any(r.levelno == logging.ERROR and str(job.pk) in r.getMessage() for r in caplog.records)


def test_best_of_without_diversity_keeps_the_best_scored(brand, tiny_adapter_dir, settings):
    settings.GENERATE_BEST_OF_DIVERSITY = 0.0
    publish_adapter(brand, tiny_adapter_dir)
    job = _run(brand, n=2, best_of=5, seed=4, temperature=1.2, max_new_tokens=10)
    assert job.state == "succeeded", job.error_message
    scored = list(job.candidates.exclude(score=None))
    stored = sorted((c for c in scored if c.variant_id), key=lambda c: c.rank)
    assert len(stored) == min(2, len(scored))
    assert [c.score for c in stored] == sorted((c.score for c in stored), reverse=True)
    assert all(c.status == "not_selected" for c in scored if not c.variant_id)
    assert min(c.score for c in stored) >= max((c.score for c in scored if not c.variant_id), default=-1e9)
    assert stored[0].variant.provenance["score"] == stored[0].score


def test_best_of_serves_the_diverse_selection_of_the_scored(brand, tiny_adapter_dir, settings, monkeypatch):
    from prefcontent.generation import execution

    settings.GENERATE_BEST_OF_DIVERSITY = 50.0
    calls = []

    def recording(texts, scores, n, *, diversity, seen):  # the real selection, with its arguments recorded
        calls.append((list(texts), list(scores), n, diversity, list(seen)))
        return select_best_diverse(texts, scores, n, diversity=diversity, seen=seen)

    monkeypatch.setattr(execution, "select_best_diverse", recording)
    publish_adapter(brand, tiny_adapter_dir)
    earlier = Variant.objects.create(brand=brand, text="An earlier generated line", source="generated",
                                     content_hash="x" * 64)
    job = _run(brand, n=3, best_of=8, seed=1, temperature=1.0, max_new_tokens=10)
    assert job.state == "succeeded", job.error_message
    (texts, scores, n, diversity, seen), = calls
    assert (n, diversity) == (3, 50.0) and seen == [earlier.text]
    assert job.result["ranking"] == {"diversity": 50.0, "evidence_weight": 1.0, "tested_variants": 0,
                                     "mean_rate": 0.0, "novelty_window": 1}
    scored = sorted(job.candidates.exclude(score=None), key=lambda c: c.index)
    assert texts == [c.text for c in scored]
    # Nothing tested yet: the ranking is the adapter's reward alone (standardised).
    assert scores == pytest.approx(preference_scores([c.score for c in scored], [0.0] * len(scored),
                                                     evidence_weight=1.0))
    stored = sorted((c for c in scored if c.variant_id), key=lambda c: c.rank)
    picked = select_best_diverse(texts, scores, 3, diversity=50.0, seen=seen)
    assert [c.index for c in stored] == [scored[i].index for i in picked]


def _tested(brand, *outcomes):
    """A concluded click test of `brand` over variants with these (text, impressions, clicks)."""
    experiment = make_experiment(brand, arms=len(outcomes), status="concluded")
    for arm, (text, impressions, clicks) in zip(experiment.arms.order_by("id"), outcomes, strict=True):
        Variant.objects.filter(pk=arm.variant_id).update(text=text)
        arm.impressions, arm.clicks = impressions, clicks
        arm.save()


def _best_of(brand):
    return _run(brand, n=1, best_of=6, seed=1, temperature=1.0, max_new_tokens=10)


def test_best_of_ranks_copy_like_the_brands_tested_winners_higher(brand, tiny_adapter_dir, settings):
    settings.GENERATE_BEST_OF_DIVERSITY = 0.0
    settings.GENERATE_BEST_OF_NOVELTY_WINDOW = 0
    publish_adapter(brand, tiny_adapter_dir)
    first = _best_of(brand)
    scored = sorted(first.candidates.exclude(score=None), key=lambda c: c.score)
    assert len(scored) >= 2, [c.text for c in first.candidates.all()]
    weakest, strongest = scored[0], scored[-1]
    assert strongest.rank == 1 and first.result["ranking"]["tested_variants"] == 0
    # The brand's tests say the adapter's least favourite line draws four times the clicks of its favourite.
    _tested(brand, (weakest.text, 5000, 400), (strongest.text, 5000, 100))
    settings.GENERATE_BEST_OF_EVIDENCE_WEIGHT = 10.0
    second = _best_of(brand)
    served = second.candidates.get(rank=1)
    assert served.text == weakest.text and served.score == pytest.approx(weakest.score)
    assert second.result["ranking"]["mean_rate"] == 0.05  # 500 clicks in 10,000 impressions
    assert served.variant.provenance["evidence_rate"] > 0.05
    assert second.result["ranking"]["tested_variants"] == 2
    # With the weight at 0 the evidence is recorded but does not rank.
    settings.GENERATE_BEST_OF_EVIDENCE_WEIGHT = 0.0
    assert _best_of(brand).candidates.get(rank=1).text == strongest.text


def test_best_of_takes_no_evidence_from_copy_the_rules_forbid(brand, tiny_adapter_dir, settings):
    settings.GENERATE_BEST_OF_DIVERSITY = 0.0
    settings.GENERATE_BEST_OF_NOVELTY_WINDOW = 0
    settings.GENERATE_BEST_OF_EVIDENCE_WEIGHT = 10.0
    publish_adapter(brand, tiny_adapter_dir)
    scored = sorted(_best_of(brand).candidates.exclude(score=None), key=lambda c: c.score)
    weakest, strongest = scored[0], scored[-1]
    # The line that drew the clicks broke a rule added since (a banned word): it is no evidence for anything.
    ComplianceRule.objects.create(brand=brand, kind="banned_phrase", pattern="hurry")
    _tested(brand, (f"{weakest.text} hurry", 5000, 400), ("Other copy", 5000, 150), ("More copy", 5000, 150))
    job = _best_of(brand)
    assert job.result["ranking"]["tested_variants"] == 2
    # What is left says every line does alike, so the adapter's favourite is served, as with no tests at all.
    served = job.candidates.get(rank=1)
    assert served.text == strongest.text and served.variant.provenance["evidence_rate"] == pytest.approx(0.03)


def test_score_ranks_candidates_by_implicit_reward(brand, tiny_adapter_dir):
    publish_adapter(brand, tiny_adapter_dir)
    texts = ["Fresh socks for cold feet", "Walk on clouds", "zzzz qqqq"]
    job = services.generation_score_create(principal=SYSTEM, brand=brand, brief=BriefFactory(brand=brand),
                                           channel=None, texts=texts)
    job = generation_job_execute(job_id=job.pk, worker="w")
    assert job.state == "succeeded", job.error_message
    scores = job.result["scores"]
    assert [s["rank"] for s in scores] == [1, 2, 3]
    assert sorted(s["index"] for s in scores) == [0, 1, 2]
    assert [s["score"] for s in scores] == sorted((s["score"] for s in scores), reverse=True)
    assert all(s["text"] == texts[s["index"]] for s in scores)
    assert any(abs(s["score"]) > 1e-6 for s in scores)  # a random adapter moves log-probs off the base


def test_a_duplicate_delivery_does_nothing(brand):
    job = _run(brand, n=1, max_new_tokens=4)
    assert generation_job_execute(job_id=job.pk, worker="other") is None


def test_a_missing_base_model_is_a_clear_failure(brand, settings, tmp_path):
    settings.PREFCONTENT_BASE_MODEL = str(tmp_path / "nowhere")
    job = _run(brand, n=1)
    assert job.state == "failed" and job.error_code == "base_model_unavailable"


def test_an_erased_brands_copy_leaves_the_similarity_cache(org):
    from prefcontent.generation.execution import erased_brands_evict
    from prefcontent.generation.selectors import recent_generated_matrix, similarity_cache_brand_ids

    kept, erased = BrandFactory(organization=org), BrandFactory(organization=org)
    for brand in (kept, erased):
        recent_generated_matrix(brand_id=brand.pk, limit=10)
    assert {kept.pk, erased.pk} <= similarity_cache_brand_ids()
    erased.delete()
    erased_brands_evict()
    assert kept.pk in similarity_cache_brand_ids() and erased.pk not in similarity_cache_brand_ids()


def test_a_loaded_adapter_is_not_rehashed_per_job_but_changed_files_are(brand, tiny_adapter_dir, monkeypatch):
    from prefcontent.generation import execution

    calls = []
    real = execution.adapter_local_path

    def recording(adapter):  # the real verification, with its calls counted
        calls.append(adapter.pk)
        return real(adapter)

    monkeypatch.setattr(execution, "adapter_local_path", recording)
    adapter = publish_adapter(brand, tiny_adapter_dir, version=7)
    assert _run(brand, n=1, max_new_tokens=4).state == "succeeded"
    assert _run(brand, n=1, max_new_tokens=4).state == "succeeded"
    assert calls == [adapter.pk]  # the second job found the weights loaded and the files unchanged
    corrupt_adapter(adapter)
    job = _run(brand, n=1, max_new_tokens=4)
    assert job.state == "failed" and job.error_code == "adapter_artifact_invalid" and len(calls) == 2
