"""`python -m ml.devmodel build OUT_DIR [--quick]`: build the dev base model (see build.py)."""
from __future__ import annotations

import argparse
import dataclasses

import torch

from ml.devmodel.build import QUICK, BuildConfig, build


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.devmodel")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train the dev tokenizer and model into OUT_DIR")
    b.add_argument("out_dir")
    b.add_argument("--quick", action="store_true", help="tiny model in seconds, for tests")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--train-budget-s", type=float, default=None, help="wall-clock budget for training")
    b.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = dataclasses.replace(QUICK if args.quick else BuildConfig(), seed=args.seed)
    if args.train_budget_s is not None:
        cfg = dataclasses.replace(cfg, train_budget_s=args.train_budget_s)
    build(args.out_dir, cfg, log=lambda msg: print(msg, flush=True))


if __name__ == "__main__":
    main()
