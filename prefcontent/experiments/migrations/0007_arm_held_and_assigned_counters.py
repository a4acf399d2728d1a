"""The arms' held-out and assignment counters (counters.py, assigned.py), so a decision reads no Reader
or Assignment rows of its experiment; and an index on the roll-ups' hour for retention's day lookups.

Backfill: held_* from the held-out Reader rows (not from the events: retention may have dropped an
ended experiment's events, and its counters stay), assigned_* from every Assignment row with the
watermark at the highest id.
"""
from django.db import migrations, models

from prefcontent.experiments.assigned import assigned_rebuild
from prefcontent.experiments.counters import held_counters_rebuild


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        held_counters_rebuild(cursor)
        assigned_rebuild(cursor)


class Migration(migrations.Migration):

    dependencies = [
        ("experiments", "0006_event_partitions"),
    ]

    operations = [
        *[migrations.AddField(model_name="arm", name=name, field=models.BigIntegerField(db_default=0, default=0))
          for name in ("held_readers", "held_impressions", "held_successes", "assigned", "assigned_weighted",
                       "assigned_held")],
        migrations.AddField(model_name="arm", name="assigned_inverse_square",
                            field=models.FloatField(db_default=0.0, default=0.0)),
        migrations.AddIndex(model_name="armhour", index=models.Index(fields=["hour"], name="armhour_hour")),
        migrations.CreateModel(
            name="AssignmentRoll",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_id", models.BigIntegerField(default=0)),
                ("rolled_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
