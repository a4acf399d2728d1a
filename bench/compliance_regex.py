"""A brand's worst compliance regex on 1,000 texts: RE2 (the engine now) against Python `re` (the old one).

Marketer-written patterns are checked wherever copy is (generation, pairs, the gate) on workers
every tenant shares. For each hostile pattern below, 1,000 texts (900 ordinary headlines, 100 built
to make a backtracking engine explode) go through `check_text` with the rule compiled the way the
product compiles it (RE2, case-insensitive). The worst pattern's total is `re2_worst_rule_1000_texts_s`
(target: under 1 s). The baseline, in the same run, is the old engine (Python `re`, IGNORECASE) on
ONE adversarial text of that pattern, in a child process killed after `--budget` seconds (a
backtracking match cannot be interrupted from inside): `re_worst_rule_one_text_s` (the budget
when it was killed, with `re_timed_out=1`), and `re_over_re2_per_text`, the slowdown per text.

    python bench/compliance_regex.py [--quick] [--budget S]

--quick changes nothing but the budget (10 s instead of 60 s).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefcontent.settings")

import django  # noqa: E402

django.setup()

from prefcontent.brands.compliance import REGEX, CompiledRules, RuleSpec, check_text  # noqa: E402

WORDS = ("fresh", "kicks", "run", "shop", "now", "today", "bold", "comfort", "miles", "trail", "light", "sale",
         "new", "season", "colours", "fit", "daily", "speed", "grip", "soft", "ready", "go", "your", "best")
# (pattern, an adversarial text for a backtracking engine)
HOSTILE = [
    (r"(a+)+$", "a" * 30 + "!"),
    (r"^(\w+\s?)+$", "Fresh kicks for every trail runner this season, shop now!!"),
    (r"(x+x+)+y", "x" * 30),
    (r"^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"),
    (r"(\d+\s*%?\s*)+off$", "10 % 20 % 30 % 40 % 50 % 60 % 70 % 80 % 90 %!"),
]


def headline(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 11))]
    return " ".join(words).capitalize() + rng.choice(["", "!", "?", " - 30% off"])


def texts_for(adversarial: str, rng: random.Random) -> list[str]:
    texts = [headline(rng) for _ in range(900)] + [adversarial[: len(adversarial) - i % 3] for i in range(100)]
    rng.shuffle(texts)
    return texts


def _old_engine(pattern: str, text: str) -> None:
    re.compile(pattern, re.IGNORECASE).search(text)


def old_engine_seconds(pattern: str, text: str, budget: float) -> tuple[float, bool]:
    """Wall seconds of Python `re` on one text, in a child process; (budget, True) when it had to be killed."""
    child = mp.get_context("fork").Process(target=_old_engine, args=(pattern, text))
    start = time.perf_counter()
    child.start()
    child.join(budget)
    elapsed = time.perf_counter() - start
    if child.is_alive():
        child.kill()
        child.join()
        return budget, True
    return elapsed, False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--budget", type=float, default=None, help="seconds the old engine gets for one text")
    args = parser.parse_args()
    budget = args.budget or (10.0 if args.quick else 60.0)
    rng = random.Random(0)
    worst = None
    for pattern, adversarial in HOSTILE:
        rules = CompiledRules.from_specs([RuleSpec(kind=REGEX, pattern=pattern, rule_id=1)])
        texts = texts_for(adversarial, rng)
        start = time.perf_counter()
        hits = sum(not check_text(rules, text).ok for text in texts)
        elapsed = time.perf_counter() - start
        print(f"# /{pattern}/: {elapsed:.4f} s for {len(texts)} texts on RE2 ({hits} matched)", flush=True)
        if worst is None or elapsed > worst[1]:
            worst = (pattern, elapsed, adversarial)
    pattern, re2_total, adversarial = worst
    old_s, timed_out = old_engine_seconds(pattern, adversarial, budget)
    print(f"# worst rule on RE2: /{pattern}/; the old engine on one adversarial text of it:"
          f" {old_s:.2f} s{' (killed at the budget)' if timed_out else ''}", flush=True)
    print(f"re2_worst_rule_1000_texts_s={re2_total:.4f}")
    print(f"re_worst_rule_one_text_s={old_s:.2f}")
    print(f"re_timed_out={int(timed_out)}")
    print(f"re_over_re2_per_text={old_s / (re2_total / 1000):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
