from __future__ import annotations

import pytest
import torch

from ml.serving import GenerateRequest
from ml.serving.stops import ends_line, served_text


def test_a_newline_ends_a_line_only_after_visible_text():
    assert not ends_line("\n", visible_so_far=False)
    assert not ends_line(" \n\n", visible_so_far=False)
    assert ends_line("\n", visible_so_far=True)
    assert ends_line("!\n", visible_so_far=False)
    assert not ends_line("shoes", visible_so_far=True)


def test_served_text_keeps_the_first_line_and_the_limit_at_a_word_boundary():
    assert served_text("\n Save 20% today\nShop now", one_line=True, max_chars=None) == ("Save 20% today", False)
    assert served_text("Save 20% on running shoes", one_line=False, max_chars=14) == ("Save 20% on", True)
    assert served_text("Supercalifragilistic", one_line=True, max_chars=5) == ("Super", True)
    assert served_text("Fits", one_line=True, max_chars=4) == ("Fits", False)


def test_one_line_generation_never_serves_a_second_line(make_engine, adapters, monkeypatch):
    engine = make_engine()
    newline = engine._tokenizer.encode("\n", add_special_tokens=False)[0]
    forward = engine._forward
    calls = []

    def newline_on_third_step(adapter_names, **kwargs):
        output = forward(adapter_names, **kwargs)
        calls.append(1)
        if len(calls) == 3:  # prefill, one decode step, then the third token is a newline
            output.logits[:, -1, newline] += 1000.0
        return output

    monkeypatch.setattr(engine, "_forward", newline_on_third_step)
    result = engine.generate(GenerateRequest(prompt="Write:", adapter_id="brand-0", adapter_path=str(adapters["brand-0"]),
                                             n=2, temperature=0.0, max_new_tokens=20, one_line=True, seed=0))
    assert all("\n" not in text for text in result.texts)
    assert result.finish_reasons == ["newline", "newline"] and result.token_counts == [3, 3]  # the newline is kept
    assert result.texts[0] and result.texts[0] == result.texts[1]


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_max_chars_must_be_a_positive_integer(make_engine, bad):
    from ml.serving import InvalidRequestError

    with pytest.raises(InvalidRequestError):
        make_engine().submit(GenerateRequest(prompt="x", max_chars=bad))


def test_the_length_budget_grows_from_its_start_to_the_limit():
    from ml.serving.stops import BUDGET_BIAS, BUDGET_START, end_bias

    assert end_bias(500, None) == 0.0
    assert end_bias(int(BUDGET_START * 100), 100) == 0.0
    assert 0 < end_bias(70, 100) < end_bias(90, 100) < BUDGET_BIAS
    assert end_bias(100, 100) == end_bias(140, 100) == BUDGET_BIAS


def _fixed_logits(engine, monkeypatch, *, letter: int, end: int, gap: float) -> torch.Tensor:
    """Every step: `letter` most likely, the end token `gap` nats below it, the rest far below; returns its log-probs."""
    row = torch.full((len(engine._pieces),), -30.0)
    row[letter], row[end] = 0.0, -gap
    forward = engine._forward

    def fixed(adapter_names, **kwargs):
        output = forward(adapter_names, **kwargs)
        output.logits[:, -1, :] = row
        return output

    monkeypatch.setattr(engine, "_forward", fixed)
    return torch.log_softmax(row, dim=-1)


@pytest.mark.parametrize("one_line", [False, True])
def test_near_its_limit_copy_ends_by_itself_and_keeps_the_models_log_probs(make_engine, monkeypatch, one_line):
    engine = make_engine()
    letter = next(i for i, piece in enumerate(engine._pieces) if len(piece) == 1 and piece.isalpha())
    end = (min(i for i, p in enumerate(engine._pieces) if "\n" in p and len(p) == 1) if one_line
           else min(engine._codec.stop_ids))
    logp = _fixed_logits(engine, monkeypatch, letter=letter, end=end, gap=3.5)
    request = {"prompt": "Write:", "n": 1, "temperature": 0.0, "max_new_tokens": 40, "max_chars": 10,
               "one_line": one_line, "seed": 0}

    budgeted = engine.generate(GenerateRequest(**request))
    plain = engine.generate(GenerateRequest(**request, length_budget=False))

    # Past 6 characters the bias grows by 1.5 nats a character: above the 3.5-nat gap after the ninth.
    assert budgeted.finish_reasons == ["newline" if one_line else "stop"]
    assert budgeted.token_counts == [9 + one_line] and len(budgeted.texts[0]) == 9
    assert budgeted.logprobs[0] == pytest.approx(9 * float(logp[letter]) + float(logp[end]), rel=1e-5)
    assert plain.finish_reasons == ["max_chars"] and len(plain.texts[0]) == 10


def test_length_budget_must_be_a_boolean(make_engine):
    from ml.serving import InvalidRequestError

    with pytest.raises(InvalidRequestError):
        make_engine().submit(GenerateRequest(prompt="x", length_budget="yes"))
