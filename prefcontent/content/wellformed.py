"""Is a generated text usable copy for its channel? A check that reads free text, not a grammar.

Any model's output is judged the same way, the dev model's and a pretrained one's: one line where
the channel wants one, within the channel's length limit (prefcontent.content.channels), no chat markup or role
labels, no echo of the prompt, no degenerate repetition. `form_problems` names what is wrong (an
empty list means well-formed); the gate, the output checks and the simulation all use it.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from prefcontent.content.channels import channel_form
from prefcontent.core.text import folded_text, words

# Special tokens of the common chat templates (ChatML, Llama 2/3, Gemma, Phi-3, Mistral) and role labels
# at the start of a line: a model that writes them is continuing the conversation, not writing copy.
_MARKUP = re.compile(
    r"<\|[a-z_]{2,30}(?:\|>|>)|</?s>|\[/?INST\]|<<SYS>>|<(?:start|end)_of_turn>|"
    r"(?:^|\n)\s*(?:system|user|assistant|human)\s*:|(?:^|\n)\s*(?:system|user|assistant)\s*(?:\n|$)",
    re.IGNORECASE)
# Field labels of a brief at the start of a line ("Brand: ...", "Tone: ..."): the prompt read back.
_FIELD_LABEL = re.compile(r"(?:^|\n)\s*(?:brand|voice|channel|product|audience|tone|write|brief|constraints|rules)\s*:",
                          re.IGNORECASE)
ECHO_WORDS = 8  # a run of this many prompt words, verbatim, in the copy is an echo of the prompt
_SAME_CHAR_RUN = re.compile(r"([^\s\d])\1{5,}")  # "!!!!!!", "......", "aaaaaa"
_WORD = re.compile(r"\w+(?:['’]\w+)?|[^\w\s]")


def _repetition(text: str) -> str:
    """Why the text repeats itself degenerately, or ""."""
    if _SAME_CHAR_RUN.search(text):
        return "a character repeated six times or more"
    tokens = [w.strip(".,!?;:") for w in words(text)]
    run = 1
    for prev, cur in itertools.pairwise(tokens):
        run = run + 1 if cur and cur == prev else 1
        if run >= 3:
            return f"the word {cur!r} three times in a row"
    bigrams = list(itertools.pairwise(tokens))
    if len(bigrams) >= 8 and len(set(bigrams)) / len(bigrams) < 0.6:
        return f"{len(bigrams) - len(set(bigrams))} of {len(bigrams)} word pairs repeated"
    sentences = [s for s in (folded_text(p) for p in re.split(r"(?<=[.!?])\s+|\n+", text)) if len(s.split()) >= 2]
    if len(sentences) != len(set(sentences)):
        return "a sentence repeated"
    return ""


def _echo(text: str, prompt: str) -> bool:
    """A run of ECHO_WORDS words of the prompt, verbatim (folded), inside the text."""
    if not prompt:
        return False
    grams = lambda s: {tuple(t[i:i + ECHO_WORDS]) for t in [_WORD.findall(folded_text(s))]  # noqa: E731
                       for i in range(len(t) - ECHO_WORDS + 1)}
    return bool(grams(text) & grams(prompt))


def form_problems(text: str, channel: str, prompt: str = "") -> list[str]:
    """What keeps `text` from being well-formed copy for `channel` (answering `prompt`); [] when it is."""
    form = channel_form(channel)
    body = text.strip()
    if not body:
        return ["empty"]
    problems = []
    if form.one_line and "\n" in body:
        problems.append(f"{body.count(chr(10)) + 1} lines where {channel} takes one")
    if len(body) > form.max_chars:
        problems.append(f"{len(body)} characters, over the {max(form.max_chars, 0)} that {channel or 'copy'} takes")
    if _MARKUP.search(body):
        problems.append("chat markup or a role label")
    elif _FIELD_LABEL.search(body) or _echo(body, prompt):
        problems.append("an echo of the prompt")
    if why := _repetition(body):
        problems.append(f"degenerate repetition: {why}")
    return problems


def is_well_formed(text: str, channel: str, prompt: str = "") -> bool:
    return not form_problems(text, channel, prompt)


def well_formed_flags(texts: Sequence[str], channel: str | Sequence[str], prompts: Sequence[str] | str = "") -> list[bool]:
    """Per text, well-formed or not; `channel` and `prompts` are one value for all or one per text."""
    channels = [channel] * len(texts) if isinstance(channel, str) else list(channel)
    prompt_list = [prompts] * len(texts) if isinstance(prompts, str) else list(prompts)
    return [is_well_formed(t, c, p) for t, c, p in zip(texts, channels, prompt_list, strict=True)]
