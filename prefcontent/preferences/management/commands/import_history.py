"""python manage.py import_history --brand ID FILE [--format csv|jsonl] [--metric click|conversion]"""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from prefcontent.brands.models import Brand
from prefcontent.core.errors import DomainError
from prefcontent.preferences.history_import import history_import
from prefcontent.tenancy.principal import SYSTEM


class Command(BaseCommand):
    help = "Import past A/B tests (CSV or JSONL) as concluded experiments and build their preference pairs."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--brand", type=int, required=True)
        parser.add_argument("--format", choices=["csv", "jsonl"], default=None)
        parser.add_argument("--metric", choices=["click", "conversion"], default="click")
        parser.add_argument("--min-sample", type=int, default=1000, help="impressions every arm needs")
        parser.add_argument("--max-errors", type=int, default=50, help="rejected rows to print (all are counted)")

    def handle(self, *args, **opts):
        brand = Brand.objects.filter(pk=opts["brand"]).first()
        if brand is None:
            raise CommandError(f"no brand {opts['brand']}")
        data = opts["file"].read_bytes()
        bars: dict[str, tqdm] = {}

        def progress(stage: str, done: int, total: int) -> None:
            bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, unit="", file=self.stderr))
            bar.update(done - bar.n)

        try:
            outcome = history_import(principal=SYSTEM, brand=brand, data=data, filename=opts["file"].name,
                                     fmt=opts["format"], primary_metric=opts["metric"],
                                     min_sample_per_arm=opts["min_sample"], progress=progress)
        except DomainError as exc:
            for bar in bars.values():
                bar.close()
            errors = exc.details.get("errors", [])
            for err in errors[: opts["max_errors"]]:
                where = f"row {err['row']}" if err["row"] is not None else "file"
                self.stderr.write(f"{where}: {err['reason']}: {err['message']}")
            if len(errors) > opts["max_errors"]:
                self.stderr.write(f"... and {len(errors) - opts['max_errors']} more")
            raise CommandError(exc.message) from None
        for bar in bars.values():
            bar.close()
        for key, value in outcome.report.items():
            self.stdout.write(f"{key}={value}")
