"""`manage.py train_run`: run a training synchronously in this process, for debugging.

Either execute an existing queued run (`--run ID`) or create one for a brand's snapshot
(`--brand ID --snapshot ID [--hp key=value ...]`). No broker is involved.
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from prefcontent.core.errors import DomainError
from prefcontent.tenancy.principal import SYSTEM


def _parse_hp(items: list[str]) -> dict:
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise CommandError(f"--hp takes key=value, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def _with_progress_bar(run_id: int, execute):
    """Run `execute` here while a thread follows the run's step counter in the database with a bar."""
    import threading

    from django.db import connection
    from tqdm import tqdm

    from prefcontent.training.models import TrainingRun

    done = threading.Event()

    def follow():
        with tqdm(desc=f"run {run_id}", unit="step") as bar:
            while not done.wait(0.5):
                row = TrainingRun.objects.filter(pk=run_id).values_list("step", "total_steps").first()
                if row:
                    bar.total, bar.n = row[1] or None, row[0]
                    bar.refresh()
        connection.close()

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        return execute()
    finally:
        done.set()
        follower.join(5)


class Command(BaseCommand):
    help = "Execute a training run in-process (claim, train, gate, publish) and print its outcome."

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, help="an existing queued run")
        parser.add_argument("--brand", type=int)
        parser.add_argument("--snapshot", type=int)
        parser.add_argument("--parent-adapter", type=int, default=None)
        parser.add_argument("--hp", action="append", default=[], help="hyperparameter key=value (repeatable)")

    def handle(self, *args, run: int | None, brand: int | None, snapshot: int | None, parent_adapter: int | None,
               hp: list[str], **options):
        from prefcontent.adapters.models import AdapterVersion
        from prefcontent.brands.models import Brand
        from prefcontent.preferences.models import DatasetSnapshot
        from prefcontent.training.models import TrainingRun
        from prefcontent.training.runner import training_run_execute
        from prefcontent.training.services import training_run_create

        if run is None:
            if brand is None or snapshot is None:
                raise CommandError("give --run, or --brand and --snapshot")
            try:
                brand_row = Brand.objects.get(pk=brand)
                snap = DatasetSnapshot.objects.get(pk=snapshot, brand=brand_row)
                parent = AdapterVersion.objects.get(pk=parent_adapter, brand=brand_row) if parent_adapter else None
                run = training_run_create(principal=SYSTEM, brand=brand_row, snapshot=snap, parent_adapter=parent,
                                          hyperparameters=_parse_hp(hp), enqueue=False).pk
            except (Brand.DoesNotExist, DatasetSnapshot.DoesNotExist, AdapterVersion.DoesNotExist) as exc:
                raise CommandError(str(exc)) from exc
            except DomainError as exc:
                raise CommandError(f"{exc.message} {exc.details or ''}") from exc
        self.stdout.write(f"executing training run {run}")
        outcome = _with_progress_bar(run, lambda: training_run_execute(run_id=run, owner=f"train_run-command-{run}"))
        row = TrainingRun.objects.get(pk=run)
        self.stdout.write(f"outcome={outcome} state={row.state} steps={row.step}/{row.total_steps}")
        if row.metrics:
            last = row.metrics[-1]
            self.stdout.write("last step: " + json.dumps({k: last[k] for k in ("loss", "reward_accuracy") if k in last}))
        adapter = getattr(row, "adapter_version", None)
        if adapter is not None:
            self.stdout.write(f"adapter v{adapter.version} status={adapter.status}")
            self.stdout.write(json.dumps(adapter.eval_report.get("checks", []), indent=1))
        if row.error:
            self.stdout.write(f"error: {row.error}")
