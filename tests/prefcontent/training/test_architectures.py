"""The product path on tiny models of six architecture families: a training run, the gate, generation, scoring.

Each family's tokenizer as its real models ship it (GPT-2: Conv1D, BOS = EOS, no pad; Qwen2: no
BOS, ChatML; Gemma: no system role, <end_of_turn>; Phi-3: <|end|>). The gate's quality lines are
lowered to zero: these random models cannot write copy, and what is checked here is that every
step runs on every architecture, not the adapters' quality.
"""
from __future__ import annotations

import hashlib

import pytest

from ml.tiny import build_tiny_model
from prefcontent.adapters.selectors import adapter_active_for
from prefcontent.generation import services
from prefcontent.generation.execution import generation_job_execute
from prefcontent.preferences.models import DatasetSnapshot, SnapshotPair
from prefcontent.preferences.prompting import prompt_version, render_prompt
from prefcontent.tenancy.principal import SYSTEM
from prefcontent.training.models import TrainingRun
from prefcontent.training.runner import training_run_execute
from tests.prefcontent.generation.factories import BriefFactory
from tests.prefcontent.training.conftest import FAST_HP

pytestmark = pytest.mark.django_db(transaction=True)
FAMILIES = ["gpt2", "qwen2", "gemma", "phi3", "gpt_neox", "mistral"]
OPEN_GATE = {"min_reward_accuracy": 0.0, "significance_alpha": 1.0, "compliance_tolerance": 1.0,
             "min_diversity_ratio": 0.0, "min_length_ratio": 0.0, "max_length_ratio": 1e9,
             "max_chosen_logp_drop": 1e9, "min_changed_fraction": 0.0}


@pytest.fixture(scope="module", params=FAMILIES)
def family_base(request, tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp(request.param) / "base", family=request.param)


def _snapshot(brand, brief) -> DatasetSnapshot:
    prompt = render_prompt(brand=brand, brief=brief, channel="headline")
    snapshot = DatasetSnapshot.objects.create(
        brand=brand, name="arch", content_hash=hashlib.sha256(prompt.encode()).hexdigest(),
        split_rule={"method": "pair_hash", "holdout_fraction": 0.33}, counts={"pairs": 24, "train": 16, "holdout": 8},
        prompt_versions=[prompt_version()])
    SnapshotPair.objects.bulk_create(
        SnapshotPair(snapshot=snapshot, experiment_id=0, pair_hash=f"{i:064x}", prompt=prompt,
                     chosen="Save 20% on running shoes today", rejected="Buy now buy now cheap", weight=1.0,
                     split="holdout" if i < 8 else "train")
        for i in range(24))
    return snapshot


def test_train_gate_generate_and_score(owner_client, brand, training_env, no_broker, family_base):
    training_env.PREFCONTENT_BASE_MODEL = str(family_base)
    training_env.ADAPTER_GATE = OPEN_GATE
    brief = BriefFactory(brand=brand)
    response = owner_client.post("/api/v1/training-runs/", {
        "brand": brand.pk, "snapshot": _snapshot(brand, brief).pk, "hyperparameters": FAST_HP}, format="json")
    assert response.status_code == 201, response.content
    assert training_run_execute(run_id=response.json()["id"]) == TrainingRun.State.SUCCEEDED
    adapter = adapter_active_for(brand)
    assert adapter is not None and adapter.eval_report["passed"]

    job = services.generation_job_create(principal=SYSTEM, brand=brand, brief=brief, channel="headline",
                                         params=services.sampling_params(n=3, seed=1, max_new_tokens=12),
                                         enqueue=False)
    job = generation_job_execute(job_id=job.pk, worker="test-worker")
    assert job.state == "succeeded", job.error_message
    assert job.adapter_version_id == adapter.pk and job.prompt_version == prompt_version()
    for candidate in job.candidates.all():
        assert "\n" not in candidate.text and len(candidate.text) <= 90  # the headline's shape

    score = services.generation_score_create(principal=SYSTEM, brand=brand, brief=brief, channel="headline",
                                             texts=["Save 20% on running shoes today", "Buy now buy now cheap"])
    score = generation_job_execute(job_id=score.pk, worker="test-worker")
    assert score.state == "succeeded", score.error_message
    scores = [row["score"] for row in score.result["scores"]]
    assert scores[0] > scores[1]  # the snapshot's one preference, learned on every architecture
