"""Repair brand settings stored before they were validated (prefcontent.brands.settings).

Valid values stay. A value of the wrong type becomes what the readers of that time made of it, when
that is valid (numbers went through float(), so "0.9" stays 0.9; a falsy auto_promote meant no
auto-promotion), so no brand changes behaviour; anything else is dropped (a list keeps its valid
entries), unknown keys included, and read as the default. Each repaired brand is logged.
"""
import logging

from django.db import migrations

from prefcontent.brands.settings import SETTINGS, Number, brand_settings_repair, setting_check

logger = logging.getLogger(__name__)

# How each flag was read before validation (auto_promote: truthiness; the pair flags: identity tests).
LEGACY_FLAGS = {
    "auto_promote": bool,
    "pairs_from_repairs": lambda value: value is True,
    "pairs_from_ranking": lambda value: value is not False,
    "compliance_mode": lambda value: "flag" if value == "flag" else "block",
}


def _legacy(key: str, value):
    """What the old reader made of `value` if the current check accepts it, else None."""
    try:
        if isinstance(setting_check(key), Number):
            value = float(value)
        elif key in LEGACY_FLAGS:
            value = LEGACY_FLAGS[key](value)
        else:
            return None
        setting_check(key)(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value


def repair(apps, schema_editor):
    Brand = apps.get_model("brands", "Brand")
    for brand in Brand.objects.only("id", "settings").iterator():
        kept, changed = brand_settings_repair(brand.settings)
        if not changed:
            continue
        if isinstance(brand.settings, dict):
            for key in changed:
                if key in SETTINGS and key not in kept:
                    value = _legacy(key, brand.settings[key])
                    if value is not None:
                        kept[key] = value
        logger.warning("brand %s: settings repaired (%s); stored now: %s", brand.pk,
                       "; ".join(f"{k}: {v}" for k, v in sorted(changed.items())), sorted(kept))
        brand.settings = kept
        brand.save(update_fields=["settings"])


class Migration(migrations.Migration):
    dependencies = [("brands", "0002_compliance_rule")]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
