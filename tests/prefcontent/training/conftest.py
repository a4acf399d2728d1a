import pytest

# Small and fast, yet enough for the tiny model to learn the snapshot's one preference.
FAST_HP = {"max_steps": 6, "batch_size": 8, "lr": 5e-3, "lora_rank": 8, "lora_alpha": 16, "checkpoint_every": 2}


@pytest.fixture
def training_env(settings, tiny_model_dir):
    """In-process training on the tiny model, with short heartbeats and a small gate sample."""
    import torch

    torch.set_num_threads(1)
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
    settings.TRAINING_HEARTBEAT_SECONDS = 0.1
    settings.TRAINING_LEASE_SECONDS = 30
    settings.ADAPTER_GATE_SAMPLING = {"max_new_tokens": 16, "max_prompts": 8}
    return settings


def record_runs_sent(monkeypatch) -> list[int]:
    """Patch the broker away; the returned list collects the run ids sent to the training task."""
    from prefcontent.celery import app
    from prefcontent.training.services import RUN_EXECUTE_TASK

    sent: list[int] = []

    def send_task(name, args=(), **options):
        assert name == RUN_EXECUTE_TASK, name
        sent.append(args[0])

    monkeypatch.setattr(app, "send_task", send_task)
    return sent


@pytest.fixture
def no_broker(monkeypatch):
    return record_runs_sent(monkeypatch)
