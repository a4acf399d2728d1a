"""Tokenising preference pairs and ordering them into length-bucketed batches.

A pair is tokenised as three pieces so that chosen and rejected share byte-identical
prompt ids: `[BOS] + prompt`, `chosen + [EOS]`, `rejected + [EOS]`. Each text is encoded
with `add_special_tokens=False` and stray BOS/EOS ids at its ends are stripped, so there is
exactly one BOS (when the tokenizer has one) and one terminal EOS whatever the tokenizer's
own habits. Truncation is explicit and happens here, once, so policy and reference see the
same ids: a long prompt keeps BOS and its *last* tokens (the instruction sits at the end of
a brief); a long completion keeps its *first* tokens and then has no EOS, because it did
not end there.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from ml.config import PreferenceExample


@dataclass(frozen=True)
class TokenizedPair:
    """Token ids of one pair, ready to pack."""

    index: int  # position of the pair in its split, used to look up cached reference log-probs
    prompt_ids: tuple[int, ...]  # BOS + prompt tokens (shared by both completions)
    chosen_ids: tuple[int, ...]  # chosen tokens + EOS
    rejected_ids: tuple[int, ...]  # rejected tokens + EOS
    weight: float  # evidence weight of the pair
    imitate: bool = True  # RPO's NLL term applies to the chosen text (see PreferenceExample.imitate)

    @property
    def packed_length(self) -> int:
        """Length of the prompt-once sequence: prompt, then both completions."""
        return len(self.prompt_ids) + len(self.chosen_ids) + len(self.rejected_ids)


def _strip_specials(ids: list[int], bos: int | None, eos: int | None) -> list[int]:
    while ids and bos is not None and ids[0] == bos:
        ids = ids[1:]
    while ids and eos is not None and ids[-1] == eos:
        ids = ids[:-1]
    return ids


def encode_prompt(tokenizer, prompt: str, max_tokens: int) -> list[int]:
    """`[BOS] + prompt ids`, keeping BOS and the last tokens when too long."""
    bos = tokenizer.bos_token_id
    ids = _strip_specials(tokenizer(prompt, add_special_tokens=False)["input_ids"], bos, tokenizer.eos_token_id)
    head = [bos] if bos is not None else []
    room = max_tokens - len(head)
    return head + ids[len(ids) - room :] if len(ids) > room else head + ids


def encode_completion(tokenizer, completion: str, max_tokens: int) -> list[int]:
    """`completion ids + [EOS]`; a completion cut short keeps its first tokens and no EOS."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer needs an EOS token to mark where a completion ends")
    ids = _strip_specials(tokenizer(completion, add_special_tokens=False)["input_ids"], tokenizer.bos_token_id, eos)
    if len(ids) + 1 > max_tokens:
        return ids[:max_tokens]
    return ids + [eos]


def tokenize_pairs(
    tokenizer, examples: list[PreferenceExample], *, max_prompt_tokens: int, max_completion_tokens: int
) -> list[TokenizedPair]:
    """Tokenise pairs in order; `index` is the position in `examples`."""
    out = []
    for i, ex in enumerate(examples):
        out.append(
            TokenizedPair(
                index=i,
                prompt_ids=tuple(encode_prompt(tokenizer, ex.prompt, max_prompt_tokens)),
                chosen_ids=tuple(encode_completion(tokenizer, ex.chosen, max_completion_tokens)),
                rejected_ids=tuple(encode_completion(tokenizer, ex.rejected, max_completion_tokens)),
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
