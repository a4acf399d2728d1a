"""Where a completion ends: a stop token, the first newline of one-line copy, or a length bound.

The finish reason says which: "stop" (EOS or the chat template's end-of-turn token) and
"newline" (a one-line channel's copy ended with its line) mean the model ended the copy itself;
"length" (the token budget) and "max_chars" (the channel's character limit) mean it was cut.
The served text never holds more than the first line of one-line copy, nor more characters than
its limit (cut at the last word boundary that fits).

A character limit is also a length budget while decoding: past BUDGET_START of the limit the end
tokens (EOS, end-of-turn, and a newline for one-line copy) gain a logit bias that grows linearly to
BUDGET_BIAS nats at the limit, so a model that writes long ends its copy where an end is already
plausible instead of running into the cut (the exponential length penalty of Hugging Face's
generate, in characters). Log-probs stay those of the unbiased model.
"""
from __future__ import annotations

ENDED = ("stop", "newline")  # finish reasons of copy that ended by itself
BUDGET_START = 0.6  # share of the character limit after which ending is favoured
BUDGET_BIAS = 6.0  # nats added to the end tokens' logits at the limit (x400 odds)


def token_pieces(tokenizer, vocab_size: int) -> list[str]:
    """The text each token id decodes to alone ("" for ids past the tokenizer's vocabulary)."""
    known = min(vocab_size, len(tokenizer))
    pieces = tokenizer.batch_decode([[i] for i in range(known)], skip_special_tokens=True)
    return pieces + [""] * (vocab_size - known)


def ends_line(piece: str, visible_so_far: bool) -> bool:
    """Whether `piece` closes a line of copy: a newline after some visible text (leading newlines do not)."""
    if "\n" not in piece:
        return False
    return visible_so_far or bool(piece.split("\n", 1)[0].strip())


def served_text(text: str, *, one_line: bool, max_chars: int | None) -> tuple[str, bool]:
    """The text to serve and whether the character limit cut it."""
    text = text.strip()
    if one_line:
        text = text.split("\n", 1)[0].strip()
    if max_chars is None or len(text) <= max_chars:
        return text, False
    head = text[: max_chars + 1]
    cut = head.rfind(" ")
    return (head[:cut] if cut > 0 else text[:max_chars]).rstrip(" ,;:-"), True


def end_bias(chars: int, max_chars: int | None) -> float:
    """Logit bias of the end tokens after `chars` decoded characters of copy limited to `max_chars`."""
    if max_chars is None:
        return 0.0
    start = BUDGET_START * max_chars
    if chars <= start:
        return 0.0
    return BUDGET_BIAS * min(1.0, (chars - start) / max(1.0, max_chars - start))
