"""spread_evenly: the order a dispatch sends its checks in, hosts spread out."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise, zip_longest

from hypothesis import given
from hypothesis import strategies as st

from snapshots.spreading import fair_shares, spread_evenly

group_sizes = st.lists(st.integers(min_value=1, max_value=12), min_size=0, max_size=25)


def groups_of(sizes: list[int]) -> list[list[tuple[int, int]]]:
    return [[(group, k) for k in range(size)] for group, size in enumerate(sizes)]


def turns(groups: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    return [item for turn in zip_longest(*groups) for item in turn if item is not None]


def gaps(order: list[tuple[int, int]], group: int) -> list[int]:
    return [b - a for a, b in pairwise(i for i, (g, _) in enumerate(order) if g == group)]


@given(group_sizes)
def test_every_item_comes_once_and_each_group_keeps_its_order(sizes: list[int]) -> None:
    groups = groups_of(sizes)
    out = spread_evenly(groups)
    assert sorted(out) == sorted(item for group in groups for item in group)
    for index, group in enumerate(groups):
        assert [item for item in out if item[0] == index] == group


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=1, max_value=6))
def test_equal_groups_take_plain_turns_in_the_order_given(count: int, size: int) -> None:
    groups = groups_of([size] * count)
    assert spread_evenly(groups) == turns(groups)


def test_a_host_with_twice_the_checks_comes_twice_as_often() -> None:
    # A dispatch batch like the bench's: 1,000 checks, one host with 8, the rest with 4.
    groups = groups_of([8] + [4] * 248)
    assert gaps(turns(groups), 0)[-3:] == [1, 1, 1]  # plain turns: side by side at the end
    assert min(gaps(spread_evenly(groups), 0)) >= 120  # 125 is even
    assert min(gaps(spread_evenly(groups), 1)) >= 245  # 250 is even


def test_random_batches_keep_every_host_near_its_even_spacing() -> None:
    # 1,000 due checks drawn at random from 50-250 hosts, as a dispatch batch finds them.
    rnd = random.Random(7)
    worst = 1.0
    for _ in range(50):
        hosts = rnd.randint(50, 250)
        sizes = list(Counter(rnd.randrange(hosts) for _ in range(1000)).values())
        places: dict[int, list[int]] = {}
        for place, (group, _) in enumerate(spread_evenly(groups_of(sizes))):
            places.setdefault(group, []).append(place)
        for group, size in enumerate(sizes):
            if size > 1:
                closest = min(b - a for a, b in pairwise(places[group]))
                worst = min(worst, closest / (1000 / size))
    assert worst >= 0.5  # plain turns come down to side by side


def test_nothing_to_spread() -> None:
    assert spread_evenly([]) == []
    assert spread_evenly([["only"]]) == ["only"]


def test_each_group_takes_at_most_its_share_while_others_wait() -> None:
    groups = ["a", "a", "a", "a", "b", "a", "c", "b"]
    # A share of 4 among 3 groups is 2: a's first two, b's first, c's.
    assert fair_shares(groups, 4) == [0, 1, 4, 6]
    # Of 6: b's second too, and the one place left to the first item passed over.
    assert fair_shares(groups, 6) == [0, 1, 2, 4, 6, 7]
    assert fair_shares(groups, 100) == list(range(8))
    assert fair_shares(["a"] * 5, 3) == [0, 1, 2]  # nothing else due: the batch is full
    assert fair_shares([], 3) == []


@given(st.lists(st.sampled_from("abcdef"), max_size=60), st.integers(1, 30))
def test_a_batch_is_full_and_fair(groups: list[str], limit: int) -> None:
    chosen = fair_shares(groups, limit)
    assert chosen == sorted(set(chosen))
    assert len(chosen) == min(limit, len(groups))
    share = -(-limit // max(1, len(set(groups))))
    seen: Counter[str] = Counter()
    beyond_share = []
    for i in chosen:
        seen[groups[i]] += 1
        if seen[groups[i]] > share:
            beyond_share.append(i)
    # Places beyond a group's share go to the first items passed over, and only when the
    # shares left places free.
    left_out = [i for i in range(len(groups)) if i not in chosen]
    if beyond_share:
        assert all(i > max(beyond_share) for i in left_out)
