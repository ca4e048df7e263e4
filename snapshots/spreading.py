"""Merging queues so that each one's items are spread out: pure logic, no Django."""

from __future__ import annotations

from collections.abc import Sequence


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
