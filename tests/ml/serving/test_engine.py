from __future__ import annotations

import json
import shutil
import threading
import time
from concurrent.futures import CancelledError

import pytest

from ml.serving import (
    AdapterChecksumError,
    AdapterLoadError,
    CapExceededError,
    EngineClosedError,
    EngineConfig,
    GenerateRequest,
    RequestCancelledError,
    SamplingCaps,
    dir_checksum,
    get_engine,
)
from tests.ml.serving.reference import greedy_decode

PROMPTS = ["Save 20% on", "New arrivals: summer dresses for", "Why pay more?", "Write a headline"]


def _request(adapters, brand: str | None, **fields) -> GenerateRequest:
    if brand is not None:
        fields.update(adapter_id=brand, adapter_path=str(adapters[brand]))
    return GenerateRequest(**{"prompt": PROMPTS[0], "max_new_tokens": 12, "seed": 0, **fields})


def _mixed_requests(adapters) -> list[GenerateRequest]:
    """Different brands (and the base), prompt lengths, budgets, n, greedy and sampled."""
    brands = [None, "brand-0", "brand-1", "brand-2", "brand-3"]
    return [
        _request(
            adapters,
            brands[i % len(brands)],
            prompt=PROMPTS[i % len(PROMPTS)],
            n=1 + i % 3,
            temperature=0.0 if i % 4 == 0 else 0.7 + 0.1 * (i % 3),
            top_p=1.0 if i % 2 else 0.9,
            max_new_tokens=6 + 3 * i,
            seed=1000 + i,
        )
        for i in range(10)
    ]


def _same(a, b) -> None:
    assert a.texts == b.texts
    assert a.token_counts == b.token_counts
    assert a.logprobs == pytest.approx(b.logprobs, abs=1e-3)
    assert a.seed == b.seed and a.adapter_id == b.adapter_id


@pytest.mark.parametrize("lora", ["segmented", "peft"])
def test_greedy_output_matches_a_plain_uncached_decode(make_engine, tiny_model, adapters, lora):
    engine = make_engine(lora=lora)
    for brand in (None, "brand-1"):
        result = engine.generate(_request(adapters, brand, temperature=0.0, max_new_tokens=15))
        text, count, logprob = greedy_decode(tiny_model, adapters[brand] if brand else None, PROMPTS[0], 15)
        assert result.texts == [text]
        assert result.token_counts == [count]
        assert result.logprobs[0] == pytest.approx(logprob, abs=1e-3)
        assert result.engine == "inprocess" and result.model_id == str(tiny_model)


def test_an_adapter_changes_the_output(make_engine, adapters):
    engine = make_engine()
    base = engine.generate(_request(adapters, None, temperature=0.0))
    brand = engine.generate(_request(adapters, "brand-0", temperature=0.0))
    other = engine.generate(_request(adapters, "brand-1", temperature=0.0))
    assert base.texts != brand.texts and brand.texts != other.texts
    assert brand.adapter_id == "brand-0" and base.adapter_id is None


@pytest.mark.parametrize(
    ("lora", "batching"), [("segmented", "mixed"), ("segmented", "grouped"), ("peft", "mixed"), ("peft", "grouped")]
)
def test_batched_with_other_brands_equals_served_alone(make_engine, adapters, lora, batching):
    engine = make_engine(lora=lora, batching=batching)
    requests = _mixed_requests(adapters)
    alone = [engine.generate(request) for request in requests]
    futures = [engine.submit(request) for request in requests]
    for expected, future in zip(alone, futures):
        _same(future.result(timeout=60), expected)
    assert engine.stats.max_active_rows > 3  # they really shared steps


def test_requests_joining_a_running_batch_do_not_change_it(make_engine, adapters):
    engine = make_engine()
    long = _request(adapters, "brand-0", max_new_tokens=60, temperature=0.9, seed=5)
    late = _mixed_requests(adapters)[:5]
    alone_long = engine.generate(long)
    alone_late = [engine.generate(r) for r in late]
    steps = engine.stats.decode_steps
    running = engine.submit(long)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and engine.stats.decode_steps < steps + 5:  # wait until the long request is mid-decode
        time.sleep(0.001)
    assert not running.done()
    late_futures = [engine.submit(r) for r in late]
    _same(running.result(timeout=60), alone_long)
    for expected, future in zip(alone_late, late_futures):
        _same(future.result(timeout=60), expected)


def test_seed_reproduces_and_sequences_of_one_request_differ(make_engine, adapters):
    engine = make_engine()
    request = _request(adapters, "brand-2", n=3, temperature=1.0, seed=42, max_new_tokens=10)
    first, second = engine.generate(request), engine.generate(request)
    _same(first, second)
    assert len(set(first.texts)) == 3
    unseeded = engine.generate(_request(adapters, "brand-2", temperature=1.0, max_new_tokens=10, seed=None))
    replay = engine.generate(_request(adapters, "brand-2", temperature=1.0, max_new_tokens=10, seed=unseeded.seed))
    _same(unseeded, replay)


def test_generation_stops_at_eos_which_is_scored_but_not_counted(make_engine, adapters):
    engine = make_engine()
    forward, calls = engine._forward, []

    def eos_on_fourth_call(adapter_names, **kwargs):
        output = forward(adapter_names, **kwargs)
        calls.append(len(adapter_names))
        if len(calls) == 4:  # prefill, two decode steps, then every row says EOS
            output.logits[:, -1, engine._codec.end_id] += 1000.0
        return output

    engine._forward = eos_on_fourth_call
    result = engine.generate(_request(adapters, "brand-0", n=2, temperature=0.9, max_new_tokens=20))
    assert result.token_counts == [3, 3]
    assert result.finish_reasons == ["stop", "stop"]  # the model ended them
    assert all(text for text in result.texts)
    normal = make_engine().generate(_request(adapters, "brand-0", n=2, temperature=0.9, max_new_tokens=3))
    assert result.texts == normal.texts  # the same three tokens, then EOS (not decoded)
    assert normal.finish_reasons == ["length", "length"]  # the budget cut them off
    assert result.logprobs == pytest.approx(normal.logprobs, abs=1e-3)  # log p(EOS) ~ 0 after the boost


@pytest.mark.parametrize("lora", ["segmented", "peft"])
def test_lru_evicts_least_recent_adapter_beyond_the_count(make_engine, adapters, lora):
    engine = make_engine(max_adapters=2, lora=lora)
    greedy = {b: _request(adapters, b, temperature=0.0) for b in ("brand-0", "brand-1", "brand-2")}
    first = {b: engine.generate(greedy[b]) for b in ("brand-0", "brand-1")}
    assert engine.loaded_adapters == ["brand-0", "brand-1"]
    engine.generate(greedy["brand-0"])  # brand-0 becomes most recent
    engine.generate(greedy["brand-2"])
    assert engine.loaded_adapters == ["brand-0", "brand-2"]
    assert engine.stats.adapter_evictions == 1 and engine.stats.adapter_loads == 3
    # The survivors still compute what they did before; the evicted one reloads correctly.
    _same(engine.generate(greedy["brand-0"]), first["brand-0"])
    _same(engine.generate(greedy["brand-1"]), first["brand-1"])
    assert engine.stats.adapter_loads == 4
    assert engine.loaded_adapters == ["brand-0", "brand-1"]


def test_lru_respects_the_byte_bound(make_engine, adapters):
    rank8 = (adapters["brand-0"] / "adapter_model.safetensors").stat().st_size
    rank16 = (adapters["brand-1"] / "adapter_model.safetensors").stat().st_size
    assert rank16 > rank8
    engine = make_engine(max_adapter_bytes=2 * rank8)
    engine.generate(_request(adapters, "brand-0"))
    engine.generate(_request(adapters, "brand-2"))
    assert engine.loaded_adapters == ["brand-0", "brand-2"]
    engine.generate(_request(adapters, "brand-1"))  # needs both rank-8 adapters gone
    assert engine.loaded_adapters == ["brand-1"]
    small = make_engine(max_adapter_bytes=rank8)
    with pytest.raises(AdapterLoadError, match="more than the cache bound"):
        small.generate(_request(adapters, "brand-1"))


def test_an_adapter_waits_for_a_slot_pinned_by_running_work(make_engine, adapters):
    engine = make_engine(max_adapters=1)
    requests = [_request(adapters, b, temperature=0.0, max_new_tokens=20) for b in ("brand-0", "brand-1", "brand-0")]
    alone = [engine.generate(r) for r in requests]
    futures = [engine.submit(r) for r in requests]
    for expected, future in zip(alone, futures):
        _same(future.result(timeout=60), expected)
    assert len(engine.loaded_adapters) == 1


def test_checksum_mismatch_raises_and_never_falls_back(make_engine, adapters, tmp_path):
    engine = make_engine()
    good_sha = dir_checksum(adapters["brand-3"])
    served = engine.generate(_request(adapters, "brand-3", adapter_sha256=good_sha, temperature=0.0))

    tampered = shutil.copytree(adapters["brand-3"], tmp_path / "tampered")
    weights = tampered / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    bad = GenerateRequest(
        prompt=PROMPTS[0], adapter_id="brand-3", adapter_path=str(tampered), adapter_sha256=good_sha, temperature=0.0
    )
    with pytest.raises(AdapterChecksumError, match="fail their checksum"):
        engine.generate(bad)
    with pytest.raises(AdapterChecksumError):
        engine.generate(_request(adapters, "brand-2", adapter_sha256="f" * 64))
    assert engine.loaded_adapters == ["brand-3"]
    _same(engine.generate(_request(adapters, "brand-3", adapter_sha256=good_sha, temperature=0.0)), served)


def test_missing_adapter_files_raise(make_engine, tmp_path):
    engine = make_engine()
    with pytest.raises(AdapterLoadError, match="lacks adapter_config.json"):
        engine.generate(GenerateRequest(prompt="x", adapter_id="b", adapter_path=str(tmp_path)))


@pytest.mark.parametrize(
    ("option", "value"), [("use_dora", True), ("modules_to_save", ["lm_head"]), ("bias", "all"), ("peft_type", "IA3")]
)
def test_adapters_with_unsupported_options_are_refused(make_engine, adapters, tmp_path, option, value):
    changed = shutil.copytree(adapters["brand-0"], tmp_path / "changed")
    config = json.loads((changed / "adapter_config.json").read_text())
    config[option] = value
    (changed / "adapter_config.json").write_text(json.dumps(config))
    engine = make_engine()
    with pytest.raises(AdapterLoadError, match=option if option != "bias" else "bias='all'"):
        engine.generate(GenerateRequest(prompt="x", adapter_id="b", adapter_path=str(changed)))
    assert engine.loaded_adapters == []


def test_caps_are_rejected_at_submit(make_engine, adapters):
    engine = make_engine(caps=SamplingCaps(max_n=2, max_new_tokens=16, max_prompt_tokens=8))
    with pytest.raises(CapExceededError, match="n=3 exceeds the cap of 2"):
        engine.submit(_request(adapters, None, n=3))
    with pytest.raises(CapExceededError, match="max_new_tokens=17"):
        engine.submit(_request(adapters, None, max_new_tokens=17))
    with pytest.raises(CapExceededError, match="over the cap of 8"):
        engine.submit(_request(adapters, None, prompt="Brand voice: friendly, concise, no hype." * 3))
    assert engine.generate(_request(adapters, None, n=2, max_new_tokens=16)).token_counts[0] <= 16


def test_concurrent_submit_from_threads(make_engine, adapters):
    engine = make_engine()
    requests = _mixed_requests(adapters)
    alone = [engine.generate(r) for r in requests]
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def client(worker: int) -> None:
        try:
            for i in range(worker, len(requests), 4):
                results[i] = engine.submit(requests[i]).result(timeout=60)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for i, expected in enumerate(alone):
        _same(results[i], expected)


def test_close_rejects_new_requests(make_engine, adapters):
    engine = make_engine()
    engine.close()
    with pytest.raises(EngineClosedError):
        engine.submit(_request(adapters, None))


def test_get_engine_is_one_engine_per_model(tiny_model):
    engine = get_engine(tiny_model)
    try:
        assert get_engine(str(tiny_model)) is engine
        assert get_engine(tiny_model, engine.config) is engine
        with pytest.raises(ValueError, match="already runs"):
            get_engine(tiny_model, EngineConfig(max_adapters=3))
    finally:
        engine.close()


def test_cancel_drops_a_running_request_between_steps(make_engine, adapters):
    engine = make_engine()
    request = _request(adapters, "brand-1", n=3, max_new_tokens=40, temperature=1.0, seed=11)
    other = _request(adapters, "brand-2", max_new_tokens=40, temperature=0.0)
    assert min(engine.generate(request).token_counts) > 4  # it would run well past the cancel
    alone = engine.generate(other)
    steps: list[int] = []
    cancelled: list = []
    engine.add_step_observer(steps.append)

    def cancel_at_second_step(rows: int) -> None:
        if len(steps) == 2:
            engine.cancel(cancelled[0])

    engine.add_step_observer(cancel_at_second_step)
    future = engine.submit(request)
    cancelled.append(future)
    with pytest.raises(RequestCancelledError):
        future.result(timeout=60)
    assert len(steps) <= 3 and steps[0] == 3  # its three rows took at most one step after the cancel
    _same(engine.generate(other), alone)  # the engine serves on, unchanged


def test_cancel_of_a_queued_request_never_starts_it_and_a_done_one_keeps_its_result(make_engine, adapters):
    engine = make_engine()
    done = engine.submit(_request(adapters, None))
    result = done.result(timeout=60)
    engine.cancel(done)
    assert done.result() is result
    blocker = engine.submit(_request(adapters, "brand-0", max_new_tokens=40))
    queued = engine.submit(_request(adapters, "brand-1"))
    engine.cancel(queued)
    blocker.result(timeout=60)
    with pytest.raises((RequestCancelledError, CancelledError)):
        queued.result(timeout=60)


def test_step_observers_see_every_decode_step(make_engine, adapters):
    engine = make_engine()
    rows: list[int] = []
    engine.add_step_observer(rows.append)
    futures = [engine.submit(r) for r in _mixed_requests(adapters)]
    for future in futures:
        future.result(timeout=60)
    assert len(rows) == engine.stats.decode_steps and sum(rows) == engine.stats.decoded_rows
    assert engine.stats.mean_batch_rows == pytest.approx(sum(rows) / len(rows))
    assert max(rows) == engine.stats.max_active_rows > 1  # submitted together, they shared steps
