"""A model card per adapter version: what it was trained on, how, how it scored, and what it is for."""
from __future__ import annotations

import json

_KEEP = ("loss", "reward_accuracy", "reward_margin", "logps_chosen", "logps_rejected")


def render_model_card(*, brand_name: str, version: int, base_model_id: str, data_summary: dict,
                      hyperparameters: dict, holdout: dict, history: list[dict], gate: dict) -> str:
    """Markdown text; every figure comes from the run that produced the adapter."""
    last = history[-1] if history else {}
    lines = [
        f"# {brand_name} copy adapter v{version}",
        "",
        "LoRA adapter trained with DPO on this brand's A/B test outcomes (winner preferred over loser).",
        "",
        "## Data",
        f"```json\n{json.dumps(data_summary, indent=1, sort_keys=True, default=str)}\n```",
        "",
        "## Training",
        f"- base model: `{base_model_id}`",
        f"- optimizer steps: {last.get('step', 0)}",
        "- hyperparameters: " + ", ".join(f"{k}={v}" for k, v in sorted(hyperparameters.items())
                                          if k != "target_modules"),
        "- final training step: " + ", ".join(f"{k}={last[k]:.4f}" for k in _KEEP if isinstance(last.get(k), float)),
        "",
        "## Evaluation (held-out pairs)",
        "- " + (", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(holdout.items()))
                or "no held-out pairs"),
        "",
        "## Promotion gate: " + ("passed" if gate.get("passed") else "failed"),
    ]
    for check in gate.get("checks", []):
        mark = "pass" if check["passed"] else "FAIL"
        lines.append(f"- [{mark}] {check['name']}: {check['value']} ({check['comparator']} {check['threshold']})")
    lines += [
        "",
        "## Intended use and limits",
        ("- Drafting short marketing copy (headlines, subject lines, ad copy) in this brand's voice, "
         "for people to review and to test in new experiments."),
        ("- It learned which of two tested variants won; it knows nothing about facts, prices or stock. "
         "Every output still goes through the brand's compliance rules."),
        ("- Preferences came from this brand's audience and channels; they may not carry over to others. "
         "Small datasets give noisy adapters: trust the held-out figures above, not single samples."),
    ]
    return "\n".join(lines) + "\n"
