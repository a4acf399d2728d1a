"""Factories for generation tests: published adapters in the test's models store, briefs, jobs."""
from __future__ import annotations

import factory
from django.conf import settings

from models_store import get_store
from prefcontent.adapters.models import AdapterVersion
from prefcontent.content.models import Brief
from prefcontent.generation.models import GenerationJob


class BriefFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brief

    title = factory.Sequence(lambda n: f"Brief {n}")
    product = "running shoes"
    audience = "weekend runners"
    tone = "playful"


class GenerationJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GenerationJob

    channel = "headline"
    prompt = "Brand: x\nWrite:"
    prompt_version = "brief-v1"
    params = factory.LazyFunction(lambda: {"n": 1})
    uses_base_model = True


def publish_adapter(brand, adapter_dir, *, version: int = 1, status: str = "active", base_model_id: str = "",
                    run=None) -> AdapterVersion:
    """Put `adapter_dir` in the models store and register it as the brand's adapter version."""
    ref = get_store(settings.MODELS_STORE_URL).put_dir(adapter_dir, f"adapters/brand-{brand.pk}/v{version}")
    return AdapterVersion.objects.create(
        brand=brand, version=version, status=status, artifact_key=ref.key, sha256=ref.sha256,
        size_bytes=ref.size_bytes, base_model_id=base_model_id or settings.PREFCONTENT_BASE_MODEL, run=run,
    )


def corrupt_adapter(adapter: AdapterVersion) -> None:
    """Change a byte of the stored weights, as disk damage or tampering would."""
    weights = get_store(settings.MODELS_STORE_URL).get_dir(adapter.artifact_key, adapter.sha256) / "adapter_model.safetensors"
    weights.parent.chmod(0o755)
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.chmod(0o644)
    weights.write_bytes(bytes(data))
