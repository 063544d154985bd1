"""Per-endpoint rate limits like the threat-intelligence service's, counted in Django's cache.

`ScopedRateThrottle`, with two changes: the rates are read from settings.ATLAS_THROTTLE_RATES when a
request arrives (not frozen at import), and the count is a fixed window per client that opens at its
first request, kept with the cache's atomic `add` + `incr`, so every worker and replica sharing the
cache (Redis when REDIS_URL is set) agrees without a read-modify-write race. Retry-After is the time
left in the window. A cache that cannot be reached lets the request through
(logged): a rate limit must never take the service down. Only the views that name a scope are limited;
the digit /predict hot path names none.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger("atlas")


class SharedScopedRateThrottle(ScopedRateThrottle):
    wait_seconds: float | None = None

    def get_rate(self) -> str | None:
        if self.scope is None:
            return None
        return settings.ATLAS_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Any, view: Any) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:
            return True
        self.num_requests, self.duration = limit, duration
        key = f"{self.get_cache_key(request, view)}"
        now = time.time()
        try:
            count = self._count(key, now, duration)
            if count <= limit:
                return True
            started = float(cache.get(f"{key}:start") or now)
        except Exception as exc:  # noqa: BLE001 -- an unreachable cache must not refuse or fail requests
            logger.warning("rate limit %s not counted: %s: %s", self.scope, type(exc).__name__, exc)
            return True
        self.wait_seconds = max(started + duration - now, 1.0)
        return False

    @staticmethod
    def _count(key: str, now: float, duration: int) -> int:
        """This request's number in the client's window, which starts at its first request."""
        for _ in range(2):
            try:
                return int(cache.incr(key))
            except ValueError:  # no window open (or it just ran out): open one; `add` lets one worker win
                cache.add(f"{key}:start", now, timeout=duration)
                cache.add(key, 0, timeout=duration)
        return 1

    def wait(self) -> float | None:
        return self.wait_seconds
