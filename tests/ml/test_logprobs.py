import pytest
import torch

from ml.data import tokenize_pairs
from ml.logprobs import completion_logps, pack_rows

from .helpers import adapter_model, marketing_pairs


def plain_logps(model, prompt, completion):
    """The textbook computation: one sequence prompt+completion, full logits, sum over completion tokens."""
    ids = torch.tensor([list(prompt) + list(completion)])
    logits = model(input_ids=ids).logits.float()
    logp = logits[0, :-1].log_softmax(-1).gather(-1, ids[0, 1:, None]).squeeze(-1)
    return logp[len(prompt) - 1 :].sum()


@pytest.fixture(scope="module")
def setup(tiny_base, tokenizer):
    model = adapter_model(tiny_base, perturb=0.05).eval()
    pairs = tokenize_pairs(tokenizer, marketing_pairs(6), max_prompt_tokens=64, max_completion_tokens=16)
    return model, pairs, tokenizer.pad_token_id


def test_prompt_once_matches_two_plain_sequences(setup):
    model, pairs, pad = setup
    with torch.no_grad():
        logps, counts = completion_logps(
            model, pack_rows([(p.prompt_ids, (p.chosen_ids, p.rejected_ids)) for p in pairs], pad_id=pad, device="cpu")
        )
        for i, p in enumerate(pairs):
            assert logps[i, 0].item() == pytest.approx(plain_logps(model, p.prompt_ids, p.chosen_ids).item(), abs=1e-4)
            assert logps[i, 1].item() == pytest.approx(plain_logps(model, p.prompt_ids, p.rejected_ids).item(), abs=1e-4)
            assert counts[i].tolist() == [len(p.chosen_ids), len(p.rejected_ids)]


def test_prompt_tokens_do_not_count(setup):
    model, pairs, pad = setup
    p = pairs[0]
    with torch.no_grad():
        logps, _ = completion_logps(model, pack_rows([(p.prompt_ids, (p.chosen_ids,))], pad_id=pad, device="cpu"))
        whole = plain_logps(model, p.prompt_ids[:1], p.prompt_ids[1:] + p.chosen_ids)
        prompt_only = plain_logps(model, p.prompt_ids[:1], p.prompt_ids[1:])
    assert logps[0, 0].item() == pytest.approx((whole - prompt_only).item(), abs=1e-4)
    assert abs(whole.item() - logps[0, 0].item()) > 1.0


def test_padding_changes_nothing(setup):
    model, pairs, pad = setup
    short = pairs[0]
    longer = (short.prompt_ids * 3, (short.chosen_ids * 2, short.rejected_ids))
    with torch.no_grad():
        alone, _ = completion_logps(model, pack_rows([(short.prompt_ids, (short.chosen_ids, short.rejected_ids))],
                                                     pad_id=pad, device="cpu"))
        padded, _ = completion_logps(model, pack_rows([(short.prompt_ids, (short.chosen_ids, short.rejected_ids)),
                                                       longer], pad_id=pad, device="cpu"))
    assert torch.allclose(alone[0], padded[0], atol=1e-5)


def test_many_completions_score_as_if_alone(setup):
    model, pairs, pad = setup
    p = pairs[1]
    comps = (p.chosen_ids, p.rejected_ids, pairs[2].chosen_ids)
    with torch.no_grad():
        logps, _ = completion_logps(model, pack_rows([(p.prompt_ids, comps)], pad_id=pad, device="cpu"))
        expected = [plain_logps(model, p.prompt_ids, c).item() for c in comps]
    assert logps[0].tolist() == pytest.approx(expected, abs=1e-4)


def test_eager_attention_gives_the_same_logps(setup, tiny_base):
    model, pairs, pad = setup
    batch = pack_rows([(p.prompt_ids, (p.chosen_ids, p.rejected_ids)) for p in pairs[:3]], pad_id=pad, device="cpu")
    with torch.no_grad():
        sdpa, _ = completion_logps(model, batch)
        model.get_base_model().config._attn_implementation = "eager"
        try:
            eager, _ = completion_logps(model, batch)
        finally:
            model.get_base_model().config._attn_implementation = "sdpa"
    assert torch.allclose(sdpa, eager, atol=1e-4)
