import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ml.config import LORA_RANKS, TrainConfig, TrainJob
from ml.data import tokenize_pairs
from ml.losses import preference_loss
from ml.train import entropy_shortfall, lr_at, pair_logps, reference_logps, train_dpo

from .helpers import adapter_model, marketing_pairs


def job(base, tmp_path, examples, **cfg):
    return TrainJob(base_model_path=base, examples=tuple(examples), config=TrainConfig(**cfg),
                    output_dir=str(tmp_path / "adapter"), checkpoint_dir=str(tmp_path / "ckpt"))


def test_fresh_adapter_starts_at_log_two_with_a_gradient(tiny_base, tokenizer):
    model = adapter_model(tiny_base)
    pairs = tokenize_pairs(tokenizer, marketing_pairs(4), max_prompt_tokens=64, max_completion_tokens=16)
    ref_c, ref_r = reference_logps(model, pairs, pad_id=tokenizer.pad_token_id, device=torch.device("cpu"),
                                   batch_size=4, disable_adapter=True)
    model.train()
    c, r, _, _, _ = pair_logps(model, pairs, tokenizer.pad_token_id, torch.device("cpu"))
    out = preference_loss(c, r, ref_c, ref_r, beta=0.1, loss_type="sigmoid")
    assert out.loss.item() == pytest.approx(math.log(2), abs=1e-6)
    assert out.chosen_rewards.abs().max().item() < 1e-6 and out.rejected_rewards.abs().max().item() < 1e-6
    out.loss.backward()
    grads = [p.grad.abs().sum().item() for n, p in model.named_parameters() if "lora_B" in n]
    assert sum(grads) > 0


def test_separable_preference_is_learned_and_reference_stays_fixed(tiny_base, tmp_path):
    examples = marketing_pairs(48, holdout=16)
    seen = []
    result = train_dpo(job(tiny_base, tmp_path, examples, max_steps=30, batch_size=48, lr=5e-3, beta=0.1,
                           rpo_alpha=0.0), progress=seen.append)
    assert result.holdout["reward_accuracy"] >= 0.9 and result.holdout["reward_margin"] > 0
    assert [r["step"] for r in seen] == list(range(1, 31)) and seen[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert seen[-1]["loss"] < seen[0]["loss"]
    # One batch holds every train pair, so logp_policy - reward / beta is the mean reference log-prob at every step.
    refs = [r["logps_chosen"] - r["rewards_chosen"] / 0.1 for r in seen]
    assert max(refs) - min(refs) < 1e-3 and seen[-1]["rewards_chosen"] != 0
    assert {"grad_norm", "lr", "tokens_per_s", "reward_margin", "logps_rejected"} <= set(seen[-1])


def test_rpo_keeps_the_winners_likely_while_learning_the_preference(tiny_base, tmp_path):
    examples = marketing_pairs(48, holdout=16)
    common = {"max_steps": 30, "batch_size": 48, "lr": 5e-3, "beta": 0.1}
    plain = train_dpo(job(tiny_base, tmp_path / "plain", examples, rpo_alpha=0.0, **common)).holdout
    rpo = train_dpo(job(tiny_base, tmp_path / "rpo", examples, rpo_alpha=1.0, **common)).holdout
    assert rpo["reward_accuracy"] >= 0.9
    # DPO alone may widen the margin by pushing the winners down too; with the NLL term they rise.
    assert rpo["rewards_chosen"] > 0 and rpo["rewards_chosen"] > plain["rewards_chosen"]
    assert rpo["chosen_logps_mean"] > plain["chosen_logps_mean"]


def test_pairs_not_to_imitate_train_without_the_nll_term(tiny_base, tmp_path):
    """A rule repair's chosen text is an edit: with imitate=False, rpo_alpha leaves its pair plain DPO."""
    examples = marketing_pairs(24, holdout=8)
    edits = [replace(e, imitate=False) if e.split == "train" else e for e in examples]
    common = {"max_steps": 8, "batch_size": 8, "lr": 5e-3, "beta": 0.1}
    plain = train_dpo(job(tiny_base, tmp_path / "plain", examples, rpo_alpha=0.0, **common)).holdout
    masked = train_dpo(job(tiny_base, tmp_path / "masked", edits, rpo_alpha=1.0, **common)).holdout
    rpo = train_dpo(job(tiny_base, tmp_path / "rpo", examples, rpo_alpha=1.0, **common)).holdout
    assert masked["rewards_chosen"] == pytest.approx(plain["rewards_chosen"], abs=1e-5)
    assert masked["chosen_logps_mean"] == pytest.approx(plain["chosen_logps_mean"], abs=1e-4)
    assert abs(rpo["chosen_logps_mean"] - plain["chosen_logps_mean"]) > 1e-2  # the term does move the policy


def test_entropy_floor_costs_nothing_at_the_reference_and_records_its_entropies(tiny_base, tmp_path):
    examples = marketing_pairs(24, holdout=8)
    common = {"max_steps": 3, "batch_size": 8, "lr": 5e-3, "beta": 0.1, "rpo_alpha": 1.0}
    seen = []
    plain = train_dpo(job(tiny_base, tmp_path / "plain", examples, **common)).history
    floored = train_dpo(job(tiny_base, tmp_path / "floor", examples, entropy_floor=5.0, checkpoint_every=1, **common),
                        progress=seen.append)
    assert floored.steps == 3 and seen[0]["loss"] == pytest.approx(plain[0]["loss"], abs=1e-5)  # policy == reference
    reference = load_file(str(next((tmp_path / "floor" / "ckpt").iterdir()) / "reference_logps.safetensors"))
    assert reference["train_entropy"].shape[:2] == (24, 2) and reference["train_entropy"].max() > 0


def test_entropy_floor_keeps_a_distribution_from_collapsing_onto_the_imitated_token():
    """The NLL term alone drives one position's distribution onto the winner's token; with the floor the
    position stays about as uncertain as the reference was, and the winner still becomes the likeliest."""
    from ml.logprobs import pack_rows, target_logps

    batch = pack_rows([((1,), ((3,), (5,)))], pad_id=0, device="cpu")
    reference = torch.zeros(1, 2, 8)
    _, _, ref_entropy = target_logps(reference, batch, entropies=True)

    def train(floor: float) -> tuple[float, int]:
        logits = torch.zeros(1, 2, 8, requires_grad=True)
        optimizer = torch.optim.Adam([logits], lr=0.1)
        for _ in range(300):
            logps, counts, entropy = target_logps(logits, batch, entropies=True)
            out = preference_loss(logps[:, 0], logps[:, 1], logps[:, 0].detach(), logps[:, 1].detach(), beta=0.1,
                                  loss_type="sigmoid", chosen_tokens=counts[:, 0], rejected_tokens=counts[:, 1],
                                  rpo_alpha=1.0, entropy_floor=floor,
                                  entropy_shortfall=entropy_shortfall(entropy, ref_entropy, counts.sum(-1)))
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
        _, _, entropy = target_logps(logits.detach(), batch, entropies=True)
        return entropy[0, 0, 0].item(), int(logits[0, 0].argmax())

    base = ref_entropy[0, 0, 0].item()
    collapsed, kept = train(0.0), train(2.0)
    assert collapsed[0] < 0.1 * base and collapsed[1] == 3
    assert kept[0] > 0.6 * base and kept[1] == 3


def test_entropy_shortfall_counts_only_positions_that_lost_entropy():
    policy = torch.tensor([[[1.0, 2.0, 0.0], [0.5, 0.0, 0.0]]])
    reference = torch.tensor([[[1.5, 1.0, 0.0, 9.0], [0.5, 0.0, 0.0, 9.0]]])  # wider: the split's longest text
    assert entropy_shortfall(policy, reference, torch.tensor([3.0])).tolist() == [pytest.approx(0.5 / 3)]


def test_adapter_is_plain_peft_lora(tiny_base, tmp_path):
    from peft import PeftModel

    from ml.adapters import load_base_model

    result = train_dpo(job(tiny_base, tmp_path, marketing_pairs(8), max_steps=2, batch_size=4, lr=1e-2, lora_rank=8))
    folder = Path(result.adapter_dir)
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".json", ".safetensors")) == [
        "adapter_config.json", "adapter_model.safetensors"]
    cfg = json.loads((folder / "adapter_config.json").read_text())
    assert cfg["base_model_name_or_path"] == tiny_base and not cfg["modules_to_save"] and cfg["r"] in LORA_RANKS
    assert set(cfg["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    loaded = PeftModel.from_pretrained(load_base_model(tiny_base, torch.device("cpu")), str(folder))
    saved = load_file(str(folder / "adapter_model.safetensors"))
    assert any(v.abs().sum() > 0 for k, v in saved.items() if "lora_B" in k)
    assert sum(1 for n, _ in loaded.named_parameters() if "lora_" in n) == len(saved)


def test_continuing_a_parent_uses_it_as_reference(tiny_base, tmp_path):
    examples = marketing_pairs(8)
    first = train_dpo(job(tiny_base, tmp_path / "a", examples, max_steps=3, batch_size=8, lr=1e-2, lora_rank=8))
    second = train_dpo(TrainJob(base_model_path=tiny_base, examples=tuple(examples),
                                config=TrainConfig(max_steps=1, batch_size=8, lora_rank=8, rpo_alpha=0.0),
                                output_dir=str(tmp_path / "b"), parent_adapter_path=first.adapter_dir))
    # The parent's rewards against the base were non-zero; against itself they start at zero.
    assert first.history[-1]["reward_margin"] != 0
    assert second.history[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert second.history[0]["rewards_chosen"] == pytest.approx(0.0, abs=1e-6)


def test_checkpoint_kill_resume_matches_uninterrupted_run(tiny_base, tmp_path):
    examples = marketing_pairs(24)
    cfg = {"max_steps": 6, "batch_size": 4, "grad_accum": 2, "lr": 1e-2, "warmup_steps": 2, "lora_rank": 8, "lora_dropout": 0.1,
               "checkpoint_every": 3}
    whole = train_dpo(job(tiny_base, tmp_path / "whole", examples, **cfg))

    def kill_after_step_4(record):
        if record["step"] == 4:
            raise KeyboardInterrupt

    killed = job(tiny_base, tmp_path / "killed", examples, **cfg)
    with pytest.raises(KeyboardInterrupt):
        train_dpo(killed, progress=kill_after_step_4)
    assert sorted(p.name for p in Path(killed.checkpoint_dir).iterdir()) == ["step-000003"]
    resumed = train_dpo(TrainJob(**{**killed.__dict__, "resume_from": "latest"}))
    a = load_file(str(Path(whole.adapter_dir) / "adapter_model.safetensors"))
    b = load_file(str(Path(resumed.adapter_dir) / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert [h["loss"] for h in resumed.history] == pytest.approx([h["loss"] for h in whole.history], abs=1e-6)
    state = json.loads((Path(killed.checkpoint_dir) / "step-000006" / "state.json").read_text())
    assert state["step"] == 6 and state["micro_batches"] == 12 and len(state["history"]) == 6


def test_cancel_between_steps_returns_cancelled(tiny_base, tmp_path):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    result = train_dpo(job(tiny_base, tmp_path, marketing_pairs(8), max_steps=10, batch_size=2), should_cancel=cancel)
    assert result.cancelled and result.steps == 2 and result.adapter_dir is None
    assert result.checkpoint_dir and Path(result.checkpoint_dir, "state.json").exists()


def test_lr_schedule_warms_up_then_decays():
    cfg = TrainConfig(lr=1.0, warmup_steps=4)
    lrs = [lr_at(s, cfg, 20) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0] and lrs[4] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[3:])) and lrs[-1] < 0.05


def test_swapping_chosen_and_rejected_flips_model_margins(tiny_base, tokenizer):
    from dataclasses import replace

    model = adapter_model(tiny_base, perturb=0.05)
    cpu, pad = torch.device("cpu"), tokenizer.pad_token_id
    pairs = tokenize_pairs(tokenizer, marketing_pairs(4), max_prompt_tokens=64, max_completion_tokens=16)
    swapped = [replace(p, chosen_ids=p.rejected_ids, rejected_ids=p.chosen_ids) for p in pairs]

    def margins(batch):
        ref_c, ref_r = reference_logps(model, batch, pad_id=pad, device=cpu, batch_size=4, disable_adapter=True)
        with torch.no_grad():
            c, r, _, _, _ = pair_logps(model, batch, pad, cpu)
        out = preference_loss(c, r, ref_c, ref_r, beta=0.1, loss_type="sigmoid")
        return out.chosen_rewards - out.rejected_rewards

    m = margins(pairs)
    assert m.abs().min() > 0 and torch.allclose(margins(swapped), -m, atol=1e-6)


def test_resume_refuses_a_different_config(tiny_base, tmp_path):
    examples = marketing_pairs(8)
    first = train_dpo(job(tiny_base, tmp_path, examples, max_steps=2, batch_size=4, checkpoint_every=2))
    changed = job(tiny_base, tmp_path, examples, max_steps=2, batch_size=4, checkpoint_every=2, beta=0.5)
    with pytest.raises(ValueError, match="beta"):
        train_dpo(TrainJob(**{**changed.__dict__, "resume_from": first.checkpoint_dir}))


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_accumulated_uneven_micro_batches_equal_one_batch_of_them_all(tiny_base, tmp_path, loss_type):
    """Micro-batches of 3 and 2 weighted pairs, accumulated, give the step of one batch of 5: same loss, same
    gradient norm, same weights after. A per-micro-batch mean would weigh the pairs of the smaller one more."""
    weights = [0.2, 3.0, 1.0, 0.5, 2.5]
    examples = [replace(e, weight=w) for e, w in zip(marketing_pairs(5), weights, strict=True)]
    common = {"max_steps": 2, "lr": 5e-3, "beta": 0.1, "loss_type": loss_type, "lora_dropout": 0.0}
    split = train_dpo(job(tiny_base, tmp_path / "split", examples, batch_size=3, grad_accum=2, **common))
    whole = train_dpo(job(tiny_base, tmp_path / "whole", examples, batch_size=5, grad_accum=1, **common))
    for a, b in zip(split.history, whole.history, strict=True):
        assert a["grad_norm"] > 0
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    split_w = load_file(str(Path(split.adapter_dir) / "adapter_model.safetensors"))
    whole_w = load_file(str(Path(whole.adapter_dir) / "adapter_model.safetensors"))
    for name, tensor in whole_w.items():
        torch.testing.assert_close(split_w[name], tensor, rtol=1e-4, atol=1e-6)
