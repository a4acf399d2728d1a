"""`python -m ml.devmodel build OUT_DIR [--quick] [--attempts N]`: build the dev base model (see build.py).

Exits 1, saying why, when no attempt meets the quality bar.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from ml.devmodel.build import QUICK, BuildConfig, BuildFailed, build_with_retries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.devmodel")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train the dev tokenizer and model into OUT_DIR")
    b.add_argument("out_dir")
    b.add_argument("--quick", action="store_true", help="tiny model in seconds, for tests (no parse bar)")
    b.add_argument("--seed", type=int, default=0, help="seed of the first attempt; later ones add 1")
    b.add_argument("--attempts", type=int, default=3, help="builds with other seeds before giving up")
    b.add_argument("--parse-bar", type=float, default=None, help="override the share of copy that must parse")
    b.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = dataclasses.replace(QUICK if args.quick else BuildConfig(), seed=args.seed)
    if args.parse_bar is not None:
        cfg = dataclasses.replace(cfg, parse_bar=args.parse_bar)
    try:
        build_with_retries(args.out_dir, cfg, attempts=args.attempts, log=lambda msg: print(msg, flush=True))
    except BuildFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
