import logging

import pytest

from prefcontent.brands.compliance_models import ComplianceRule
from prefcontent.content.models import Variant
from prefcontent.core.principal import SYSTEM
from prefcontent.generation import services
from prefcontent.generation.execution import generation_job_execute
from prefcontent.generation.models import GenerationShard
from prefcontent.generation.ranking import select_best_diverse
from prefcontent.generation.selectors import variant_lineage
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
    assert set(job.candidates.values_list("status", flat=True)) <= {"blocked", "empty"}
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

    def recording(texts, scores, n, *, diversity):  # the real selection, with its arguments recorded
        calls.append((list(texts), list(scores), n, diversity))
        return select_best_diverse(texts, scores, n, diversity=diversity)

    monkeypatch.setattr(execution, "select_best_diverse", recording)
    publish_adapter(brand, tiny_adapter_dir)
    job = _run(brand, n=3, best_of=8, seed=1, temperature=1.0, max_new_tokens=10)
    assert job.state == "succeeded", job.error_message
    (texts, scores, n, diversity), = calls
    assert (n, diversity) == (3, 50.0) and job.result["best_of_diversity"] == 50.0
    scored = sorted(job.candidates.exclude(score=None), key=lambda c: c.index)
    assert texts == [c.text for c in scored] and scores == [c.score for c in scored]
    stored = sorted((c for c in scored if c.variant_id), key=lambda c: c.rank)
    assert [c.index for c in stored] == [scored[i].index for i in select_best_diverse(texts, scores, 3, diversity=50.0)]


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
