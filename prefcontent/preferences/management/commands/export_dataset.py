"""python manage.py export_dataset --snapshot ID [--kind dpo|unpaired] [--split train|holdout] [--out FILE]"""
from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from prefcontent.preferences.exports import EXPORT_KINDS, export_lines
from prefcontent.preferences.models import SPLITS, DatasetSnapshot


class Command(BaseCommand):
    help = "Write a dataset snapshot as JSONL (DPO pairs or unpaired prompt/completion/label rows)."

    def add_arguments(self, parser):
        parser.add_argument("--snapshot", type=int, required=True)
        parser.add_argument("--kind", choices=EXPORT_KINDS, default="dpo")
        parser.add_argument("--split", choices=SPLITS, default=None, help="default: both splits")
        parser.add_argument("--weights", action="store_true", help="add each pair's weight (dpo only)")
        parser.add_argument("--out", default="-", help="file path, or - for stdout")

    def handle(self, *args, **opts):
        snapshot = DatasetSnapshot.objects.filter(pk=opts["snapshot"]).first()
        if snapshot is None:
            raise CommandError(f"no snapshot {opts['snapshot']}")
        lines = export_lines(snapshot, kind=opts["kind"], split=opts["split"], with_weight=opts["weights"])
        out = sys.stdout if opts["out"] == "-" else open(opts["out"], "w", encoding="utf-8")  # noqa: SIM115
        try:
            n = 0
            for line in lines:
                out.write(line)
                n += 1
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"rows={n}")
