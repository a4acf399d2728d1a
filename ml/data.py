"""Tokenising preference pairs and ordering them into length-bucketed batches.

A pair is tokenised as three pieces so that chosen and rejected share byte-identical
prompt ids: the prompt, `chosen + [END]`, `rejected + [END]`. The rules live in `Codec`, which
training, scoring and the serving engine share, so a tokenizer as it comes (no BOS, BOS equal to
EOS, a chat template with its own special tokens, no pad token) is read the same way everywhere:

- a plain prompt is `[BOS] + ids` (no BOS when the tokenizer has none); stray BOS/EOS ids at its
  ends are stripped so there is exactly one. A chat prompt is taken as rendered: its template
  wrote the special tokens it wants (ml.prompts).
- a completion ends with END: the template's end-of-turn token under a chat template, else EOS.

Truncation is explicit and happens here, once, so policy and reference see the same ids: a long
prompt keeps its first token and its *last* tokens (the instruction sits at the end); a long
completion keeps its *first* tokens and then has no END, because it did not end there.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ml.config import PreferenceExample
from ml.prompts import end_of_turn_id, format_of_tokenizer


@dataclass(frozen=True)
class TokenizedPair:
    """Token ids of one pair, ready to pack."""

    index: int  # position of the pair in its split, used to look up cached reference log-probs
    prompt_ids: tuple[int, ...]  # the prompt's tokens (shared by both completions)
    chosen_ids: tuple[int, ...]  # chosen tokens + END
    rejected_ids: tuple[int, ...]  # rejected tokens + END
    weight: float  # evidence weight of the pair
    imitate: bool = True  # RPO's NLL term applies to the chosen text (see PreferenceExample.imitate)

    @property
    def packed_length(self) -> int:
        """Length of the prompt-once sequence: prompt, then both completions."""
        return len(self.prompt_ids) + len(self.chosen_ids) + len(self.rejected_ids)


def _strip(ids: list[int], head: set[int], tail: set[int]) -> list[int]:
    while ids and ids[0] in head:
        ids = ids[1:]
    while ids and ids[-1] in tail:
        ids = ids[:-1]
    return ids


@dataclass(frozen=True)
class Codec:
    """How prompts and completions of one tokenizer become ids (see the module docstring)."""

    tokenizer: object
    chat: bool  # the tokenizer has a chat template: prompts carry their own special tokens
    bos_id: int | None  # put in front of a plain prompt; None when the tokenizer has no BOS
    end_id: int  # the token a completion ends with
    stop_ids: frozenset[int]  # generation ends at any of these: EOS, end-of-turn, the model's own list
    pad_id: int  # filler id; never attended to

    @classmethod
    def of(cls, tokenizer, *, extra_stop_ids: tuple[int, ...] = ()) -> Codec:
        chat = format_of_tokenizer(tokenizer).chat_template is not None
        eos = tokenizer.eos_token_id
        end = (end_of_turn_id(tokenizer) if chat else None) or eos
        if end is None:
            raise ValueError("the tokenizer needs an EOS (or end-of-turn) token to mark where a completion ends")
        pad = next(i for i in (tokenizer.pad_token_id, eos, end) if i is not None)
        stops = frozenset(i for i in (end, eos, *extra_stop_ids) if i is not None)
        return cls(tokenizer, chat, tokenizer.bos_token_id, end, stops, pad)

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(self, text: str, max_tokens: int | None = None) -> list[int]:
        """The prompt's ids; when longer than `max_tokens`, its first token and its last ones."""
        if self.chat:
            ids = self._ids(text)
        else:
            bos = {self.bos_id} - {None}
            ids = [*bos, *_strip(self._ids(text), bos, self.stop_ids)]
        if max_tokens is not None and len(ids) > max_tokens:
            ids = ids[:1] + ids[len(ids) - max_tokens + 1:]
        return ids

    def completion(self, text: str, max_tokens: int | None = None, *, end: bool = True) -> list[int]:
        """`text`'s ids + END (without END when `end` is False); cut short, its first tokens and no END."""
        ids = _strip(self._ids(text), {self.bos_id} - {None}, set(self.stop_ids))
        if max_tokens is not None and len(ids) + int(end) > max_tokens:
            return ids[:max_tokens]
        return ids + [self.end_id] if end else ids


def encode_prompt(tokenizer, prompt: str, max_tokens: int) -> list[int]:
    """The prompt's ids as training and serving read them (see Codec.prompt)."""
    return Codec.of(tokenizer).prompt(prompt, max_tokens)


def encode_completion(tokenizer, completion: str, max_tokens: int) -> list[int]:
    """`completion ids + [END]`; a completion cut short keeps its first tokens and no END."""
    return Codec.of(tokenizer).completion(completion, max_tokens)


def tokenize_pairs(
    tokenizer, examples: list[PreferenceExample], *, max_prompt_tokens: int, max_completion_tokens: int
) -> list[TokenizedPair]:
    """Tokenise pairs in order; `index` is the position in `examples`."""
    codec = Codec.of(tokenizer)
    out = []
    for i, ex in enumerate(examples):
        out.append(
            TokenizedPair(
                index=i,
                prompt_ids=tuple(codec.prompt(ex.prompt, max_prompt_tokens)),
                chosen_ids=tuple(codec.completion(ex.chosen, max_completion_tokens)),
                rejected_ids=tuple(codec.completion(ex.rejected, max_completion_tokens)),
                weight=float(ex.weight),
                imitate=bool(ex.imitate),
            )
        )
    return out


def epoch_batches(
    pairs: list[TokenizedPair], *, batch_size: int, seed: int, epoch: int, bucket_size: int
) -> list[list[TokenizedPair]]:
    """The batches of one epoch, a pure function of (seed, epoch) so a resumed run sees the same order.

    Pairs are shuffled, cut into windows of `bucket_size * batch_size`, sorted by packed length
    inside each window (so a batch pads little), batched, and the batches shuffled again so
    that lengths do not trend through the epoch.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(pairs)
    rng.shuffle(order)
    window = max(1, bucket_size) * batch_size
    batches: list[list[TokenizedPair]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda p: p.packed_length)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(pairs: list[TokenizedPair], batch_size: int) -> list[list[TokenizedPair]]:
    """Deterministic length-sorted batches for evaluation and reference passes."""
    order = sorted(pairs, key=lambda p: p.packed_length)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
