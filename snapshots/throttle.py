"""Per-host politeness: at most one request per `min_interval` seconds to each host.

Each caller reserves the next free slot for the host and then sleeps until it, so
concurrent callers queue up in slot order instead of racing after a shared sleep.

A caller that would rather do other work than sleep (a Celery worker: a sleeping process
is a check not done) sets its `patience`: when the host's next free slot is further away
than that, the slot is reserved for the caller all the same, and HostBusy hands it the
Reservation and says when to come back. Whoever comes back holding it (see `holding`) has
that slot: nobody else can take it, so a returning check is never turned away again by a
newcomer. A holder back early (by more than its patience) is told to come back again and
keeps its slot; a holder back late uses it if no more than `late_grace` has gone by since
(a tenth of the interval by default), and otherwise queues like any new caller — a slot
long past cannot be used without crowding the one after it. A reservation is used once.

So requests to a host are, on average, one per interval, and no two are closer together
than the interval less the grace (plus whatever a process's own scheduling adds to a
sleep).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis import Redis

# The share of the interval a holder may be late by and still use its slot.
LATE_GRACE_SHARE = 0.1


@dataclass(frozen=True)
class Reservation:
    """A slot held for one caller: `host` (lowercase) at `slot`, microseconds on the
    throttle's clock (Redis's, for the shared throttle)."""

    host: str
    slot: int

    def as_message(self) -> list[str | int]:
        """A JSON-ready form, for a task's arguments."""
        return [self.host, self.slot]

    @classmethod
    def from_message(cls, value: object) -> Reservation | None:
        """Back from `as_message()`; None for anything else (nothing is reserved then)."""
        match value:
            case [str(host), int(slot)] if host and not isinstance(slot, bool) and slot >= 0:
                return cls(host.lower(), slot)
        return None


class HostBusy(Exception):
    """The host's next polite slot is further away than the caller is willing to wait."""

    def __init__(self, host: str, retry_in: float, reservation: Reservation | None = None) -> None:
        super().__init__(f"{host}: next polite request in {retry_in:.2f} s")
        self.host = host
        self.retry_in = retry_in
        self.reservation = reservation


_patience: ContextVar[float | None] = ContextVar("throttle_patience", default=None)
_held: ContextVar[list[Reservation] | None] = ContextVar("throttle_held", default=None)


@contextmanager
def patience(seconds: float | None) -> Iterator[None]:
    """Within this block, waits longer than `seconds` raise HostBusy instead of sleeping."""
    token = _patience.set(seconds)
    try:
        yield
    finally:
        _patience.reset(token)


@contextmanager
def holding(reservation: Reservation | None) -> Iterator[None]:
    """Within this block, the first wait for the reservation's host uses the reservation."""
    token = _held.set([reservation] if reservation is not None else None)
    try:
        yield
    finally:
        _held.reset(token)


def _take_held(host: str) -> int | None:
    """The slot held for `host` in this context, if any; taken, so it is used once."""
    held = _held.get()
    if held and held[0].host == host.lower():
        return held.pop().slot
    return None


class HostThrottle(Protocol):
    def wait(self, host: str) -> None:
        """Block until a request to `host` is polite (or raise HostBusy, see patience)."""
        ...


class LocalHostThrottle:
    """In-process throttle, safe to share between the threads of one worker.

    It honours only reservations it made itself.
    """

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        late_grace: float | None = None,
    ) -> None:
        self.min_interval = min_interval
        self.late_grace = min_interval * LATE_GRACE_SHARE if late_grace is None else late_grace
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._reserved: dict[str, set[int]] = {}  # host -> slots held, in microseconds

    def wait(self, host: str) -> None:
        host = host.lower()
        held = _take_held(host)
        limit = _patience.get()
        with self._lock:
            now = self._clock()
            slot = self._held_slot(host, held, now, limit)
            if slot is None:
                slot = max(now, self._next_slot.get(host, now))
                self._next_slot[host] = slot + self.min_interval
                if limit is not None and slot - now > limit:
                    reservation = Reservation(host, round(slot * 1_000_000))
                    self._reserved.setdefault(host, set()).add(reservation.slot)
                    raise HostBusy(host, slot - now, reservation)
            self._forget_idle_hosts(now)
        if slot > now:
            self._sleep(slot - now)

    def _held_slot(
        self, host: str, held: int | None, now: float, limit: float | None
    ) -> float | None:
        """The held slot to use now, or None to queue like anyone."""
        reserved = self._reserved.get(host)
        if held is None or not reserved or held not in reserved:
            return None
        slot = held / 1_000_000
        if limit is not None and slot - now > limit:
            raise HostBusy(host, slot - now, Reservation(host, held))  # early: still held
        reserved.discard(held)
        return slot if now - slot <= self.late_grace else None

    def _forget_idle_hosts(self, now: float) -> None:
        # Keeps the dicts from growing with every host ever seen in a long-lived worker.
        if len(self._next_slot) > 1024:
            self._next_slot = {h: t for h, t in self._next_slot.items() if t > now}
            stale = (now - self.late_grace) * 1_000_000
            self._reserved = {
                h: kept
                for h, slots in self._reserved.items()
                if (kept := {s for s in slots if s >= stale})
            }


# One call per wait, atomic. KEYS[1]: the host's next free slot; KEYS[2]: the slots held
# for impatient callers (a sorted set, member = score = the slot). ARGV: interval,
# patience (-1: none), the slot the caller holds ('' if none), the late grace. Redis's own
# clock is used so that workers on machines with skewed clocks still agree; times are in
# microseconds (exact in a Lua double) and written with %.0f because tostring() would
# round them. Returns {1, wait} to go after `wait`, or {0, wait, slot} for HostBusy.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local patience = tonumber(ARGV[2])
local held = ARGV[3]
local grace = tonumber(ARGV[4])
if held ~= '' then
  local score = redis.call('ZSCORE', KEYS[2], held)
  if score then
    local at = tonumber(score)
    if patience >= 0 and at - now > patience then
      return {0, at - now, held}
    end
    redis.call('ZREM', KEYS[2], held)
    if now - at <= grace then
      if at > now then return {1, at - now} end
      return {1, 0}
    end
  end
end
local slot = tonumber(redis.call('GET', KEYS[1]) or now)
if slot < now then slot = now end
local ttl_ms = math.ceil((slot - now + interval) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', ttl_ms)
if patience >= 0 and slot - now > patience then
  local member = string.format('%.0f', slot)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%.0f', now - grace))
  redis.call('ZADD', KEYS[2], member, member)
  redis.call('PEXPIRE', KEYS[2], math.ceil((slot - now + grace) / 1000) + 1000)
  return {0, slot - now, member}
end
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
        late_grace: float | None = None,
    ) -> None:
        self.min_interval = min_interval
        self.late_grace = min_interval * LATE_GRACE_SHARE if late_grace is None else late_grace
        self.prefix = prefix
        self._sleep = sleep
        self._reserve = redis_client.register_script(_RESERVE_SLOT)

    def wait(self, host: str) -> None:
        host = host.lower()
        held = _take_held(host)
        interval_us = max(1, round(self.min_interval * 1_000_000))
        limit = _patience.get()
        patience_us = -1 if limit is None else round(limit * 1_000_000)
        key = self.prefix + host
        reply = self._reserve(
            keys=[key, key + ":held"],
            args=[
                interval_us,
                patience_us,
                "" if held is None else held,
                round(self.late_grace * 1_000_000),
            ],
        )
        go, wait_us = int(reply[0]), int(reply[1])
        if not go:
            raise HostBusy(host, wait_us / 1_000_000, Reservation(host, int(reply[2])))
        if wait_us > 0:
            self._sleep(wait_us / 1_000_000)
