"""Sequence alignment for the diff engine: opcodes between two sequences of hashed items.

Pure (no Django). difflib's SequenceMatcher (autojunk off) after trimming the common prefix
and suffix; regions whose estimated cost (sum of count_a * count_b over shared elements) is
over `SM_BUDGET` are first cut at anchors (elements unique on both sides, as in patience
diff), so repeated items cannot make it quadratic. The total work of one diff is bounded
(see `Work`): a region left when it runs out is reported as replaced and `Work.reached` set.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from difflib import SequenceMatcher

SM_BUDGET = 60_000  # sum over shared elements of count_a * count_b before cutting at anchors
WORK_PER_CHAR = 4  # alignment work one compute_diff may do: this much per input character,
WORK_BASE = 500_000  # plus this (a few seconds at worst for 1 MB); see the module docstring

# --- sequence alignment -------------------------------------------------------------------


def common_prefix(a: Sequence[int], alo: int, ahi: int, b: Sequence[int], blo: int, bhi: int):
    """Length of the common prefix of a[alo:ahi] and b[blo:bhi], by comparing slices in C."""
    limit = min(ahi - alo, bhi - blo)
    lo, step = 0, 32
    while lo < limit:  # gallop, then bisect the last step
        n = min(step, limit - lo)
        if a[alo + lo : alo + lo + n] == b[blo + lo : blo + lo + n]:
            lo += n
            step *= 2
            continue
        hi = lo + n
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if a[alo + lo : alo + mid] == b[blo + lo : blo + mid]:
                lo = mid
            else:
                hi = mid
        return lo
    return lo


def common_suffix(a: Sequence[int], alo: int, ahi: int, b: Sequence[int], blo: int, bhi: int):
    limit = min(ahi - alo, bhi - blo)
    n = 0
    while n < limit and a[ahi - n - 1] == b[bhi - n - 1]:
        n += 1
        if n == 64:  # long tails: switch to slice comparisons
            ra, rb = a[alo:ahi][::-1], b[blo:bhi][::-1]
            return common_prefix(ra, 0, len(ra), rb, 0, len(rb))
    return n


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest chain of pairs increasing in both coordinates (pairs sorted by first)."""
    tails: list[int] = []  # smallest second coordinate ending a chain of each length
    tail_idx: list[int] = []
    back: list[int] = []
    for k, (_, j) in enumerate(pairs):
        pos = bisect_left(tails, j)
        back.append(tail_idx[pos - 1] if pos else -1)
        if pos == len(tails):
            tails.append(j)
            tail_idx.append(k)
        else:
            tails[pos] = j
            tail_idx[pos] = k
    chain = []
    k = tail_idx[-1] if tail_idx else -1
    while k >= 0:
        chain.append(pairs[k])
        k = back[k]
    return chain[::-1]


def _anchors(sa: Sequence[int], sb: Sequence[int], ca: Counter, cb: Counter):
    """Anchor pairs: elements unique on both sides (patience diff); failing that, the k-th
    occurrence of each shared element on one side with its k-th on the other."""
    unique = {t for t, n in ca.items() if n == 1 and cb.get(t) == 1}
    shared = unique or ca.keys() & cb.keys()
    occurrences: dict[int, deque[int]] = defaultdict(deque)
    for j, t in enumerate(sb):
        if t in shared:
            occurrences[t].append(j)
    pairs = []
    for i, t in enumerate(sa):
        if occurrences.get(t):
            pairs.append((i, occurrences[t].popleft()))
    return _longest_increasing(pairs)


def _find(seq: Sequence[int], item: int, lo: int, hi: int) -> int:
    try:
        return seq.index(item, lo, hi)  # type: ignore[attr-defined]
    except ValueError:
        return -1


@dataclass(slots=True)
class Work:
    """What one compute_diff may still spend on alignment, shared by all its alignments."""

    left: int
    reached: bool = False

    @classmethod
    def for_size(cls, chars: int) -> Work:
        return cls(left=WORK_PER_CHAR * chars + WORK_BASE)


current_work: ContextVar[Work | None] = ContextVar("diff_work", default=None)


def matching_runs(a: Sequence[int], b: Sequence[int]) -> list[tuple[int, int, int]]:
    """Runs (i, j, n) with a[i:i+n] == b[j:j+n], increasing in i and j."""
    runs: list[tuple[int, int, int]] = []
    work = current_work.get() or Work.for_size(len(a) + len(b))
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        p = common_prefix(a, alo, ahi, b, blo, bhi)
        if p:
            runs.append((alo, blo, p))
            alo, blo = alo + p, blo + p
        s = common_suffix(a, alo, ahi, b, blo, bhi)
        if s:
            runs.append((ahi - s, bhi - s, s))
            ahi, bhi = ahi - s, bhi - s
        if alo == ahi or blo == bhi:
            continue
        if ahi - alo == 1 or bhi - blo == 1:  # common after small edits: no need to count
            k = _find(b, a[alo], blo, bhi) if ahi - alo == 1 else _find(a, b[blo], alo, ahi)
            if k >= 0:
                runs.append((alo, k, 1) if ahi - alo == 1 else (k, blo, 1))
            continue
        sa, sb = a[alo:ahi], b[blo:bhi]
        ca, cb = Counter(sa), Counter(sb)
        cost = sum(n * cb[t] for t, n in ca.items() if t in cb)
        work.left -= min(cost, SM_BUDGET) + len(sa) + len(sb)
        if not cost:
            continue
        if work.left < 0:  # out of work: this region is shown as rewritten, and the diff says so
            work.reached = True
            continue
        if cost <= SM_BUDGET:
            matcher = SequenceMatcher(None, sa, sb, autojunk=False)
            runs.extend((alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n)
            continue
        pi, pj = alo, blo  # end of the last run taken
        for i, j in _anchors(sa, sb, ca, cb):
            i, j = alo + i, blo + j
            if i < pi or j < pj:
                continue  # inside the run grown from an earlier anchor
            n = common_prefix(a, i, ahi, b, j, bhi)  # grow the anchor forward
            runs.append((i, j, n))
            stack.append((pi, i, pj, j))
            pi, pj = i + n, j + n
        stack.append((pi, ahi, pj, bhi))
    runs.sort()
    merged: list[tuple[int, int, int]] = []
    for i, j, n in runs:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            mi, mj, mn = merged[-1]
            merged[-1] = (mi, mj, mn + n)
        else:
            merged.append((i, j, n))
    return merged


def opcodes(a: Sequence[int], b: Sequence[int]) -> list[tuple[str, int, int, int, int]]:
    ops = []
    i = j = 0
    for ai, bj, n in [*matching_runs(a, b), (len(a), len(b), 0)]:
        if i < ai or j < bj:
            tag = "replace" if i < ai and j < bj else ("delete" if i < ai else "insert")
            ops.append((tag, i, ai, j, bj))
        if n:
            ops.append(("equal", ai, ai + n, bj, bj + n))
        i, j = ai + n, bj + n
    return ops
