"""The gate's sampling on a real tiny model: each prompt at the temperature it is served at."""
from __future__ import annotations

from prefcontent.training import facade


def test_each_prompt_is_sampled_at_its_own_temperature(tiny_model_dir, tmp_path):
    import torch

    from ml.serving.random_adapters import make_random_adapter

    torch.set_num_threads(1)
    adapter_dir = make_random_adapter(tiny_model_dir, tmp_path / "adapter", seed=3, rank=8)
    candidate = facade.GateAdapter("candidate", adapter_dir, facade.adapter_checksum(adapter_dir))
    gens = facade.generate_for_gate(
        base_model_path=str(tiny_model_dir), prompts=["Brand: A\nWrite:", "Brand: A\nWrite:"], candidate=candidate,
        baseline=None, samples_per_prompt=6, max_new_tokens=8, temperature=1.5, seed=5,
        sampling=[(0.0, 1.0), None])  # greedy for the first, the gate's own temperature for the second
    greedy, hot = gens.base[:6], gens.base[6:]
    assert len(set(greedy)) == 1  # greedy: every sample the same
    assert len(set(hot)) > 1
    assert gens.prompts == ["Brand: A\nWrite:"] * 12
