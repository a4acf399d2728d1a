"""Where a completion ends: a stop token, the first newline of one-line copy, or a length bound.

The finish reason says which: "stop" (EOS or the chat template's end-of-turn token) and
"newline" (a one-line channel's copy ended with its line) mean the model ended the copy itself;
"length" (the token budget) and "max_chars" (the channel's character limit) mean it was cut.
The served text never holds more than the first line of one-line copy, nor more characters than
its limit (cut at the last word boundary that fits).
"""
from __future__ import annotations

ENDED = ("stop", "newline")  # finish reasons of copy that ended by itself


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
