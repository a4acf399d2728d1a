"""Django's PostgreSQL backend, pinging a persistent connection only when it has been idle.

Django's CONN_HEALTH_CHECKS pings the server before the first query of every request: a second round
trip for a page view that makes one (assignment), a quarter of its time on a busy host. Here a
connection that served a request without error less than `DB_HEALTH_CHECK_IDLE_S` ago (default 1 s)
is trusted; an idle one is pinged as before. A connection that fails mid-request is still checked
and closed when the request ends, so a server restart costs at most the requests of that last second.
"""
from __future__ import annotations

import time

from django.conf import settings
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    _healthy_at = float("-inf")  # when this connection last ended a request that used it without error
    _used = False

    def _cursor(self, *args, **kwargs):
        self._used = True
        return super()._cursor(*args, **kwargs)

    def close_if_health_check_failed(self):
        idle = time.monotonic() - self._healthy_at
        if self.connection is not None and not self.health_check_done and idle < self._idle_limit():
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def close_if_unusable_or_obsolete(self):
        worked = self.connection is not None and self._used and not self.errors_occurred
        super().close_if_unusable_or_obsolete()
        if self.connection is None:
            self._healthy_at = float("-inf")
        elif worked:
            self._healthy_at = time.monotonic()
        self._used = False

    @staticmethod
    def _idle_limit() -> float:
        return float(getattr(settings, "DB_HEALTH_CHECK_IDLE_S", 1.0))
