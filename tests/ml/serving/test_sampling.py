from __future__ import annotations

import pytest
import torch

from ml.serving.sampling import choose_tokens, make_generator, sequence_seed


def _logits() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(3, 50)


def test_greedy_rows_take_the_argmax_and_report_its_logprob():
    logits = _logits()
    tokens, logprobs = choose_tokens(logits, [0.0] * 3, [1.0] * 3, [make_generator(i) for i in range(3)])
    assert tokens == logits.argmax(-1).tolist()
    expected = torch.log_softmax(logits, -1)[torch.arange(3), logits.argmax(-1)]
    assert torch.allclose(torch.tensor(logprobs), expected)


def test_tiny_top_p_keeps_only_the_most_likely_token():
    logits = _logits()
    tokens, _ = choose_tokens(logits, [1.0] * 3, [1e-6] * 3, [make_generator(i) for i in range(3)])
    assert tokens == logits.argmax(-1).tolist()


def test_a_row_samples_the_same_token_alone_or_with_other_rows():
    logits = _logits()
    together, _ = choose_tokens(logits, [0.9, 0.0, 1.3], [0.95, 1.0, 0.8], [make_generator(s) for s in (7, 8, 9)])
    alone, _ = choose_tokens(logits[2:], [1.3], [0.8], [make_generator(9)])
    assert together[2] == alone[0]


def test_sampling_follows_the_distribution():
    logits = torch.tensor([[0.0, 0.0, -50.0, 2.0]])
    generator = make_generator(3)
    counts = [0] * 4
    for _ in range(2000):
        token = choose_tokens(logits, [1.0], [1.0], [generator])[0][0]
        counts[token] += 1
    assert counts[2] == 0
    share = counts[3] / 2000  # e^2 / (2 + e^2) = 0.787
    assert 0.75 < share < 0.82


def test_sequence_seeds_differ_across_indices_and_requests():
    seeds = {sequence_seed(s, i) for s in range(20) for i in range(8)}
    assert len(seeds) == 160
    assert sequence_seed(5, 1) != sequence_seed(6, 0)


def _sorted_nucleus(logits, temperature, top_p, generators):
    """The reference rule: sort the whole row, keep while the mass before is short of top_p, draw once."""
    probs = torch.softmax(logits / temperature, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    kept = torch.where(torch.cumsum(sorted_probs, -1) - sorted_probs < top_p, sorted_probs, 0.0)
    cumulative = torch.cumsum(kept, dim=-1)
    draws = torch.stack([torch.rand((), generator=g) for g in generators])
    positions = torch.searchsorted(cumulative, (draws * cumulative[:, -1]).unsqueeze(1), right=True)
    return order.gather(1, positions).squeeze(1).tolist()


@pytest.mark.parametrize("scale", [1.0, 3.0, 12.0])  # flat rows widen past the 256 candidates; peaked ones do not
def test_the_nucleus_without_a_full_sort_draws_what_a_full_sort_draws(scale):
    torch.manual_seed(1)
    logits = torch.randn(16, 5000) * scale
    ours, _ = choose_tokens(logits, [0.8] * 16, [0.9] * 16, [make_generator(i) for i in range(16)])
    reference = _sorted_nucleus(logits, 0.8, 0.9, [make_generator(i) for i in range(16)])
    assert sum(a == b for a, b in zip(ours, reference)) >= 15  # a draw on a rounding boundary may differ


def test_top_k_cuts_to_the_k_most_likely_tokens():
    logits = _logits()
    tokens, _ = choose_tokens(logits, [1.0] * 3, [1.0] * 3, [make_generator(i) for i in range(3)], [1, 1, 1])
    assert tokens == logits.argmax(-1).tolist()
    top3 = logits.topk(3, dim=-1).indices
    for seed in range(50):
        tokens, _ = choose_tokens(logits, [2.0] * 3, [1.0] * 3, [make_generator(seed * 3 + i) for i in range(3)],
                                  [3, 3, 3])
        assert all(t in top3[r].tolist() for r, t in enumerate(tokens))
