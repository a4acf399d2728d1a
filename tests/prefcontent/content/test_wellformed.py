"""The free-text well-formedness check: any model's copy, judged per channel."""
from __future__ import annotations

import pytest

from prefcontent.content.channels import CHANNEL_FORMS
from prefcontent.content.models import CHANNELS
from prefcontent.content.wellformed import form_problems, is_well_formed, well_formed_flags


def test_every_channel_has_a_form():
    assert set(CHANNEL_FORMS) == set(CHANNELS)


@pytest.mark.parametrize("text", [
    "Waterproof trail running shoes for weekend hikers",
    "Save 25% on rain jackets. Today only! 🔥",
    "Ready for better mornings? Our cold brew is.",
    "Northpeak: new backpacks, built to last.",
    "“Finally” — socks that stay dry",
])
def test_plain_copy_is_well_formed(text):
    assert form_problems(text, "headline") == []


@pytest.mark.parametrize(("text", "channel", "problem"), [
    ("", "headline", "empty"),
    ("   \n ", "push", "empty"),
    ("Trail shoes for hikers\nSecond line of copy", "headline", "2 lines where headline takes one"),
    (" ".join(f"shoe{i}" for i in range(20)), "email_subject", "129 characters, over the 100"),
    ("Trail shoes for hikers<|im_end|>", "headline", "chat markup or a role label"),
    ("Trail shoes\nassistant\nSure", "ad_copy", "chat markup or a role label"),
    ("User: write me a headline", "headline", "chat markup or a role label"),
    ("[INST] write a headline [/INST] Shoes", "headline", "chat markup or a role label"),
    ("Tone: playful. Trail shoes", "headline", "an echo of the prompt"),
    ("Shop shop shop now", "headline", "degenerate repetition: the word 'shop' three times in a row"),
    ("Sale!!!!!!! on shoes", "headline", "degenerate repetition: a character repeated six times or more"),
    ("Great shoes. Great shoes.", "headline", "degenerate repetition: a sentence repeated"),
    ("buy the shoes buy the shoes buy the shoes buy the shoes", "ad_copy", "word pairs repeated"),
])
def test_each_problem_is_named(text, channel, problem):
    problems = form_problems(text, channel)
    assert any(problem in p for p in problems), problems


def test_multi_line_channels_take_several_lines_and_longer_copy():
    ad = "Trail shoes for weekend hikers.\nGrip on wet rock, dry feet all day.\nShop the range."
    assert is_well_formed(ad, "ad_copy") and not is_well_formed(ad, "headline")
    assert is_well_formed("x " * 200, "landing") is False  # repetition, not length
    assert is_well_formed(" ".join(f"word{i}" for i in range(60)), "ad_copy")


def test_a_long_run_of_prompt_words_is_an_echo_but_the_product_name_is_not():
    prompt = "Write a headline for Northpeak about waterproof trail running shoes for weekend hikers, tone: direct."
    assert is_well_formed("Waterproof trail running shoes, ready for the weekend", "headline", prompt)
    assert not is_well_formed("for Northpeak about waterproof trail running shoes for weekend hikers", "headline",
                              prompt)


def test_an_unknown_channel_gets_the_loosest_form():
    assert is_well_formed("Line one\nLine two", "")
    assert not is_well_formed("x" * 2001, "")


def test_flags_take_one_channel_or_one_per_text():
    assert well_formed_flags(["A b", "A\nb"], "headline") == [True, False]
    assert well_formed_flags(["A b", "A\nb"], ["headline", "ad_copy"], ["", ""]) == [True, True]
    with pytest.raises(ValueError):
        well_formed_flags(["A b"], ["headline", "push"])
