"""The closed loop's plumbing, end to end on a tiny model: generate, test, decide, pair, train, gate, measure."""
import json

import pytest
from django.core.management import call_command

from tests.worker import CeleryWorker


@pytest.mark.slow
def test_simulate_smoke_runs_every_stage(transactional_db, settings, tiny_model_dir, tmp_path):
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    worker = CeleryWorker(extra_env={"PREFCONTENT_BASE_MODEL": str(tiny_model_dir),
                                     "MODELS_STORE_URL": settings.MODELS_STORE_URL,
                                     "PREFCONTENT_WORK_DIR": str(settings.WORK_DIR)})
    worker.start()
    try:
        report_path = tmp_path / "sim" / "report.json"
        call_command("simulate", "--smoke", "--external-workers", "--base", str(tiny_model_dir),
                     "--report", str(report_path))
    finally:
        worker.stop()
    report = json.loads(report_path.read_text())
    (brand,) = report["brands"].values()
    assert [r["round"] for r in brand["rounds"]] == [0, 1]
    first, second = brand["rounds"]
    assert first["generated"] > 0 and first["experiments"] >= 1
    assert 0 < first["served"] <= first["generated"]
    # With an active adapter a job samples best_of and serves the n it ranks best; without one it samples n.
    from prefcontent.generation.models import GenerationJob

    jobs = list(GenerationJob.objects.all())
    assert jobs and all(j.params.get("best_of") == (8 if j.adapter_version_id else None) for j in jobs)
    assert all(j.params["n"] == 4 for j in jobs)
    assert second["training"]["state"] in {"succeeded", "rejected", "skipped"}
    for key in ("true_ctr", "valid_rate", "ended_rate", "violation_rate", "distinct2"):
        assert 0 <= first[key] <= 1
    assert brand["ceiling_ctr"] > 0 and "headroom_captured" in brand
    assert report["base_model"] == str(tiny_model_dir.resolve())
    from prefcontent.generation.models import GeneratedCandidate

    assert {c.finish_reason for c in GeneratedCandidate.objects.all()} <= {"stop", "length"}
    assert (tmp_path / "sim" / "northpeak.png").stat().st_size > 0
