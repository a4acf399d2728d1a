from __future__ import annotations

import pytest

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
