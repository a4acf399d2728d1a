"""Dataset-level biases: what a model trained on these pairs is about to learn besides "better copy".

For each surface feature and each kind of claim a marketer's copy makes (read by the claim extractor)
we report how often the chosen text has it, how often the rejected text has it, and the share of pairs
where only one side has it. A large gap between
`chosen_only` and `rejected_only` means the data rewards the feature itself.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from prefcontent.content.claims.extract import DEADLINE, DISCOUNT, GUARANTEE, SUPERLATIVE, URGENCY, extract_claims

_NUMBER = re.compile(r"\d")


@lru_cache(maxsize=8192)
def _claim_kinds(text: str) -> frozenset[str]:
    """The claim kinds in `text`, read by the claim extractor (the one reading of claims in copy). Cached:
    a brand's pairs repeat the same variants many times."""
    return frozenset(c.kind for c in extract_claims(text))


FEATURES = {
    "number": lambda t: bool(_NUMBER.search(t)),
    "question": lambda t: "?" in t,
    "urgency": lambda t: bool(_claim_kinds(t) & {URGENCY, DEADLINE}),  # haste, or a stated end of the offer
    "exclamation": lambda t: "!" in t,
    "discount": lambda t: DISCOUNT in _claim_kinds(t),
    "superlative": lambda t: SUPERLATIVE in _claim_kinds(t),
    "guarantee": lambda t: GUARANTEE in _claim_kinds(t),
}


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def bias_report(pairs: Iterable[tuple[str, str]]) -> dict:
    """Bias report over (chosen, rejected) texts."""
    n = 0
    longer = shorter = 0
    length_delta = 0
    counts = {name: [0, 0, 0, 0] for name in FEATURES}  # chosen, rejected, chosen only, rejected only
    for chosen, rejected in pairs:
        n += 1
        longer += len(chosen) > len(rejected)
        shorter += len(chosen) < len(rejected)
        length_delta += len(chosen) - len(rejected)
        for name, has in FEATURES.items():
            c, r = has(chosen), has(rejected)
            row = counts[name]
            row[0] += c
            row[1] += r
            row[2] += c and not r
            row[3] += r and not c
    report = {
        "pairs": n,
        "length": {
            "chosen_longer": _share(longer, n),
            "chosen_shorter": _share(shorter, n),
            "same_length": _share(n - longer - shorter, n),
            "mean_chars_delta": round(length_delta / n, 2) if n else 0.0,
        },
    }
    for name, (c, r, c_only, r_only) in counts.items():
        report[name] = {"chosen": _share(c, n), "rejected": _share(r, n),
                        "chosen_only": _share(c_only, n), "rejected_only": _share(r_only, n)}
    return report
