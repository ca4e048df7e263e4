"""Per-host politeness: at most one request per `min_interval` seconds to each host.

Each caller reserves the next free slot for the host and then sleeps until it, so
concurrent callers queue up in slot order instead of racing after a shared sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis import Redis


class HostThrottle(Protocol):
    def wait(self, host: str) -> None:
        """Block until a request to `host` is polite."""
        ...


class LocalHostThrottle:
    """In-process throttle, safe to share between the threads of one worker."""

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def wait(self, host: str) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + self.min_interval
            self._forget_idle_hosts(now)
        if slot > now:
            self._sleep(slot - now)

    def _forget_idle_hosts(self, now: float) -> None:
        # Keeps the dict from growing with every host ever seen in a long-lived worker.
        if len(self._next_slot) > 1024:
            self._next_slot = {h: t for h, t in self._next_slot.items() if t > now}


# Reserve the next slot atomically. Redis's own clock is used so that workers on
# machines with skewed clocks still agree; times are in microseconds (exact in a
# Lua double) and written with %.0f because tostring() would round them.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or now)
if slot < now then slot = now end
local ttl_ms = math.ceil((slot - now + interval) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', ttl_ms)
return slot - now
"""


class RedisHostThrottle:
    """Throttle shared by every process that uses the same Redis and prefix.

    Redis errors propagate: a worker that cannot coordinate should not fetch.
    """

    def __init__(
        self,
        redis_client: Redis,
        min_interval: float,
        prefix: str = "clausewatch:throttle:",
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = min_interval
        self.prefix = prefix
        self._sleep = sleep
        self._reserve = redis_client.register_script(_RESERVE_SLOT)

    def wait(self, host: str) -> None:
        interval_us = max(1, round(self.min_interval * 1_000_000))
        wait_us = int(self._reserve(keys=[self.prefix + host.lower()], args=[interval_us]))
        if wait_us > 0:
            self._sleep(wait_us / 1_000_000)
