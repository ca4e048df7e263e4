"""Per-host politeness: LocalHostThrottle and RedisHostThrottle, alone and inside fetch()."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from itertools import pairwise

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from snapshots.fetch import fetch, make_client
from snapshots.throttle import (
    HostBusy,
    HostThrottle,
    LocalHostThrottle,
    RedisHostThrottle,
    Reservation,
    holding,
    patience,
)
from tests.snapshots.servers import fetch_settings, http_server

INTERVAL = 0.3
# Spacing is measured on our clock but enforced on Redis's: allow for the gap.
TOLERANCE = 0.02


@pytest.fixture
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {url}")
    yield url


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    prefix = f"clausewatch-test:throttle:{uuid.uuid4().hex}:"
    yield prefix
    cleaner = redis.Redis.from_url(redis_url)
    keys = list(cleaner.scan_iter(match=f"{prefix}*"))
    if keys:
        cleaner.delete(*keys)
    cleaner.close()


def finish_times(calls: list[Callable[[], None]]) -> list[float]:
    """Start all calls together, each in its own thread; return when each returned.

    Times count from before the threads start, so the throttle's promise reads
    "the second call to a host returns at least INTERVAL in", which holds however
    late the threads get scheduled; the gap between the two returns would not.
    """
    start = threading.Barrier(len(calls))
    finished: list[float] = [0.0] * len(calls)

    def run(index: int, call: Callable[[], None]) -> None:
        start.wait()
        call()
        finished[index] = time.monotonic()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    return [t - began for t in finished]


def test_it_spaces_requests_to_one_host_within_a_process() -> None:
    throttle = LocalHostThrottle(INTERVAL)

    a, b, other = finish_times(
        [
            lambda: throttle.wait("x.example"),
            lambda: throttle.wait("x.example"),
            lambda: throttle.wait("y.example"),
        ]
    )

    assert max(a, b) >= INTERVAL - TOLERANCE
    assert min(a, b) < INTERVAL
    assert other < INTERVAL


def test_it_spaces_requests_to_one_host_across_redis_clients(redis_url: str, prefix: str) -> None:
    # Two clients with their own connection pools stand in for two worker processes.
    first, second = (
        RedisHostThrottle(redis.Redis.from_url(redis_url), INTERVAL, prefix) for _ in range(2)
    )

    a, b, other = finish_times(
        [
            lambda: first.wait("docs.example"),
            lambda: second.wait("docs.example"),
            lambda: second.wait("other.example"),
        ]
    )

    assert max(a, b) >= INTERVAL - TOLERANCE
    assert min(a, b) < INTERVAL
    assert other < INTERVAL


def test_it_lets_the_slot_expire_in_redis(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    throttle = RedisHostThrottle(client, INTERVAL, prefix)

    throttle.wait("docs.example")

    assert 0 < client.pttl(f"{prefix}docs.example") <= INTERVAL * 1000


@pytest.fixture
def arrivals() -> Iterator[tuple[HTTPServer, list[float]]]:
    seen: list[float] = []

    def record(request: Request) -> Response:
        seen.append(time.monotonic())
        return Response("terms")

    with http_server() as server:
        server.expect_request("/terms").respond_with_handler(record)
        yield server, seen


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_it_spaces_concurrent_fetches_of_one_host(
    arrivals: tuple[HTTPServer, list[float]], request: pytest.FixtureRequest, kind: str
) -> None:
    server, seen = arrivals
    throttles: list[HostThrottle]
    if kind == "local":
        shared = LocalHostThrottle(INTERVAL)
        throttles = [shared, shared]
    else:
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("prefix")
        throttles = [
            RedisHostThrottle(redis.Redis.from_url(url), INTERVAL, prefix) for _ in range(2)
        ]
    config = fetch_settings()
    clients = [make_client(config) for _ in throttles]

    began = time.monotonic()
    finish_times(
        [
            lambda c=client, t=throttle: (
                fetch(server.url_for("/terms"), settings=config, client=c, throttle=t).body
            )
            for client, throttle in zip(clients, throttles, strict=True)
        ]
    )

    for client in clients:
        client.close()
    assert len(seen) == 2
    assert max(seen) - began >= INTERVAL - TOLERANCE
    assert min(seen) - began < INTERVAL


def test_it_tells_an_impatient_caller_when_to_come_back_instead_of_sleeping() -> None:
    slept: list[float] = []
    throttle = LocalHostThrottle(5.0, sleep=slept.append)
    throttle.wait("a.example")
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert 4.9 < busy.value.retry_in <= 5.0
    assert busy.value.reservation is not None and busy.value.reservation.host == "a.example"
    with patience(0.1):
        throttle.wait("b.example")  # another host is free
    assert slept == []


def test_it_reserves_the_slot_for_the_impatient_caller() -> None:
    clock = [100.0]
    slept: list[float] = []
    throttle = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=slept.append)
    throttle.wait("a.example")  # the slot now; the next one is free at 105
    reservations = []
    for _ in range(3):
        with patience(0.1), pytest.raises(HostBusy) as busy:
            throttle.wait("A.example")
        reservations.append(busy.value.reservation)
        assert busy.value.retry_in == reservations[-1].slot / 1e6 - 100.0
    assert [r.slot / 1e6 for r in reservations] == [105.0, 110.0, 115.0]
    throttle.wait("a.example")  # a patient newcomer queues behind the three held slots
    assert slept == [20.0]

    clock[0] = 105.0  # at 105 the slot is the holder's: a newcomer is turned away ...
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert busy.value.reservation.slot / 1e6 == 125.0
    with patience(0.1), holding(reservations[0]):
        throttle.wait("a.example")  # ... and the holder goes, without sleeping
    assert slept == [20.0]


def test_a_holder_back_early_keeps_its_slot_and_one_back_late_queues_again() -> None:
    clock = [100.0]
    slept: list[float] = []
    throttle = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=slept.append)
    throttle.wait("a.example")
    held = []
    for _ in range(2):
        with patience(0.1), pytest.raises(HostBusy) as busy:
            throttle.wait("a.example")
        held.append(busy.value.reservation)  # 105 and 110

    clock[0] = 102.0  # early: come back again, the slot still held
    with patience(0.1), holding(held[0]), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert busy.value.reservation == held[0] and busy.value.retry_in == 3.0
    clock[0] = 104.95  # early by less than the patience: sleeps the rest
    with patience(0.1), holding(held[0]):
        throttle.wait("a.example")
    assert slept == [pytest.approx(0.05)]

    clock[0] = 110.0 + throttle.late_grace  # late, within the grace: still its slot
    with patience(0.1), holding(held[1]):
        throttle.wait("a.example")
    assert len(slept) == 1


def test_a_slot_long_past_is_given_up_and_a_reservation_is_used_once() -> None:
    clock = [100.0]
    throttle = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=lambda s: None)
    throttle.wait("a.example")
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    late = busy.value.reservation  # 105
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    used = busy.value.reservation  # 110

    clock[0] = 110.0
    with patience(0.1), holding(used):
        throttle.wait("a.example")
    # 105's holder comes back at 110: the slot after its own is gone, so it queues anew.
    with patience(0.1), holding(late), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert busy.value.reservation.slot / 1e6 == 115.0
    # The same reservation twice (a task delivered again) is a newcomer the second time.
    with patience(0.1), holding(used), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert busy.value.reservation.slot / 1e6 == 120.0


def test_it_ignores_a_reservation_it_did_not_make_or_for_another_host() -> None:
    clock = [100.0]
    throttle = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=lambda s: None)
    throttle.wait("a.example")
    forged = Reservation("a.example", 105_000_000)
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    real = busy.value.reservation
    assert real == forged  # same host and slot, but ...
    clock[0] = 105.0
    other = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=lambda s: None)
    other.wait("a.example")
    with patience(0.1), holding(real), pytest.raises(HostBusy):
        other.wait("a.example")  # ... another throttle never reserved it
    with patience(0.1), holding(Reservation("b.example", real.slot)):
        throttle.wait("b.example")  # free anyway; the reservation for b is not a's
    with patience(0.1), holding(real):
        throttle.wait("a.example")


@pytest.mark.parametrize(
    "message",
    [
        None,
        "a.example",
        ["a.example"],
        ["a.example", "105"],
        ["a.example", 1.5],
        ["a.example", True],
        ["a.example", -1],
        ["", 5],
        [5, "a.example"],
        {"host": "a.example", "slot": 5},
        ["a.example", 5, 6],
    ],
)
def test_a_malformed_reservation_in_a_message_is_none(message: object) -> None:
    assert Reservation.from_message(message) is None


def test_a_reservation_survives_its_message() -> None:
    held = Reservation("a.example", 1_790_000_000_123_456)
    assert Reservation.from_message(held.as_message()) == held
    assert Reservation.from_message(["A.Example", 7]) == Reservation("a.example", 7)


def test_it_reserves_slots_across_redis_clients(redis_url: str, prefix: str) -> None:
    clients = [redis.Redis.from_url(redis_url) for _ in range(3)]
    slept: list[float] = []
    throttles = [RedisHostThrottle(c, 5.0, prefix=prefix, sleep=slept.append) for c in clients]
    throttles[0].wait("a.example")
    busy = []
    for throttle in throttles:
        with patience(0.1), pytest.raises(HostBusy) as raised:
            throttle.wait("a.example")
        busy.append(raised.value)
    # Redis's clock moves on between calls: each slot is one interval after the last.
    assert 4.8 < busy[0].retry_in <= 5.0
    slots = [b.reservation.slot for b in busy]
    assert [b - a for a, b in pairwise(slots)] == [5_000_000, 5_000_000]
    throttles[0].wait("a.example")  # a patient newcomer queues behind the held slots
    assert len(slept) == 1 and 19.8 < slept[0] <= 20.0

    # The second holder, early, is told to come back and keeps its slot ...
    with patience(0.1), holding(busy[1].reservation), pytest.raises(HostBusy) as again:
        throttles[2].wait("a.example")
    assert again.value.reservation == busy[1].reservation
    # ... and a holder that is early by less than its patience sleeps until its slot.
    with patience(30), holding(busy[0].reservation):
        throttles[1].wait("a.example")
    assert len(slept) == 2 and 4.5 < slept[1] <= 5.0
    for client in clients:
        client.close()


def test_a_redis_reservation_is_used_once_and_not_long_after_its_slot(
    redis_url: str, prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    slept: list[float] = []
    throttle = RedisHostThrottle(client, 0.3, prefix=prefix, sleep=slept.append, late_grace=0.15)
    throttle.wait("a.example")
    held = []
    for _ in range(2):
        with patience(0.01), pytest.raises(HostBusy) as busy:
            throttle.wait("a.example")
        held.append(busy.value.reservation)  # +0.3 s and +0.6 s
    time.sleep(0.3 + 0.02)  # the first slot is 20 ms past: within the grace
    with patience(0.01), holding(held[0]):
        throttle.wait("a.example")
    with patience(0.01), holding(held[0]), pytest.raises(HostBusy):
        throttle.wait("a.example")  # used already: a newcomer now, behind the held slots
    time.sleep(0.3 + 0.2)  # the second slot is ~0.2 s past: more than the grace
    with patience(0.01), holding(held[1]), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert busy.value.reservation.slot > held[1].slot
    with patience(0.01), holding(Reservation("a.example", 12345)), pytest.raises(HostBusy):
        throttle.wait("a.example")  # a slot Redis never reserved is no reservation
    assert slept == []
    assert 0 < client.pttl(f"{prefix}a.example:held") <= 2000
    client.close()
