"""LoRA DPO training: `train_dpo(job, progress, should_cancel) -> TrainResult`.

The loop is written out in one function, top to bottom: tokenise, compute the reference
log-probs once, then for each optimizer step: micro-batches (forward, loss, backward),
clip, step, report, checkpoint, check for cancellation. Evaluate the holdout, publish.

The reference model is never a second copy of the weights. For a fresh adapter it is the
base with the adapter disabled; when continuing a parent adapter it is that adapter as
loaded, before any update (the policy at step 0). Either way its log-probs are computed
once per dataset, cached for every epoch, and stored in checkpoints so a resumed run uses
exactly the same values.

Cancellation: `should_cancel()` is checked between optimizer steps; when it answers True
the run writes a checkpoint (if `checkpoint_dir` is set) and returns a `TrainResult` with
`cancelled=True` and `adapter_dir=None`. No exception is raised.

CLI, for a bare GPU box:
    python -m ml.train --examples pairs.jsonl --base BASE_DIR --out ADAPTER_DIR [options]
`pairs.jsonl` holds one {"prompt", "chosen", "rejected", "weight"?, "split"?, "imitate"?} object a line.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, fields

import torch

from ml.adapters import (
    attach_adapter,
    load_base_model,
    load_tokenizer,
    pick_device,
    save_adapter,
)
from ml.checkpoint import (
    TrainingState,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from ml.config import PreferenceExample, TrainConfig, TrainJob, TrainResult
from ml.data import Codec, TokenizedPair, epoch_batches, sorted_batches, tokenize_pairs
from ml.logprobs import autocast_for, completion_logps, pack_rows
from ml.losses import preference_loss


def lr_at(step: int, config: TrainConfig, total_steps: int) -> float:
    """Learning rate for optimizer step `step` (0-based): linear warm-up, then the configured decay."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if config.lr_schedule == "constant":
        return config.lr
    progress = (step - config.warmup_steps) / max(1, total_steps - config.warmup_steps)
    if config.lr_schedule == "linear":
        return config.lr * max(0.0, 1.0 - progress)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _imitate(pairs: list[TokenizedPair], device: torch.device) -> torch.Tensor | None:
    """The batch's NLL mask for `rpo_alpha`, or None when every chosen text is one to imitate."""
    if all(p.imitate for p in pairs):
        return None
    return torch.tensor([p.imitate for p in pairs], device=device)


def pair_logps(model, pairs: list[TokenizedPair], pad_id: int, device: torch.device, *, entropies: bool = False):
    """Policy (or reference) log-probs of chosen and rejected, and their token counts, for one batch; with
    `entropies`, also each position's next-token entropy (B, 2, T) last."""
    batch = pack_rows([(p.prompt_ids, (p.chosen_ids, p.rejected_ids)) for p in pairs], pad_id=pad_id, device=device)
    with autocast_for(device):
        logps, counts, *entropy = completion_logps(model, batch, entropies=entropies)
    return (logps[:, 0], logps[:, 1], counts[:, 0], counts[:, 1], batch.n_tokens, *entropy)


def entropy_width(pairs: list[TokenizedPair]) -> int:
    """Completion positions to keep per text for the entropy floor (the longest text of the split)."""
    return max((max(len(p.chosen_ids), len(p.rejected_ids)) for p in pairs), default=1)


def entropy_shortfall(policy: torch.Tensor, reference: torch.Tensor, mask_counts: torch.Tensor) -> torch.Tensor:
    """(B,) mean over both texts' positions of how far the policy's entropy fell below the reference's
    (`TrainConfig.entropy_floor`); positions where the policy is as uncertain as the reference cost nothing."""
    width = policy.shape[-1]
    shortfall = torch.relu(reference[..., :width] - policy)
    return shortfall.sum((1, 2)) / mask_counts.clamp(min=1)


@torch.no_grad()
def reference_logps(model, pairs: list[TokenizedPair], *, pad_id: int, device: torch.device, batch_size: int,
                    disable_adapter: bool, entropies: bool = False) -> tuple[torch.Tensor, ...]:
    """Reference log-probs of every pair, indexed by `pair.index`; with `entropies`, also the reference's
    next-token entropy at every position of both texts, (N, 2, entropy_width(pairs))."""
    chosen = torch.zeros(len(pairs), device=device)
    rejected = torch.zeros(len(pairs), device=device)
    entropy = torch.zeros((len(pairs), 2, entropy_width(pairs)), device=device) if entropies else None
    model.eval()
    ctx = model.disable_adapter() if disable_adapter else contextlib.nullcontext()
    with ctx:
        for batch in sorted_batches(pairs, batch_size):
            idx = torch.tensor([p.index for p in batch], device=device)
            c, r, _, _, _, *h = pair_logps(model, batch, pad_id, device, entropies=entropies)
            chosen[idx], rejected[idx] = c, r
            if entropies:
                entropy[idx, :, : h[0].shape[-1]] = h[0]
    return (chosen, rejected) if entropy is None else (chosen, rejected, entropy)


@torch.no_grad()
def evaluate(model, pairs: list[TokenizedPair], ref_chosen: torch.Tensor, ref_rejected: torch.Tensor, *,
             config: TrainConfig, pad_id: int, device: torch.device) -> dict:
    """Reward accuracy, margin and log-prob means of the policy on `pairs` ({} when there are none)."""
    if not pairs:
        return {}
    model.eval()
    rows = []
    for batch in sorted_batches(pairs, config.batch_size):
        idx = torch.tensor([p.index for p in batch], device=device)
        c, r, nc, nr, _ = pair_logps(model, batch, pad_id, device)
        out = preference_loss(c, r, ref_chosen[idx], ref_rejected[idx], beta=config.beta, loss_type=config.loss_type,
                              label_smoothing=config.label_smoothing, f_divergence=config.f_divergence,
                              chosen_tokens=nc, rejected_tokens=nr,
                              rpo_alpha=config.rpo_alpha, imitate=_imitate(batch, device))
        rows.append(torch.stack([out.per_pair, out.chosen_rewards, out.rejected_rewards, c.float(), r.float()], 1))
    loss, chosen_rw, rejected_rw, chosen_lp, rejected_lp = torch.cat(rows).T
    margins = chosen_rw - rejected_rw
    return {
        "pairs": len(pairs),
        "loss": loss.mean().item(),
        "reward_accuracy": (margins > 0).float().mean().item(),
        "reward_margin": margins.mean().item(),
        "rewards_chosen": chosen_rw.mean().item(),
        "rewards_rejected": rejected_rw.mean().item(),
        "chosen_logps_mean": chosen_lp.mean().item(),
        "rejected_logps_mean": rejected_lp.mean().item(),
    }


def train_dpo(job: TrainJob, progress: Callable[[dict], None] | None = None,
              should_cancel: Callable[[], bool] | None = None) -> TrainResult:
    """Train a LoRA adapter with DPO on `job.examples` and publish it to `job.output_dir`.

    `progress` receives one dict per optimizer step with: step, total_steps, epoch, loss,
    reward_accuracy, rewards_chosen, rewards_rejected, reward_margin, logps_chosen,
    logps_rejected, grad_norm, lr, step_s (the step's wall time), tokens_per_s, pairs_per_s,
    elapsed_s, and on evaluation steps `holdout_*` keys. See the module docstring for cancellation and the reference.
    """
    cfg = job.config
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    tokenizer = load_tokenizer(job.base_model_path)
    pad_id = Codec.of(tokenizer).pad_id
    model = attach_adapter(load_base_model(job.base_model_path, device), cfg, base_model_path=job.base_model_path,
                           parent_adapter_path=job.parent_adapter_path)
    budget = {"max_prompt_tokens": cfg.max_prompt_tokens, "max_completion_tokens": cfg.max_completion_tokens}
    train_pairs = tokenize_pairs(tokenizer, [e for e in job.examples if e.split == "train"], **budget)
    holdout_pairs = tokenize_pairs(tokenizer, [e for e in job.examples if e.split == "holdout"], **budget)
    if not train_pairs:
        raise ValueError("no train pairs")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n_batches = math.ceil(len(train_pairs) / cfg.batch_size)
    total_steps = cfg.max_steps or cfg.epochs * math.ceil(n_batches / cfg.grad_accum)

    resume = job.resume_from
    if resume == "latest":
        found = latest_checkpoint(job.checkpoint_dir) if job.checkpoint_dir else None
        resume = str(found) if found else None
    if resume:
        state, reference = load_checkpoint(resume, model=model, optimizer=optimizer, device=device, config=cfg)
    else:
        state = TrainingState(step=0, micro_batches=0, history=[])
        fresh = job.parent_adapter_path is None
        ref_kw = {"pad_id": pad_id, "device": device, "batch_size": cfg.batch_size, "disable_adapter": fresh}
        tc, tr, *th = reference_logps(model, train_pairs, entropies=cfg.entropy_floor > 0, **ref_kw)
        hc, hr = reference_logps(model, holdout_pairs, **ref_kw)
        reference = {"train_chosen": tc, "train_rejected": tr, "holdout_chosen": hc, "holdout_rejected": hr}
        if th:
            reference["train_entropy"] = th[0]
        # The dropout stream starts from a known state whatever the reference pass consumed.
        torch.manual_seed(cfg.seed + 1)

    def checkpoint() -> str | None:
        if not job.checkpoint_dir:
            return None
        return str(save_checkpoint(job.checkpoint_dir, model=model, optimizer=optimizer, reference=reference,
                                   state=state, config=cfg, base_model_path=job.base_model_path))

    last_ckpt = None
    epoch_cache: dict[int, list[list[TokenizedPair]]] = {}
    started = time.perf_counter()
    while state.step < total_steps:
        if should_cancel is not None and should_cancel():
            return TrainResult(adapter_dir=None, steps=state.step, history=state.history, cancelled=True,
                               checkpoint_dir=checkpoint() or last_ckpt)
        model.train()
        t0 = time.perf_counter()
        lr = lr_at(state.step, cfg, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        stats, step_loss, n_tokens, n_pairs = [], 0.0, 0, 0
        micro = []
        for _ in range(cfg.grad_accum):
            epoch, pos = divmod(state.micro_batches, n_batches)
            if epoch not in epoch_cache:
                epoch_cache.clear()
                epoch_cache[epoch] = epoch_batches(train_pairs, batch_size=cfg.batch_size, seed=cfg.seed, epoch=epoch,
                                                   bucket_size=cfg.bucket_size)
            micro.append(epoch_cache[epoch][pos])
            state.micro_batches += 1
        # Each micro-batch's weighted sum over the step's total weight: the accumulated gradient is the one
        # of a single batch holding all of them (a per-micro-batch mean would reweight uneven ones).
        step_weight = sum(p.weight for batch in micro for p in batch)
        for batch in micro:
            idx = torch.tensor([p.index for p in batch], device=device)
            c, r, nc, nr, tokens, *h = pair_logps(model, batch, pad_id, device, entropies=cfg.entropy_floor > 0)
            shortfall = entropy_shortfall(h[0], reference["train_entropy"][idx], nc + nr) if h else None
            out = preference_loss(c, r, reference["train_chosen"][idx], reference["train_rejected"][idx],
                                  beta=cfg.beta, loss_type=cfg.loss_type, label_smoothing=cfg.label_smoothing,
                                  f_divergence=cfg.f_divergence,
                                  weights=torch.tensor([p.weight for p in batch], device=device),
                                  chosen_tokens=nc, rejected_tokens=nr, rpo_alpha=cfg.rpo_alpha,
                                  imitate=_imitate(batch, device), weight_total=step_weight,
                                  entropy_floor=cfg.entropy_floor, entropy_shortfall=shortfall)
            out.loss.backward()
            stats.append(torch.stack([out.chosen_rewards, out.rejected_rewards, c.detach(), r.detach()], 1))
            step_loss += out.loss.item()
            n_tokens += tokens
            n_pairs += len(batch)
        # clip_grad_norm_ with max_norm=inf only measures the norm.
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else math.inf)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        chosen_rw, rejected_rw, chosen_lp, rejected_lp = torch.cat(stats).T
        margins = chosen_rw - rejected_rw
        record = {
            "step": state.step, "total_steps": total_steps, "epoch": state.micro_batches / n_batches,
            "loss": step_loss, "reward_accuracy": (margins > 0).float().mean().item(),
            "rewards_chosen": chosen_rw.mean().item(), "rewards_rejected": rejected_rw.mean().item(),
            "reward_margin": margins.mean().item(), "logps_chosen": chosen_lp.mean().item(),
            "logps_rejected": rejected_lp.mean().item(), "grad_norm": float(grad_norm), "lr": lr,
            "step_s": dt, "tokens_per_s": n_tokens / dt, "pairs_per_s": n_pairs / dt,
            "elapsed_s": time.perf_counter() - started,
        }
        if cfg.eval_every and state.step % cfg.eval_every == 0 and state.step < total_steps:
            held = evaluate(model, holdout_pairs, reference["holdout_chosen"], reference["holdout_rejected"],
                            config=cfg, pad_id=pad_id, device=device)
            record.update({f"holdout_{k}": v for k, v in held.items()})
        state.history.append(record)
        if progress is not None:
            progress(record)
        if cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0:
            last_ckpt = checkpoint() or last_ckpt

    holdout = evaluate(model, holdout_pairs, reference["holdout_chosen"], reference["holdout_rejected"], config=cfg,
                       pad_id=pad_id, device=device)
    adapter_dir = save_adapter(model, job.output_dir, base_model_path=job.base_model_path)
    return TrainResult(adapter_dir=str(adapter_dir), steps=state.step, history=state.history, holdout=holdout,
                       cancelled=False, checkpoint_dir=last_ckpt)


def load_examples(path: str) -> tuple[PreferenceExample, ...]:
    """Read pairs from a JSONL file; keys other than PreferenceExample's fields (ids, ...) are ignored."""
    keys = {f.name for f in fields(PreferenceExample)}
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return tuple(PreferenceExample(**{k: v for k, v in row.items() if k in keys}) for row in rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LoRA DPO training on a JSONL file of preference pairs.")
    parser.add_argument("--examples", required=True)
    parser.add_argument("--base", required=True, help="base model directory")
    parser.add_argument("--out", required=True, help="adapter output directory")
    parser.add_argument("--parent", default=None, help="parent adapter to continue (also the reference)")
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--resume", default=None, help="checkpoint directory, or 'latest' in --checkpoint-dir")
    defaults = TrainConfig()
    for f in fields(TrainConfig):
        if f.name == "target_modules":
            parser.add_argument("--target-modules", default=",".join(defaults.target_modules))
            continue
        value = getattr(defaults, f.name)
        kind = {bool: int, type(None): None}.get(type(value), type(value))
        if f.name == "max_steps":
            kind = int
        if f.name == "device":
            kind = str
        parser.add_argument("--" + f.name.replace("_", "-"), type=kind, default=value)
    args = parser.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig)}
    values["target_modules"] = tuple(m for m in args.target_modules.split(",") if m)
    job = TrainJob(base_model_path=args.base, examples=load_examples(args.examples), config=TrainConfig(**values),
                   output_dir=args.out, parent_adapter_path=args.parent, checkpoint_dir=args.checkpoint_dir,
                   resume_from=args.resume)
    result = train_dpo(job, progress=lambda rec: print(json.dumps(rec), file=sys.stderr, flush=True))
    print(json.dumps({k: v for k, v in asdict(result).items() if k != "history"}))


if __name__ == "__main__":
    main()
