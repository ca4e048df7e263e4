"""Per-host politeness: at most one request per `min_interval` seconds to each host.

Each caller reserves the next free slot for the host and then sleeps until it, so
concurrent callers queue up in slot order instead of racing after a shared sleep.

A caller that would rather do other work than sleep (a Celery worker: a sleeping process
is a check not done) sets its `patience`: when the host's next slot is further away than
that, nothing is reserved and HostBusy says when to come back. Callers turned away are
promised turns one interval apart, each after the last one promised, so that a dozen checks
of one host come back one by one rather than all together (and again, and again). A promise
is not a reservation: a caller back at its turn still waits for a free slot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis import Redis


class HostBusy(Exception):
    """The host's next polite slot is further away than the caller is willing to wait."""

    def __init__(self, host: str, retry_in: float) -> None:
        super().__init__(f"{host}: next polite request in {retry_in:.2f} s")
        self.host = host
        self.retry_in = retry_in


_patience: ContextVar[float | None] = ContextVar("throttle_patience", default=None)


@contextmanager
def patience(seconds: float | None) -> Iterator[None]:
    """Within this block, waits longer than `seconds` raise HostBusy instead of sleeping."""
    token = _patience.set(seconds)
    try:
        yield
    finally:
        _patience.reset(token)


class HostThrottle(Protocol):
    def wait(self, host: str) -> None:
        """Block until a request to `host` is polite (or raise HostBusy, see patience)."""
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
        self._next_turn: dict[str, float] = {}  # after the last turn promised to a busy caller

    def wait(self, host: str) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            if (limit := _patience.get()) is not None and slot - now > limit:
                turn = max(slot, self._next_turn.get(host, slot))
                self._next_turn[host] = turn + self.min_interval
                raise HostBusy(host, turn - now)
            self._next_slot[host] = slot + self.min_interval
            self._forget_idle_hosts(now)
        if slot > now:
            self._sleep(slot - now)

    def _forget_idle_hosts(self, now: float) -> None:
        # Keeps the dicts from growing with every host ever seen in a long-lived worker.
        if len(self._next_slot) > 1024:
            self._next_slot = {h: t for h, t in self._next_slot.items() if t > now}
            self._next_turn = {h: t for h, t in self._next_turn.items() if t > now}


# Reserve the next slot atomically (KEYS[1]), or promise an impatient caller a turn
# (KEYS[2]: the time after the last turn promised). Redis's own clock is used so that
# workers on machines with skewed clocks still agree; times are in microseconds (exact in
# a Lua double) and written with %.0f because tostring() would round them.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local patience = tonumber(ARGV[2])
local slot = tonumber(redis.call('GET', KEYS[1]) or now)
if slot < now then slot = now end
if patience >= 0 and slot - now > patience then
  local turn = tonumber(redis.call('GET', KEYS[2]) or slot)
  if turn < slot then turn = slot end
  local turn_ttl_ms = math.ceil((turn - now + interval) / 1000)
  redis.call('SET', KEYS[2], string.format('%.0f', turn + interval), 'PX', turn_ttl_ms)
  return {0, turn - now}
end
local ttl_ms = math.ceil((slot - now + interval) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', ttl_ms)
return {1, slot - now}
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
        limit = _patience.get()
        patience_us = -1 if limit is None else round(limit * 1_000_000)
        key = self.prefix + host.lower()
        reserved, wait_us = self._reserve(
            keys=[key, key + ":turn"], args=[interval_us, patience_us]
        )
        if not reserved:
            raise HostBusy(host, int(wait_us) / 1_000_000)
        if int(wait_us) > 0:
            self._sleep(int(wait_us) / 1_000_000)
