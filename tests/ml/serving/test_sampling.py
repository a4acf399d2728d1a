from __future__ import annotations

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
