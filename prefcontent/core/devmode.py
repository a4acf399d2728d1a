"""A server in development mode says so, loudly, when it starts.

Development mode (the default without PREFCONTENT_ENV=production) turns DEBUG on: every 500 is
Django's debug page with the traceback, the settings and the SQL. That is right on a laptop and
a leak anywhere else, so the web process prints a banner to stderr and logs a warning at start.
"""
from __future__ import annotations

import logging
import sys

from django.conf import settings

logger = logging.getLogger(__name__)

BANNER = """
============================================================================================
  PrefContent is running in DEVELOPMENT MODE (PREFCONTENT_ENV={env}, DEBUG={debug}).
  Errors show tracebacks, settings and SQL to whoever sends the request. Never expose this
  server; for a deployment set PREFCONTENT_ENV=production (deploy/ does) and a SECRET_KEY.
============================================================================================
"""


def announce_mode(stream=None) -> bool:
    """Print the banner and log a warning when not in production; True when it did."""
    if settings.PRODUCTION and not settings.DEBUG:
        return False
    (stream or sys.stderr).write(BANNER.format(env=settings.PREFCONTENT_ENV, debug=settings.DEBUG))
    logger.warning("development mode: DEBUG=%s, error pages show tracebacks to clients", settings.DEBUG)
    return True
