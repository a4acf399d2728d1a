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


CANDIDATES = 256  # top-p looks for its nucleus among this many most likely tokens first


def choose_tokens(
    logits: torch.Tensor,
    temperatures: list[float],
    top_ps: list[float],
    generators: list[torch.Generator],
    top_ks: list[int] | None = None,
    model_logits: torch.Tensor | None = None,
) -> tuple[list[int], list[float]]:
    """Pick one token per row of `logits` [rows, vocab]; return tokens and their log-probs.

    Everything runs on the logits' own device and nothing sorts the whole vocabulary: temperature 0
    is greedy; otherwise a row samples from softmax(logits / T) cut to its top_k most likely tokens
    (0: no cut) and to the smallest top-probability set whose mass reaches top_p, by one uniform draw
    from the row's own generator (so a row's token does not depend on its batch). The nucleus is
    sought among the CANDIDATES most likely tokens (torch.topk, a partial selection); only a row so
    flat that they hold less than top_p of the mass falls back to a sort of its full row. The
    returned log-prob is under the unmodified model distribution (temperature 1, no cuts), the
    quantity scoring also uses: that of `model_logits` where the caller biased `logits` for the choice.
    """
    logits = logits.float()
    device = logits.device
    vocab = logits.shape[-1]
    top_ks = top_ks or [0] * len(temperatures)
    sampled = [i for i, t in enumerate(temperatures) if t > 0]
    tokens = torch.argmax(logits, dim=-1) if len(sampled) < len(temperatures) else \
        torch.zeros(logits.shape[0], dtype=torch.long, device=device)
    if sampled:
        draws = torch.stack([torch.rand((), generator=generators[i]) for i in sampled]).to(device)
        index = torch.tensor(sampled, device=device)
        temps = torch.tensor([temperatures[i] for i in sampled], device=device).unsqueeze(1)
        scaled = logits[index] / temps
        full = [j for j, i in enumerate(sampled) if top_ps[i] >= 1.0 and not 0 < top_ks[i] < vocab]
        cut = [j for j in range(len(sampled)) if j not in set(full)]
        picked = torch.empty(len(sampled), dtype=torch.long, device=device)
        if full:
            rows = torch.tensor(full, device=device)
            picked[rows] = _inverse_cdf(torch.softmax(scaled[rows], dim=-1), draws[rows])
        if cut:
            rows = torch.tensor(cut, device=device)
            ks = [top_ks[sampled[j]] if 0 < top_ks[sampled[j]] < vocab else vocab for j in cut]
            ps = torch.tensor([top_ps[sampled[j]] for j in cut], device=device).unsqueeze(1)
            picked[rows] = _nucleus(scaled[rows], ks, ps, draws[rows])
        tokens[index] = picked
    measured = logits if model_logits is None else model_logits.float()
    chosen = measured.gather(1, tokens.unsqueeze(1)).squeeze(1) - torch.logsumexp(measured, dim=-1)
    return tokens.tolist(), chosen.tolist()


def _inverse_cdf(weights: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """Index of each row's draw in its (unnormalised, non-negative) weights."""
    cumulative = torch.cumsum(weights, dim=-1)
    targets = (draws * cumulative[:, -1]).unsqueeze(1)
    positions = torch.searchsorted(cumulative, targets, right=True).squeeze(1)
    # Never land past the last token with weight when the draw rounds up to the total.
    last = weights.shape[-1] - 1 - torch.argmax((weights.flip(-1) > 0).int(), dim=-1)
    return torch.minimum(positions, last)


def _nucleus(scaled: torch.Tensor, ks: list[int], top_p: torch.Tensor, draws: torch.Tensor) -> torch.Tensor:
    """Top-k then top-p sampling of each row of `scaled` (logits / T), widening the candidates only where needed.

    A row's nucleus is exact within its w most likely tokens when they hold at least top_p of the
    mass (or it keeps at most w tokens by top_k); rows short of that try 16 times as many, then the
    whole row, sorted.
    """
    vocab = scaled.shape[-1]
    log_total = torch.logsumexp(scaled, dim=-1, keepdim=True)
    k = torch.tensor(ks, device=scaled.device).unsqueeze(1)
    picked = torch.empty(scaled.shape[0], dtype=torch.long, device=scaled.device)
    rows = torch.arange(scaled.shape[0], device=scaled.device)
    width = min(vocab, max(max(ks) if max(ks) < vocab else 0, CANDIDATES))
    while rows.numel():
        if width >= vocab:
            values, order = torch.sort(scaled[rows], dim=-1, descending=True)
        else:
            values, order = torch.topk(scaled[rows], width, dim=-1)
        probs = torch.exp(values - log_total[rows])
        done = (probs.sum(-1, keepdim=True) >= top_p[rows]) | (k[rows] <= width) | (width >= vocab)
        done = done.squeeze(1)
        if bool(done.any()):
            picked[rows[done]] = _kept_draw(probs[done], order[done], k[rows[done]], top_p[rows[done]],
                                            draws[rows[done]])
        rows = rows[~done]
        width = min(vocab, width * 16)
    return picked


def _kept_draw(probs: torch.Tensor, order: torch.Tensor, k: torch.Tensor, top_p: torch.Tensor,
               draws: torch.Tensor) -> torch.Tensor:
    """Draw among the kept of tokens sorted by probability: within top_k, while the mass before is short of top_p."""
    rank = torch.arange(probs.shape[-1], device=probs.device).unsqueeze(0)
    mass_before = torch.cumsum(probs, dim=-1) - probs
    keep = (rank < k) & ((mass_before < top_p) | (rank == 0))
    return order.gather(1, _inverse_cdf(torch.where(keep, probs, torch.zeros_like(probs)), draws).unsqueeze(1)).squeeze(1)
