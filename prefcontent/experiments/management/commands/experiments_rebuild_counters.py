from django.core.management.base import BaseCommand
from django.db import connection, transaction

from prefcontent.experiments.assigned import assigned_rebuild
from prefcontent.experiments.counters import counters_rebuild
from prefcontent.experiments.models import Experiment


class Command(BaseCommand):
    help = ("Recompute reader rows, reader counters and hourly roll-ups from the raw events (all experiments, "
            "or those given), e.g. after events were written outside ingestion. Experiments whose events "
            "retention dropped keep what they had: give only experiments that still have their events.")

    def add_arguments(self, parser):
        parser.add_argument("experiment_ids", nargs="*", type=int)
        parser.add_argument("--chunk", type=int, default=200, help="experiments per transaction")

    def handle(self, *args, experiment_ids, chunk, **options):
        ids = experiment_ids or list(Experiment.objects.filter(events__isnull=False).distinct()
                                     .order_by("id").values_list("id", flat=True))
        for start in range(0, len(ids), chunk):
            with transaction.atomic(), connection.cursor() as cursor:
                counters_rebuild(cursor, connection.vendor, ids[start:start + chunk])
        with transaction.atomic(), connection.cursor() as cursor:
            assigned_rebuild(cursor)  # every arm's assignment counters, from the Assignment rows
        self.stdout.write(f"rebuilt the counters of {len(ids)} experiments and every arm's assignment totals")
