"""Our loss and rewards against TRL's DPOTrainer on the same model and batch (TRL is a test dependency only)."""
import pytest
import torch

from ml.adapters import load_base_model, lora_targets
from ml.data import tokenize_pairs
from ml.losses import preference_loss
from ml.train import pair_logps, reference_logps

from .helpers import marketing_pairs

pytest.importorskip("trl")


@pytest.mark.parametrize("loss_type,smoothing,divergence", [
    ("sigmoid", 0.0, "reverse_kl"), ("ipo", 0.0, "reverse_kl"), ("hinge", 0.0, "reverse_kl"), ("robust", 0.1, "reverse_kl"),
    ("sigmoid", 0.0, "js_divergence"), ("ipo", 0.0, "js_divergence"),
])
def test_loss_and_rewards_match_trl(tiny_base, tokenizer, tmp_path, loss_type, smoothing, divergence):
    from datasets import Dataset
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer

    examples = marketing_pairs(6)
    # TRL adds no BOS for a tokenizer that does not; spelling it in the text gives it the same ids as ours.
    data = Dataset.from_list([{"prompt": "<s>" + e.prompt, "chosen": e.chosen, "rejected": e.rejected}
                              for e in examples])
    args = DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=6, beta=0.1, loss_type=[loss_type],
                     label_smoothing=smoothing, f_divergence_type=divergence, report_to=[], use_cpu=True, bf16=False, max_length=None,
                     dataset_num_proc=None, seed=0)
    base = load_base_model(tiny_base, torch.device("cpu"))
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=lora_targets(base)[0], task_type="CAUSAL_LM")
    trainer = DPOTrainer(model=base, args=args, train_dataset=data,
                         processing_class=tokenizer, peft_config=lora)
    model = trainer.model
    with torch.no_grad():  # move the policy off the reference so rewards are not trivially zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.05)
    rows = [trainer.train_dataset[i] for i in range(len(examples))]
    pairs = tokenize_pairs(tokenizer, examples, max_prompt_tokens=512, max_completion_tokens=128)
    for row, pair in zip(rows, pairs):
        assert (tuple(row["prompt_ids"]), tuple(row["chosen_ids"]), tuple(row["rejected_ids"])) == (
            pair.prompt_ids, pair.chosen_ids, pair.rejected_ids)

    trainer.model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(trainer.model, trainer.data_collator(rows)).item()
    metrics = {k: v[-1] for k, v in trainer._metrics["eval"].items()}

    cpu = torch.device("cpu")
    ref_c, ref_r = reference_logps(model, pairs, pad_id=tokenizer.pad_token_id, device=cpu, batch_size=6,
                                   disable_adapter=True)
    with torch.no_grad():
        c, r, nc, nr, _ = pair_logps(model, pairs, tokenizer.pad_token_id, cpu)
        ours = preference_loss(c, r, ref_c, ref_r, beta=0.1, loss_type=loss_type, label_smoothing=smoothing,
                               f_divergence=divergence, chosen_tokens=nc, rejected_tokens=nr)
    assert ours.loss.item() == pytest.approx(trl_loss, abs=1e-5)
    assert ours.chosen_rewards.mean().item() == pytest.approx(metrics["rewards/chosen"], abs=1e-5)
    assert ours.rejected_rewards.mean().item() == pytest.approx(metrics["rewards/rejected"], abs=1e-5)
    assert c.mean().item() == pytest.approx(metrics["logps/chosen"], abs=1e-4)
    assert abs(metrics["rewards/margins"]) > 1e-4
