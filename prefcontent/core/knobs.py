"""Operator knobs: Django settings first, then the environment, then the product default.

The environment fallback lets a test hand short timings to a real worker subprocess
without settings.py listing every knob.
"""
from __future__ import annotations

import os

from django.conf import settings


def knob(name: str, default):
    """The knob `name`, converted to the type of `default`."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return type(default)(value) if value not in (None, "") else default


def base_model_path() -> str:
    """The base model training and generation share: PREFCONTENT_BASE_MODEL, else the dev model that
    `manage.py build_dev_model` builds."""
    return settings.PREFCONTENT_BASE_MODEL or str(settings.DEV_MODEL_DIR)
