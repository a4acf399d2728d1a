"""Task names became `<app>.<verb>`: rename the beat rows that still name the old `workers.tasks.*` tasks.

Retrain policies own PeriodicTask rows (their cron schedules); the scheduler's own entries are
re-synced from the beat schedule at start, but renaming them here too leaves no stale row behind.
"""
from django.db import migrations

RENAMED = {
    "workers.tasks.training.retrain_policy_fire": "training.retrain_policy_fire",
    "workers.tasks.training.reap_runs": "training.reap_runs",
    "workers.tasks.training.evaluate_retrain_policies": "training.evaluate_retrain_policies",
    "workers.tasks.experiments.decide_running": "experiments.decide_running",
    "workers.tasks.experiments.update_thompson_weights": "experiments.update_thompson_weights",
    "workers.tasks.generation.ping_shards": "generation.ping_shards",
    "workers.tasks.generation.reap_jobs": "generation.reap_jobs",
    "workers.tasks.preferences.build_pending_pairs": "preferences.build_pending_pairs",
}


def rename(apps, schema_editor, mapping=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in mapping.items():
        PeriodicTask.objects.filter(task=old).update(task=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("training", "0003_retrain_policy"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
