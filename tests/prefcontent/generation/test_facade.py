import pytest

from prefcontent.generation import facade


def test_engine_config_follows_the_settings(settings, monkeypatch):
    import torch

    monkeypatch.setattr(facade, "_ENGINE_CONFIGS", {})
    settings.GENERATE_DEVICE = "auto"
    settings.GENERATE_MAX_N = 20
    config = facade._engine_config("/models/base")
    assert config.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert config.caps.max_n == 20 and config.caps.max_new_tokens >= 64 and config.dtype == "float32"
    settings.GENERATE_MAX_N = 2
    assert facade._engine_config("/models/base") is config  # fixed for the process, like the engine


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
