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
    with patience(0.1):
        throttle.wait("b.example")  # another host is free
    throttle.wait("a.example")  # a patient caller still queues: nothing was reserved
    assert len(slept) == 1 and 4.9 < slept[0] <= 5.0


def test_it_reserves_nothing_in_redis_for_an_impatient_caller(redis_url: str, prefix: str) -> None:
    slept: list[float] = []
    client = redis.Redis.from_url(redis_url)
    throttle = RedisHostThrottle(client, 5.0, prefix=prefix, sleep=slept.append)
    throttle.wait("a.example")
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert 4.8 < busy.value.retry_in <= 5.0
    throttle.wait("a.example")
    assert len(slept) == 1 and 4.8 < slept[0] <= 5.0  # the next slot, not the one after
    client.close()


def test_it_promises_impatient_callers_turns_one_interval_apart() -> None:
    clock = [100.0]
    throttle = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=lambda s: None)
    throttle.wait("a.example")  # the slot now; the next one is free at 105
    turns = []
    for _ in range(3):
        with patience(0.1), pytest.raises(HostBusy) as busy:
            throttle.wait("a.example")
        turns.append(busy.value.retry_in)
    assert turns == [5.0, 10.0, 15.0]  # not three callers back at 105 together
    clock[0] = 105.0  # the first one back finds its slot free
    with patience(0.1):
        throttle.wait("a.example")
    clock[0] = 200.0  # long after every promise: a busy caller waits one interval again
    throttle.wait("a.example")
    with patience(0.1), pytest.raises(HostBusy) as busy:
        throttle.wait("a.example")
    assert busy.value.retry_in == 5.0


def test_it_promises_turns_across_redis_clients(redis_url: str, prefix: str) -> None:
    clients = [redis.Redis.from_url(redis_url) for _ in range(3)]
    throttles = [RedisHostThrottle(c, 5.0, prefix=prefix) for c in clients]
    throttles[0].wait("a.example")
    turns = []
    for throttle in throttles:
        with patience(0.1), pytest.raises(HostBusy) as busy:
            throttle.wait("a.example")
        turns.append(busy.value.retry_in)
    # Redis's clock moves on between calls: each turn is one interval after the last.
    assert 4.8 < turns[0] <= 5.0
    assert [round(b - a, 1) for a, b in pairwise(turns)] == [5.0, 5.0]
    for client in clients:
        client.close()
