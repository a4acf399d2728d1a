"""A running decode batch with its KV cache, open to new sequences between steps.

Rows are left-padded to a common cache length; the attention mask hides the padding and
explicit position ids give every row the positions it would have alone, so joining or
leaving the batch does not change a row's logits. New sequences are prefilled on their
own, then their cache is padded and concatenated onto the running one (continuous intake).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from ml.serving.sampling import choose_tokens
from ml.serving.stops import end_bias, ends_line

ForwardFn = Callable[..., object]  # AdapterCache.forward: (adapter_names, **model kwargs) -> model output


@dataclass
class Sequence:
    """One completion being decoded (a request with n > 1 owns n of them)."""

    owner: object  # the engine's job this sequence belongs to
    index: int  # sequence number within its request, 0..n-1
    adapter: str  # peft adapter name, or BASE
    temperature: float  # sampling temperature (0 = greedy)
    top_p: float  # nucleus mass
    max_new_tokens: int  # completion budget
    generator: torch.Generator  # this sequence's private random stream
    top_k: int = 0  # most likely tokens to sample among (0: all)
    one_line: bool = False  # the copy ends at its first newline after visible text
    max_chars: int | None = None  # stop once the text is longer than this
    length_budget: bool = True  # favour the end tokens as the text nears max_chars (stops.end_bias)
    tokens: list[int] = field(default_factory=list)  # completion tokens so far, the stop token excluded
    logprob: float = 0.0  # summed log-probs of the chosen tokens (the stop token included)
    position: int = 0  # position id of the next token fed to the model
    last_token: int = -1  # token to feed at the next step
    chars: int = 0  # characters decoded so far
    visible: bool = False  # some non-space character was decoded
    finish_reason: str | None = None  # set when finished: "stop", "newline", "length" or "max_chars" (stops.py)

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None


class DecodeBatch:
    """Sequences decoded together one token per step over a shared, left-padded KV cache."""

    def __init__(self, forward: ForwardFn, *, stop_ids: frozenset[int], pad_id: int, pieces: list[str],
                 end_ids: EndIds) -> None:
        self._forward = forward
        self._stop_ids = stop_ids
        self._pad_id = pad_id
        self._pieces = pieces  # decoded text of every token id, for the newline and length rules
        self._end_ids = end_ids
        self.rows: list[Sequence] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None  # [rows, cache length] 1 = real token

    def admit(self, groups: list[tuple[list[int], list[Sequence]]]) -> None:
        """Prefill each (prompt ids, sequences sharing that prompt) group and join the batch.

        A prompt is prefilled once and its cache copied to each of its sequences; each
        sequence then samples its first token. Prompts of similar length are prefilled
        together so little compute goes to padding.
        """
        if not groups:
            return
        parts = [_Part(self.rows, self._cache, self._mask, None)] if self.rows else []
        parts.extend(self._prefill(chunk) for chunk in _length_buckets(groups))
        self._assemble(parts)

    def step(self) -> None:
        """Feed every row its last token and choose the next one."""
        assert self._cache is not None and self._mask is not None
        if any(row.finished for row in self.rows):
            raise RuntimeError("prune() finished rows before stepping")
        self._mask = torch.cat([self._mask, torch.ones((len(self.rows), 1), dtype=torch.long)], dim=1)
        output = self._forward(
            [row.adapter for row in self.rows],
            input_ids=torch.tensor([[row.last_token] for row in self.rows], dtype=torch.long),
            attention_mask=self._mask,
            position_ids=torch.tensor([[row.position] for row in self.rows], dtype=torch.long),
            cache=self._cache,
            use_cache=True,
        )
        for row in self.rows:
            row.position += 1
        self._record(self.rows, output.logits[:, -1, :])

    def prune(self) -> list[Sequence]:
        """Drop finished rows from the batch and return them."""
        done = [row for row in self.rows if row.finished]
        if not done:
            return []
        keep = [i for i, row in enumerate(self.rows) if not row.finished]
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self._cache = None
            self._mask = None
            return done
        assert self._cache is not None and self._mask is not None
        index = torch.tensor(keep, dtype=torch.long)
        mask = self._mask[index]
        # Columns that are padding for every remaining row carry nothing; cut them.
        first = int(mask.any(dim=0).nonzero()[0])
        self._mask = mask[:, first:]
        for layer in self._cache.layers:
            layer.keys = layer.keys[index, :, first:]
            layer.values = layer.values[index, :, first:]
        return done

    def _record(self, rows: list[Sequence], logits: torch.Tensor) -> None:
        tokens, logprobs = choose_tokens(
            self._budgeted(rows, logits),
            [row.temperature for row in rows],
            [row.top_p for row in rows],
            [row.generator for row in rows],
            [row.top_k for row in rows],
            model_logits=logits,
        )
        for row, token, logprob in zip(rows, tokens, logprobs):
            row.logprob += logprob
            row.last_token = token
            if token in self._stop_ids:
                row.finish_reason = "stop"
                continue
            row.tokens.append(token)
            piece = self._pieces[token] if token < len(self._pieces) else ""
            if row.one_line and ends_line(piece, row.visible):
                row.finish_reason = "newline"
            row.visible = row.visible or bool(piece.strip())
            row.chars += len(piece)
            if row.finished:
                continue
            if row.max_chars is not None and row.chars > row.max_chars:
                row.finish_reason = "max_chars"
            elif len(row.tokens) >= row.max_new_tokens:
                row.finish_reason = "length"

    def _budgeted(self, rows: list[Sequence], logits: torch.Tensor) -> torch.Tensor:
        """`logits` with the length budget's bias on the end tokens of rows near their character limit."""
        biased = [(i, row, bias) for i, row in enumerate(rows)
                  if row.length_budget and (bias := end_bias(row.chars, row.max_chars)) > 0]
        if not biased:
            return logits
        logits = logits.clone()
        ids = {one_line: tensor.to(logits.device) for one_line, tensor in
               ((False, self._end_ids.copy), (True, self._end_ids.line))}
        for i, row, bias in biased:
            logits[i, ids[row.one_line]] += bias
        return logits

    def _prefill(self, groups: list[tuple[list[int], list[Sequence]]]) -> _Part:
        # Same-adapter prompts side by side: one LoRA run each.
        groups = sorted(groups, key=lambda group: group[1][0].adapter)
        width = max(len(ids) for ids, _ in groups)
        input_ids = torch.full((len(groups), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(groups), width), dtype=torch.long)
        for g, (ids, _) in enumerate(groups):
            input_ids[g, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            mask[g, width - len(ids):] = 1
        cache = DynamicCache()
        output = self._forward(
            [seqs[0].adapter for _, seqs in groups],
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=(mask.cumsum(dim=1) - 1).clamp(min=0),
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        rows = [seq for _, seqs in groups for seq in seqs]
        expand = [g for g, (_, seqs) in enumerate(groups) for _ in seqs]
        for seq, g in zip(rows, expand):
            seq.position = len(groups[g][0])
        index = torch.tensor(expand, dtype=torch.long)
        self._record(rows, output.logits[index.to(output.logits.device), -1, :])
        return _Part(rows, cache, mask, index)

    def _assemble(self, parts: list[_Part]) -> None:
        """Copy the running rows and the prefilled ones into one cache, rows grouped by adapter.

        Grouping keeps each adapter's rows contiguous: one LoRA run per adapter per step.
        """
        rows = [row for part in parts for row in part.rows]
        order = sorted(range(len(rows)), key=lambda i: rows[i].adapter)
        destination = [0] * len(rows)
        for position, i in enumerate(order):
            destination[i] = position
        width = max(part.mask.shape[1] for part in parts)
        template = parts[-1].cache
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        layers = [
            (layer.keys.new_zeros((len(rows), *layer.keys.shape[1:2], width, layer.keys.shape[3])),
             layer.values.new_zeros((len(rows), *layer.values.shape[1:2], width, layer.values.shape[3])))
            for layer in template.layers
        ]
        offset = 0
        for part in parts:
            target = torch.tensor(destination[offset : offset + len(part.rows)], dtype=torch.long)
            offset += len(part.rows)
            start = width - part.mask.shape[1]
            mask[target, start:] = part.mask if part.index is None else part.mask[part.index]
            for (keys, values), layer in zip(layers, part.cache.layers):
                source_keys, source_values = layer.keys, layer.values
                if part.index is not None:
                    source_keys, source_values = source_keys[part.index], source_values[part.index]
                keys[target, :, start:] = source_keys
                values[target, :, start:] = source_values
        for layer, (keys, values) in zip(template.layers, layers):
            layer.keys, layer.values = keys, values
        self.rows = [rows[i] for i in order]
        self._cache, self._mask = template, mask


@dataclass(frozen=True)
class EndIds:
    """The tokens the length budget favours: those that end copy, and for one-line copy also a newline."""

    copy: torch.Tensor  # EOS and end-of-turn ids
    line: torch.Tensor  # those and every token whose text holds a newline

    @classmethod
    def of(cls, stop_ids: frozenset[int], pieces: list[str]) -> EndIds:
        """Built once per engine: finding the newline tokens reads the whole vocabulary."""
        stops = sorted(stop_ids)
        newlines = {i for i, piece in enumerate(pieces) if "\n" in piece}
        return cls(torch.tensor(stops, dtype=torch.long), torch.tensor(sorted(set(stops) | newlines), dtype=torch.long))


@dataclass
class _Part:
    """Rows with their cache, as they enter _assemble."""

    rows: list[Sequence]  # sequences, in the order of `index` (or of the cache rows)
    cache: DynamicCache  # their KV cache (per prompt when `index` is set)
    mask: torch.Tensor  # attention mask matching the cache rows
    index: torch.Tensor | None  # cache row of each sequence; None = one to one


def _length_buckets(groups: list[tuple[list[int], list[Sequence]]]) -> list[list[tuple[list[int], list[Sequence]]]]:
    """Split prompts into runs of similar length so padding costs at most ~25% extra."""
    ordered = sorted(groups, key=lambda group: len(group[0]))
    buckets: list[list[tuple[list[int], list[Sequence]]]] = []
    real = 0
    for group in ordered:
        length = len(group[0])
        if buckets and (len(buckets[-1]) + 1) * length - (real + length) <= 0.25 * (real + length) + 16:
            buckets[-1].append(group)
            real += length
        else:
            buckets.append([group])
            real = length
    return buckets
