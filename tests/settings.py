"""The settings the suite runs under: the project's, on the dev model unless the caller names a base.

Set here, before prefcontent.settings reads var/local.env (where `make run` records the base model it
prepared): pytest-django loads the settings before any conftest runs, so a default set there came too late.
"""
import os

os.environ.setdefault("PREFCONTENT_BASE_MODEL", "")

from prefcontent.settings import *  # noqa: E402,F403
