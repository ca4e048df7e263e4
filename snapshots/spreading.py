"""Sharing a batch between groups and spreading each group's items: pure logic, no Django."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def fair_shares(groups: Sequence[Hashable], limit: int) -> list[int]:
    """Which of the items (given in order of priority, by their groups) make a batch of at
    most `limit`: the indexes, in order.

    Each group first takes up to an equal share of the batch (the limit divided by the
    number of groups, rounded up), in priority order; places left over go to the items
    passed over, in priority order too. So a group with many items does not crowd the
    others out of a batch, and a batch is never short while items are left.
    """
    share = -(-limit // max(1, len(set(groups))))
    taken: Counter[Hashable] = Counter()
    chosen: list[int] = []
    passed_over: list[int] = []
    for index, group in enumerate(groups):
        if len(chosen) < limit and taken[group] < share:
            taken[group] += 1
            chosen.append(index)
        else:
            passed_over.append(index)
    return sorted(chosen + passed_over[: limit - len(chosen)])


def spread_evenly[T](groups: Sequence[Sequence[T]]) -> list[T]:
    """Every item of every group, each group's items in their order and at even intervals
    over the whole sequence.

    The k-th of a group's n items is placed at (k + phase) / n in [0, 1), the groups'
    phases spread evenly over (0, 1) in the order given, and the items come out in order
    of place (ties: in group order). A group with 8 of 1,000 items then comes every 125th
    or so, where plain turns between groups of 4 leave its last four side by side at the
    end, once only it is left. Groups of equal size come out as plain turns, in the order
    given. The cost is one sort of the items.
    """
    count = len(groups)
    placed = sorted(
        ((k + (index + 0.5) / count) / len(group), index, k)
        for index, group in enumerate(groups)
        for k in range(len(group))
    )
    return [groups[index][k] for _, index, k in placed]
