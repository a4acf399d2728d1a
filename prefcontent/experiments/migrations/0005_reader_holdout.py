from django.db import migrations, models

from prefcontent.experiments.counters import counters_rebuild


def backfill(apps, schema_editor):
    """Reader rows, reader counters and hourly roll-ups of every experiment from its events (holdout apart)."""
    with schema_editor.connection.cursor() as cursor:
        counters_rebuild(cursor, schema_editor.connection.vendor, held=False)  # held_* come with 0007


class Migration(migrations.Migration):

    dependencies = [
        ("experiments", "0004_assignment_holdout"),
    ]

    operations = [
        migrations.AddField(
            model_name="reader",
            name="holdout",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
