"""DPO-family losses on summed completion log-probs.

With h = (logp_policy(chosen) - logp_ref(chosen)) - (logp_policy(rejected) - logp_ref(rejected)):

- sigmoid (DPO):          -log sigma(beta h)
- ipo:                    (h' - 1 / (2 beta))^2, where h' uses per-token means of the log-ratios
                          (TRL's normalisation, confirmed by the IPO authors)
- hinge (SLiC):           max(0, 1 - beta h)
- cdpo (conservative DPO): -(1 - eps) log sigma(beta h) - eps log sigma(-beta h); the labels are
                          trusted with probability 1 - eps (both terms, not only the first)
- robust (rDPO):          [-(1 - eps) log sigma(beta h) + eps log sigma(-beta h)] / (1 - 2 eps), the
                          unbiased estimator under label-flip rate eps (Chowdhury et al., 2024)

Any of them may measure the log-ratios through an f-divergence other than DPO's reverse KL (Wang
et al., 2023, "Beyond Reverse KL"; TRL's `f_divergence_type`): each side's log-ratio r = logp_policy -
logp_ref enters h as f'(exp r). "js_divergence": f'(t) = log(2t / (1 + t)) = log 2 + log sigma(r),
which saturates at log 2 as r grows, so the loss stops rewarding a winner made ever more likely and
keeps the reference's other modes: the reverse KL's mode-seeking is what narrows copy trained on
winners that share one pattern. The rewards reported stay beta * r either way.

Any of them may add RPO's NLL term (Pang et al., 2024; TRL's `rpo_alpha`): alpha times the chosen
text's mean per-token negative log-likelihood under the policy, for the pairs `imitate` marks (all
of them when it is None; a rule repair's chosen text is an edit, not a winner to imitate). DPO
alone only widens the gap between chosen and rejected, and on small or noisy data it does so by
pushing both down until the model forgets how to write ("likelihood displacement"); the NLL term
keeps the winners likely.

An entropy floor (`entropy_floor`) adds, per pair, that weight times the mean over both texts'
positions of relu(H_ref - H_policy), the next-token entropy the policy lost against the reference.
The NLL term imitates the winners, and winners that share a few phrasings teach the model to say
only those; the floor lets a position become more certain than the base model only at a price,
and costs nothing where the policy is as uncertain as the reference was.

Per-pair evidence weights enter as a weighted mean: sum(w * loss) / sum(w). Under gradient
accumulation the denominator is the whole optimizer step's sum(w) (`weight_total`), so k
micro-batches give the gradient of one batch k times larger, however uneven they are.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LossOutput:
    """The loss and the per-pair quantities reported as metrics."""

    loss: torch.Tensor  # scalar, weighted mean over pairs
    per_pair: torch.Tensor  # (B,) unweighted losses
    chosen_rewards: torch.Tensor  # (B,) beta * (logp_policy - logp_ref) of chosen, detached
    rejected_rewards: torch.Tensor  # (B,) same for rejected, detached


def preference_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    ref_chosen: torch.Tensor,
    ref_rejected: torch.Tensor,
    *,
    beta: float,
    loss_type: str,
    label_smoothing: float = 0.0,
    weights: torch.Tensor | None = None,
    chosen_tokens: torch.Tensor | None = None,
    rejected_tokens: torch.Tensor | None = None,
    rpo_alpha: float = 0.0,
    imitate: torch.Tensor | None = None,
    weight_total: float | None = None,
    f_divergence: str = "reverse_kl",
    entropy_floor: float = 0.0,
    entropy_shortfall: torch.Tensor | None = None,
) -> LossOutput:
    """Loss for a batch of pairs; `*_tokens` (completion lengths) are needed by "ipo" and by `rpo_alpha`.

    `weight_total`: the denominator of the weighted mean when this batch is one micro-batch of a
    larger step (the step's total weight); None means this batch's own total."""
    chosen_ratio = policy_chosen - ref_chosen
    rejected_ratio = policy_rejected - ref_rejected
    chosen_score, rejected_score = _scores(chosen_ratio, f_divergence), _scores(rejected_ratio, f_divergence)
    logits = beta * (chosen_score - rejected_score)
    eps = label_smoothing
    if loss_type == "sigmoid":
        per_pair = -F.logsigmoid(logits)
    elif loss_type == "hinge":
        per_pair = torch.relu(1 - logits)
    elif loss_type == "ipo":
        if chosen_tokens is None or rejected_tokens is None:
            raise ValueError("ipo needs completion token counts")
        delta = chosen_score / chosen_tokens.clamp(min=1) - rejected_score / rejected_tokens.clamp(min=1)
        per_pair = (delta - 1 / (2 * beta)) ** 2
    elif loss_type == "cdpo":
        per_pair = -(1 - eps) * F.logsigmoid(logits) - eps * F.logsigmoid(-logits)
    elif loss_type == "robust":
        per_pair = (-(1 - eps) * F.logsigmoid(logits) + eps * F.logsigmoid(-logits)) / (1 - 2 * eps)
    else:
        raise ValueError(f"unknown loss_type {loss_type!r}")
    if rpo_alpha:
        if chosen_tokens is None:
            raise ValueError("rpo_alpha needs completion token counts")
        nll = -policy_chosen / chosen_tokens.clamp(min=1)
        if imitate is not None:
            nll = nll * imitate.to(nll.dtype)
        per_pair = per_pair + rpo_alpha * nll
    if entropy_floor:
        if entropy_shortfall is None:
            raise ValueError("entropy_floor needs the entropy shortfall")
        per_pair = per_pair + entropy_floor * entropy_shortfall
    weights = torch.ones_like(per_pair) if weights is None else weights.to(per_pair.dtype)
    total = weights.sum() if weight_total is None else torch.as_tensor(weight_total, dtype=per_pair.dtype)
    loss = (weights * per_pair).sum() / total.clamp(min=1e-12)
    return LossOutput(
        loss=loss,
        per_pair=per_pair.detach(),
        chosen_rewards=(beta * chosen_ratio).detach(),
        rejected_rewards=(beta * rejected_ratio).detach(),
    )


def _scores(ratio: torch.Tensor, f_divergence: str) -> torch.Tensor:
    """f'(exp r) of the log-ratios r: r itself for the reverse KL (plain DPO)."""
    if f_divergence == "reverse_kl":
        return ratio
    if f_divergence == "js_divergence":
        return math.log(2) + F.logsigmoid(ratio)
    raise ValueError(f"unknown f_divergence {f_divergence!r}")
