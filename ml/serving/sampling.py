"""Next-token choice with per-sequence generators, so a seeded sequence samples the same
tokens whatever else shares its batch."""
from __future__ import annotations

import torch

_MASK64 = (1 << 64) - 1


def sequence_seed(seed: int, index: int) -> int:
    """Seed of sequence `index` of a request seeded with `seed` (splitmix64 finaliser).

    Mixing keeps sequence 1 of seed s distinct from sequence 0 of seed s + 1.
    """
    z = (seed * 0x9E3779B97F4A7C15 + index + 1) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) & ((1 << 63) - 1)


def make_generator(seed: int) -> torch.Generator:
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    return generator


def choose_tokens(
    logits: torch.Tensor,
    temperatures: list[float],
    top_ps: list[float],
    generators: list[torch.Generator],
) -> tuple[list[int], list[float]]:
    """Pick one token per row of `logits` [rows, vocab]; return tokens and their log-probs.

    Temperature 0 is greedy. Otherwise the row is sampled from softmax(logits / T) cut to
    the smallest top-probability set whose mass reaches top_p, with one uniform draw from
    the row's own generator. The returned log-prob is under the unmodified model
    distribution (temperature 1, no top-p), the quantity scoring also uses.
    """
    logits = logits.float()
    log_probs = torch.log_softmax(logits, dim=-1)
    tokens = torch.argmax(logits, dim=-1)
    sampled = [i for i, t in enumerate(temperatures) if t > 0]
    if sampled:
        index = torch.tensor(sampled)
        temps = torch.tensor([temperatures[i] for i in sampled], dtype=torch.float32).unsqueeze(1)
        top_p = torch.tensor([top_ps[i] for i in sampled], dtype=torch.float32).unsqueeze(1)
        probs = torch.softmax(logits[index] / temps, dim=-1)
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
        mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        # Keep a token while the mass of more likely tokens is still short of top_p
        # (the first token is always kept).
        kept = torch.where(mass_before < top_p, sorted_probs, torch.zeros_like(sorted_probs))
        cumulative = torch.cumsum(kept, dim=-1)
        draws = torch.stack([torch.rand((), generator=generators[i]) for i in sampled])
        targets = (draws * cumulative[:, -1]).unsqueeze(1)
        positions = torch.searchsorted(cumulative, targets, right=True).clamp(max=logits.shape[-1] - 1)
        # Never land on a cut token when the draw rounds up to the total mass.
        last_kept = (kept > 0).sum(dim=-1, keepdim=True) - 1
        positions = torch.minimum(positions, last_kept)
        tokens[index] = order.gather(1, positions).squeeze(1)
    chosen = log_probs.gather(1, tokens.unsqueeze(1)).squeeze(1)
    return tokens.tolist(), chosen.tolist()
