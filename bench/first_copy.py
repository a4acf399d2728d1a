"""The first copy a new brand gets, through the HTTP API of a running stack: base model, then trained.

Against `make run` (SmolLM2 by default): a new brand imports a history of past A/B tests (each with a
clear winner), so they become concluded experiments and preference pairs; a dataset snapshot is
frozen and a training run with the default recipe trains, passes (or fails) the gate; 8 headlines are
generated for one brief with the base model before and with the brand's adapter after. Every text is
printed with its finish reason and status, then the share that is well-formed one-line copy ending by
itself (finish reason `stop` or `newline`, status not `malformed`), for the base model and the adapter
measured in the same run:

    well_formed_ended_base=...  well_formed_ended_trained=...  train_s=...  gate_passed=...

    .venv/bin/python bench/first_copy.py [--url http://127.0.0.1:8000] [--tests 72]

It logs in with the demo user of `var/demo.json` (a user, since training needs ops rights).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ENDED = {"stop", "newline"}
PRODUCTS = ["trail running shoes", "rain jackets", "cold brew", "desk lamps", "yoga mats", "backpacks",
            "wireless headphones", "scented candles", "hiking socks", "water bottles", "sunglasses", "travel mugs"]
WINNERS = ["Save {pct}% on {product} this week", "{Product}: {pct}% off until Sunday",
           "Get {pct}% off {product} today", "New {product}, {pct}% off for members",
           "{Product} built for the long run", "Your next {product} ship free this week"]
LOSERS = ["Discover our {product}", "We have {product}", "{Product} are available in our store",
          "Check out the {product} collection", "Our {product}, now in stock", "Learn more about {product}"]
BRIEF = {"title": "Spring sale", "product": "trail running shoes", "audience": "weekend trail runners",
         "tone": "energetic"}


class Api:
    def __init__(self, url: str):
        self.url, self.token = url.rstrip("/"), None

    def call(self, method: str, path: str, body=None, *, content_type="application/json", ok=(200, 201, 202)):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        if status not in ok:
            raise SystemExit(f"{method} {path} answered {status}: {text[:500]}")
        return json.loads(text) if text else None


def history_csv(tests: int, seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["test_id", "variant_text", "impressions", "clicks", "conversions", "brief", "product", "audience",
                     "tone", "channel"])
    for t in range(tests):
        product = PRODUCTS[t % len(PRODUCTS)]
        fill = {"pct": rng.choice((10, 15, 20, 25)), "product": product, "Product": product.capitalize()}
        winner, loser = rng.choice(WINNERS).format(**fill), rng.choice(LOSERS).format(**fill)
        for text, clicks in ((winner, 420 + rng.randrange(40)), (loser, 240 + rng.randrange(40))):
            writer.writerow([f"past-{t}", text, 5000, clicks, clicks // 10, "Spring sale", product, "runners",
                             "energetic", "headline"])
    return out.getvalue().encode()


def wait(api: Api, path: str, done, timeout: float) -> dict:
    start = time.monotonic()
    while True:
        row = api.call("GET", path)
        if done(row):
            return row
        if time.monotonic() - start > timeout:
            raise SystemExit(f"{path} did not finish in {timeout:.0f} s: {json.dumps(row)[:500]}")
        time.sleep(5)


def headlines(api: Api, brand_id: int, *, base: bool, label: str, requests: int) -> float:
    """Share of well-formed, self-ended headlines over `requests` jobs of 8 (seeds 7, 8, ...)."""
    good = total = 0
    for r in range(requests):
        job = api.call("POST", f"/api/v1/brands/{brand_id}/generate",
                       {"brief": BRIEF, "channel": "headline", "n": 8, "seed": 7 + r, "use_base_model": base,
                        "async": True})
        job = wait(api, f"/api/v1/generation-jobs/{job['id']}/", lambda j: j["state"] in {"succeeded", "failed"}, 1800)
        if job["state"] != "succeeded":
            raise SystemExit(f"the {label} generation job failed: {job['error']}")
        print(f"# {label}, seed {7 + r}: model {job['model']}")
        for c in job["candidates"]:
            ok = c["finish_reason"] in ENDED and c["status"] != "malformed"
            good, total = good + ok, total + 1
            print(f"#   [{c['finish_reason']:>9} {c['status']:>9}] {c['text']!r}")
    return good / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--demo", default="var/demo.json", help="the demo login make run writes")
    parser.add_argument("--tests", type=int, default=72, help="past tests imported (one pair each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--requests", type=int, default=4, help="generation requests of 8 headlines, per model")
    parser.add_argument("--brand", type=int, help="a brand this script trained before: only generate again")
    args = parser.parse_args()
    demo = json.loads(Path(args.demo).read_text())
    api = Api(args.url)
    status = api.call("GET", "/api/v1/status")
    if status["base_model"]["state"] != "ready":
        raise SystemExit(f"the base model is not ready: {status['base_model']}")
    api.token = api.call("POST", "/api/v1/auth/token", {"username": demo["username"],
                                                          "password": demo["password"]})["token"]
    if args.brand:
        base_rate = headlines(api, args.brand, base=True, label="base model", requests=args.requests)
        trained_rate = headlines(api, args.brand, base=False, label="with the adapter", requests=args.requests)
        print(f"well_formed_ended_base={base_rate:.3f}")
        print(f"well_formed_ended_trained={trained_rate:.3f}")
        return
    org = api.call("GET", "/api/v1/organizations/")["results"][0]["id"]
    brand = api.call("POST", "/api/v1/brands/", {"organization": org, "name": f"Firstcopy {int(time.time())}",
                                                "voice": "bold, concrete, never pushy"})
    print(f"# base model: {status['base_model']['name']}; brand {brand['id']}")
    base_rate = headlines(api, brand["id"], base=True, label="base model", requests=args.requests)
    report = api.call("POST", f"/api/v1/brands/{brand['id']}/import", history_csv(args.tests, args.seed),
                      content_type="text/csv")
    print(f"# history: {report['tests']} tests, {report['concluded']} concluded, {report['pairs_active']} pairs")
    snapshot = api.call("POST", "/api/v1/dataset-snapshots/", {"brand": brand["id"]})
    print(f"# snapshot {snapshot['id']}: {json.dumps({k: v for k, v in snapshot.items() if 'count' in k})}")
    start = time.monotonic()
    run = api.call("POST", "/api/v1/training-runs/", {"brand": brand["id"], "snapshot": snapshot["id"]})
    run = wait(api, f"/api/v1/training-runs/{run['id']}/",
               lambda r: r["state"] in {"succeeded", "failed", "rejected", "cancelled"}, 3600)
    train_s = time.monotonic() - start
    print(f"# training run {run['id']}: {run['state']} after {train_s:.0f} s, {run['step']}/{run['total_steps']} steps"
          f"{', error ' + str(run['error']) if run['error'] else ''}")
    gate_passed = run["state"] == "succeeded"
    trained_rate = (headlines(api, brand["id"], base=False, label="with the adapter", requests=args.requests)
                    if gate_passed else float("nan"))
    print(f"well_formed_ended_base={base_rate:.3f}")
    print(f"well_formed_ended_trained={trained_rate:.3f}")
    print(f"train_s={train_s:.1f}")
    print(f"gate_passed={int(gate_passed)}")
    sys.exit(0 if gate_passed else 1)


if __name__ == "__main__":
    main()
