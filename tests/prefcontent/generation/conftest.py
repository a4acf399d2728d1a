import pytest


@pytest.fixture(scope="session")
def tiny_adapter_dir(tiny_model_dir, tmp_path_factory):
    """A random (untrained) peft LoRA adapter over the tiny model, built once per session."""
    from ml.serving.random_adapters import make_random_adapter

    return make_random_adapter(tiny_model_dir, tmp_path_factory.mktemp("tiny_adapter") / "adapter", seed=7, rank=8)


@pytest.fixture
def eager_tasks():
    """Celery tasks run inline in the test process (unit tests; the real-worker test does not use it)."""
    from prefcontent.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _tiny_base_model(settings, tiny_model_dir):
    settings.PREFCONTENT_BASE_MODEL = str(tiny_model_dir)
