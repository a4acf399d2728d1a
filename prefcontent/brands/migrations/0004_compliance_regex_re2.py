"""Deactivate regex rules that RE2 cannot run (backreferences, lookarounds), saved before RE2 validated them.

Such a rule would otherwise be skipped, logged, at every check; deactivated, it shows on the brand's
rule list as inactive with the reason in its message, for a person to rewrite. Each one is logged.
"""
import logging

from django.db import migrations

logger = logging.getLogger(__name__)


def deactivate_unrunnable(apps, schema_editor):
    from prefcontent.brands.compliance import REGEX, regex_compile

    ComplianceRule = apps.get_model("brands", "ComplianceRule")
    for rule in ComplianceRule.objects.filter(kind=REGEX, is_active=True):
        try:
            regex_compile(rule.pattern)
        except ValueError as exc:
            rule.is_active = False
            rule.message = f"Deactivated: {exc}"[:300]
            rule.save(update_fields=["is_active", "message"])
            logger.warning("compliance rule %s of brand %s deactivated: %s", rule.pk, rule.brand_id, exc)


class Migration(migrations.Migration):
    dependencies = [("brands", "0003_brand_settings_repair")]
    operations = [migrations.RunPython(deactivate_unrunnable, migrations.RunPython.noop)]
