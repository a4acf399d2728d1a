import pytest

from prefcontent.generation import facade


def test_engine_config_follows_the_settings(settings, monkeypatch):
    import torch

    monkeypatch.setattr(facade, "_ENGINE_CONFIGS", {})
    settings.GENERATE_DEVICE = "auto"
    settings.GENERATE_MAX_N = 20
    config = facade._engine_config("/models/base")
    assert config.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert config.caps.max_n == 20 and config.caps.max_new_tokens >= 64
    assert config.dtype == ("bfloat16" if torch.cuda.is_available() else "float32")
    settings.GENERATE_MAX_N = 2
    assert facade._engine_config("/models/base") is config  # fixed for the process, like the engine


def test_the_adapter_cache_bounds_and_dtype_are_settings(settings, monkeypatch):
    monkeypatch.setattr(facade, "_ENGINE_CONFIGS", {})
    settings.GENERATE_DEVICE = "cpu"
    settings.GENERATE_ADAPTER_CACHE_SIZE = 3
    settings.GENERATE_ADAPTER_CACHE_BYTES = 12345
    config = facade._engine_config("/models/base")
    assert (config.max_adapters, config.max_adapter_bytes, config.dtype) == (3, 12345, "float32")
    assert facade._dtype("auto", "cuda:1") == "bfloat16" and facade._dtype("float16", "cuda") == "float16"


def test_engine_refusals_become_input_errors():
    with pytest.raises(facade.EngineInputError, match="positions|tokens"):
        facade.generate(prompt="x" * 600, adapter=None, n=1, temperature=1.0, top_p=1.0, max_new_tokens=8,
                        seed=1, timeout=30)


def test_generation_is_reproducible_and_reports_the_model(tiny_model_dir):
    kwargs = {"prompt": "Brand: a\nWrite:", "adapter": None, "n": 2, "temperature": 1.0, "top_p": 1.0,
              "max_new_tokens": 6, "seed": 3, "timeout": 30}
    first, second = facade.generate(**kwargs), facade.generate(**kwargs)
    assert [c.text for c in first.completions] == [c.text for c in second.completions]
    assert first.seed == 3 and first.model_id == str(tiny_model_dir.resolve()) and first.engine == "inprocess"
    assert [c.index for c in first.completions] == [0, 1]


_LONG = {"prompt": "Brand: a\nWrite:", "adapter": None, "n": 8, "temperature": 1.0, "top_p": 1.0,
         "max_new_tokens": 64, "seed": 3}


def test_a_request_past_its_time_is_dropped_from_the_engine(tiny_model_dir):
    facade.generate(**{**_LONG, "n": 1, "max_new_tokens": 2}, timeout=30)  # the engine is loaded
    with pytest.raises(facade.EngineTimeout):
        facade.generate(**_LONG, timeout=0.001)
    again = facade.generate(**{**_LONG, "n": 1, "max_new_tokens": 2}, timeout=30)
    assert again.completions  # the engine serves on


def test_a_request_no_longer_wanted_is_abandoned_between_slices(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(facade, "WAIT_SLICE_S", 0.0)
    asked = []

    def still_wanted() -> bool:
        asked.append(1)
        return len(asked) < 2

    with pytest.raises(facade.RequestAbandoned):
        facade.generate(**_LONG, timeout=60, still_wanted=still_wanted)
    assert len(asked) == 2


def test_decode_steps_feed_the_batch_size_histogram(tiny_model_dir):
    from prefcontent.core import metrics

    def observed() -> float:
        return next(s.value for m in metrics.DECODE_BATCH_ROWS.collect() for s in m.samples
                    if s.name.endswith("_count"))

    before = observed()
    facade.generate(**{**_LONG, "max_new_tokens": 4}, timeout=30)
    assert observed() > before
