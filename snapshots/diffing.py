"""The diff engine: what changed between two versions of a document, computed once and stored.

Pure (no Django). Input is normalized Markdown; output is a `Diff` that renders to HTML,
email and text (see diff_render.py) and round-trips through JSON for storage on a Change.

How it works, and the choices behind it:

* Blocks. The text is split into blocks: a run of non-blank lines is a paragraph, except
  that every heading (ATX `#` or setext underline), list item and table row is a block of
  its own, so an edit to one bullet does not drag its neighbours into the diff. A block's
  text keeps its trailing blank lines, so joining the blocks gives the document back
  exactly; blocks are matched on their *body* (text without those blank lines), so a
  difference only in the blank lines between blocks is layout, not a change (both exact
  texts are still kept on the equal block).
* Alignment. Bodies are aligned with difflib's SequenceMatcher (autojunk off), after
  trimming the common prefix and suffix. Pathological inputs (thousands of repeated blocks
  or tokens) would make it quadratic, so a region whose estimated cost (sum of count_a *
  count_b over shared elements) is over `SM_BUDGET` is first cut at anchors (elements
  unique on both sides, as in patience diff; failing that, the k-th occurrence of a shared
  element paired with its k-th) and only the pieces go to SequenceMatcher. The total
  alignment work of one diff is bounded by `WORK_PER_CHAR` per input character plus
  `WORK_BASE` (in units of that cost estimate); a region left when that runs out is shown as rewritten (delete + insert), and `Diff.bounded` says
  so (never silently). Only adversarial input gets there (hundreds of runs like "a b a b"
  against "b a b a"); no corpus pair or benchmark input does (the bench prints the flag).
* Moves. A deleted block whose body is inserted unchanged elsewhere is a move (blocks with
  no words, such as `---` or table rules, are not). A leftover deleted/inserted pair whose
  words are at least `_NEAR_MOVE` similar is an edited move, when there are at most
  `_NEAR_MOVE_MAX_CHECKS` pairs to compare (beyond that only identical moves are found).
* Pairing. Inside each replaced run the remaining old and new blocks are paired in order by
  word-set similarity (Dice, threshold `_PAIR_MIN`), maximising total similarity. Runs bigger
  than `_PAIR_FULL` candidate pairs only compare blocks within `_PAIR_WINDOW` positions of the
  run's diagonal; a block outside its window is shown as delete + insert, never dropped.
* Words. Paired blocks are diffed by tokens: words, whitespace runs, HTML tags and single
  punctuation characters, so joining them gives the text back. Same alignment as above, in
  two passes for speed: units (a token with the whitespace after it), then tokens inside
  each replaced run of units, so an equal token is never left marked as changed. Word counts follow word processors: a run of letters/digits (joined by an
  inner apostrophe, period, comma or hyphen: "don't", "1,000", "opt-out") is one word; each
  CJK ideograph or kana is one word (no spaces to count by); HTML tags, punctuation and
  Markdown link destinations `](...)` are not words, since readers never see them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import accumulate
from operator import itemgetter
from typing import Any, Literal

from snapshots.alignment import Work, common_prefix, common_suffix, current_work, opcodes

SCHEMA = "clausewatch.diff"
SCHEMA_VERSION = 1

BlockOp = Literal["equal", "insert", "delete", "replace", "move_from", "move_to"]
SegmentOp = Literal["equal", "insert", "delete"]
Segment = tuple[SegmentOp, str]

# Tuning and bounds (documented in the module docstring).
_PAIR_MIN = 0.5  # word-set Dice similarity for two blocks to be shown as one edited block
_PAIR_FULL = 2_500  # candidate pairs compared exhaustively in one replaced run
_PAIR_WINDOW = 25  # otherwise: blocks compared within this many positions of the diagonal
_NEAR_MOVE = 0.8  # similarity for a deleted + inserted pair to count as an edited move
_NEAR_MOVE_MIN_WORDS = 8  # short blocks are too common to call an edited copy a move
_NEAR_MOVE_MAX_CHECKS = 40_000


# --- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One block of a hunk.

    equal: old_text/new_text (equal bodies; they differ only if the blank lines after differ).
    insert: new_text. delete: old_text. replace: both, plus word `segments`.
    move_from: old_text at its old place. move_to: new_text at its new place; if the text was
    also edited, `segments` and old_text say how. Texts are exact, trailing blank lines included.
    """

    op: BlockOp
    old_text: str | None = None
    new_text: str | None = None
    segments: list[Segment] = field(default_factory=list)
    move_id: int | None = None
    words_added: int = 0
    words_removed: int = 0

    @property
    def is_change(self) -> bool:
        return self.op != "equal"

    @property
    def edited(self) -> bool:
        """A replace, or a move whose text was also changed."""
        return self.op == "replace" or (self.op == "move_to" and bool(self.segments))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op": self.op}
        if self.op == "equal" and self.old_text == self.new_text:
            data["text"] = self.old_text
        elif self.segments:
            data["segments"] = [[op, text] for op, text in self.segments]
        else:
            if self.old_text is not None:
                data["old_text"] = self.old_text
            if self.new_text is not None:
                data["new_text"] = self.new_text
        if self.move_id is not None:
            data["move_id"] = self.move_id
        if self.words_added:
            data["words_added"] = self.words_added
        if self.words_removed:
            data["words_removed"] = self.words_removed
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Block:
        segments: list[Segment] = [(op, text) for op, text in data.get("segments", [])]
        old_text, new_text = data.get("old_text"), data.get("new_text")
        if "text" in data:
            old_text = new_text = data["text"]
        elif segments:
            old_text, new_text = _sides(segments)
        return cls(
            op=data["op"],
            old_text=old_text,
            new_text=new_text,
            segments=segments,
            move_id=data.get("move_id"),
            words_added=data.get("words_added", 0),
            words_removed=data.get("words_removed", 0),
        )


@dataclass(frozen=True)
class Hunk:
    """Changed blocks with their context.

    section: nearest heading at or before the first change, in the new document (in the old
    one when the hunk only removes text); "" before any heading. sections: every distinct
    section a changed block of the hunk falls in, in order. old_start/new_start: 0-based
    index of the hunk's first block in the old/new document's list of blocks.
    """

    section: str
    old_start: int
    new_start: int
    blocks: list[Block]
    sections: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "sections": list(self.sections),
            "old_start": self.old_start,
            "new_start": self.new_start,
            "blocks": [b.to_json() for b in self.blocks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hunk:
        return cls(
            section=data["section"],
            old_start=data["old_start"],
            new_start=data["new_start"],
            blocks=[Block.from_json(b) for b in data["blocks"]],
            sections=list(data.get("sections", [data["section"]])),
        )


@dataclass(frozen=True)
class DiffStats:
    words_added: int = 0
    words_removed: int = 0
    blocks_added: int = 0
    blocks_removed: int = 0
    blocks_modified: int = 0
    blocks_moved: int = 0  # counted once per moved block (at its new place), edited or not

    @classmethod
    def from_hunks(cls, hunks: Sequence[Hunk]) -> DiffStats:
        counts: Counter[str] = Counter()
        added = removed = 0
        for hunk in hunks:
            for block in hunk.blocks:
                counts[block.op] += 1
                added += block.words_added
                removed += block.words_removed
        return cls(
            words_added=added,
            words_removed=removed,
            blocks_added=counts["insert"],
            blocks_removed=counts["delete"],
            blocks_modified=counts["replace"],
            blocks_moved=counts["move_to"],
        )

    def to_json(self) -> dict[str, int]:
        return {
            "words_added": self.words_added,
            "words_removed": self.words_removed,
            "blocks_added": self.blocks_added,
            "blocks_removed": self.blocks_removed,
            "blocks_modified": self.blocks_modified,
            "blocks_moved": self.blocks_moved,
        }


@dataclass(frozen=True)
class Diff:
    """hunks in document order. bounded: the work bound was reached and some region is shown
    as rewritten rather than aligned word by word (still exact; renderers say so)."""

    hunks: list[Hunk]
    stats: DiffStats
    bounded: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.hunks

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "stats": self.stats.to_json(),
            "bounded": self.bounded,
            "hunks": [h.to_json() for h in self.hunks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diff:
        if data.get("schema") != SCHEMA or data.get("version") != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported diff format {data.get('schema')!r} v{data.get('version')!r}"
            )
        hunks = [Hunk.from_json(h) for h in data["hunks"]]
        return cls(
            hunks=hunks, stats=DiffStats(**data["stats"]), bounded=data.get("bounded", False)
        )

    def changed_pairs(self) -> list[tuple[str | None, str | None]]:
        """(old, new) body of every changed block: (None, new) added, (old, None) removed,
        (old, new) edited. Moves appear only if edited, once, as (old, new)."""
        pairs: list[tuple[str | None, str | None]] = []
        for hunk in self.hunks:
            for b in hunk.blocks:
                if b.op == "insert":
                    pairs.append((None, body(b.new_text or "")))
                elif b.op == "delete":
                    pairs.append((body(b.old_text or ""), None))
                elif b.edited:
                    pairs.append((body(b.old_text or ""), body(b.new_text or "")))
        return pairs

    def filter_hunks(self, predicate: Callable[[Hunk], bool]) -> Diff:
        """The hunks `predicate` keeps, with stats recounted over them."""
        kept = [h for h in self.hunks if predicate(h)]
        return Diff(hunks=kept, stats=DiffStats.from_hunks(kept), bounded=self.bounded)


# --- public helpers -----------------------------------------------------------------------


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_TRAILING_BLANK = re.compile(r"\n[ \t\n]*\Z")


def body(text: str) -> str:
    """A block's text without its trailing newline and blank lines."""
    return _TRAILING_BLANK.sub("", text)


_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
_LIST_ITEM = re.compile(r"[ \t]*(?:[*+-]|\d{1,9}[.)])(?:[ \t]|$)")
_TABLE_ROW = re.compile(r"[ \t]*\|")


def block_kind(text: str) -> Literal["heading", "list", "table", "paragraph", "blank"]:
    text = body(text)
    if not text.strip():
        return "blank"
    first, _, rest = text.partition("\n")
    setext = bool(rest) and _SETEXT.match(rest.rsplit("\n", 1)[-1])
    if (_ATX.match(first) or setext) and not (_LIST_ITEM.match(first) or _TABLE_ROW.match(first)):
        return "heading"
    if _LIST_ITEM.match(first):
        return "list"
    if _TABLE_ROW.match(first):
        return "table"
    return "paragraph"


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"\*\*|__|`")
_MD_ESCAPE = re.compile(r"\\(.)")


def heading_text(text: str) -> str:
    """The readable text of a heading block ("## 2. Sharing" -> "2. Sharing")."""
    text = body(text)
    if _ATX.match(text):
        text = re.sub(r"[ \t]+#+[ \t]*$", "", text.strip().lstrip("#"))
    else:
        text = text.rsplit("\n", 1)[0]
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_EMPHASIS.sub("", text)
    text = _MD_ESCAPE.sub(r"\1", text)
    return " ".join(text.split())


def count_words(text: str) -> int:
    tokens = tokenize(text)
    return _count_words(tokens, 0, len(tokens), _link_offsets(text, tokens))


def display_segments(block: Block) -> list[Segment]:
    """A block's segments without the trailing blank lines that separate it from the next."""
    old_len = len(body(block.old_text or ""))
    new_len = len(body(block.new_text or ""))
    out: list[Segment] = []
    old_pos = new_pos = 0
    for op, text in block.segments:
        if op == "delete":
            keep = max(0, min(len(text), old_len - old_pos))
        elif op == "insert":
            keep = max(0, min(len(text), new_len - new_pos))
        else:
            keep = max(0, min(len(text), max(old_len - old_pos, new_len - new_pos)))
        if op != "insert":
            old_pos += len(text)
        if op != "delete":
            new_pos += len(text)
        if keep:
            out.append((op, text[:keep]))
    return out


# --- tokens -------------------------------------------------------------------------------


def _mark_ranges() -> str:
    """A character class body of the combining marks in the BMP: they belong to the word
    they modify (Arabic harakat, Hebrew points, Indic vowel signs)."""
    parts: list[str] = []
    start = prev = -2
    for cp in range(0x300, 0x10000):
        if unicodedata.category(chr(cp)) in ("Mn", "Mc", "Me"):
            if cp != prev + 1:
                if start >= 0:
                    parts.append(f"\\u{start:04x}-\\u{prev:04x}")
                start = cp
            prev = cp
    parts.append(f"\\u{start:04x}-\\u{prev:04x}")
    return "".join(parts) + "\\u200c\\u200d"


_MARKS = _mark_ranges()
# Scripts written without spaces, where a word processor counts each character as a word.
_CJK = (
    r"\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3038-\u303c\u3040-\u30ff\u3100-\u312f"
    r"\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    r"\U00020000-\U0003134f"
)
_WORD_RUN = rf"(?:[^\W_{_CJK}]++[{_MARKS}]*+)++"
_TOKEN = re.compile(
    rf"<(?:/?[A-Za-z][A-Za-z0-9-]*+(?:\s[^<>]{{0,256}})?/?)>"  # an HTML tag: one token, no word
    rf"|{_WORD_RUN}(?:['\u2019.,\-\u2010]{_WORD_RUN})*+"
    rf"|(?=[^\W_])[{_CJK}][{_MARKS}]*+"
    r"|\s++"
    r"|.",
    re.S,
)
_LINK_DEST = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\)")


def tokenize(text: str) -> list[str]:
    """Words, whitespace runs, tags and single other characters; "".join() gives text back."""
    return _TOKEN.findall(text)


def _link_offsets(text: str, tokens: list[str]) -> list[tuple[int, int]] | None:
    """Token index ranges inside Markdown link destinations, which readers never see."""
    if "](" not in text:
        return None
    starts = [0, *accumulate(map(len, tokens))]
    ranges = []
    for m in _LINK_DEST.finditer(text):
        ranges.append((bisect_left(starts, m.start() + 2), bisect_left(starts, m.end())))
    return ranges


def _count_words(tokens: list[str], lo: int, hi: int, hidden: list[tuple[int, int]] | None) -> int:
    # A token is a word iff its first character is a letter or digit (see _TOKEN).
    n = sum(map(str.isalnum, map(itemgetter(0), tokens[lo:hi])))
    for h_lo, h_hi in hidden or ():
        a, b = max(lo, h_lo), min(hi, h_hi)
        if a < b:
            n -= sum(map(str.isalnum, map(itemgetter(0), tokens[a:b])))
    return n


_WORDS = re.compile(rf"{_WORD_RUN}(?:['\u2019.,\-\u2010]{_WORD_RUN})*+|(?=[^\W_])[{_CJK}]")


# --- words --------------------------------------------------------------------------------


def _units(tokens: list[str], lo: int, hi: int) -> list[int]:
    """Start indexes of the units of tokens[lo:hi]: a token with the whitespace after it."""
    starts = []
    for k in range(lo, hi):
        if not (starts and tokens[k].isspace() and not tokens[k - 1].isspace()):
            starts.append(k)
    return starts


def _token_ops(a: list[str], b: list[str], alo: int, ahi: int, blo: int, bhi: int):
    """Opcodes (absolute indexes) aligning tokens a[alo:ahi] with b[blo:bhi].

    Aligned first by units (a word with its trailing space) and then, inside each replaced
    run of units, by tokens: spaces are half of all tokens and all alike, which makes a
    token-level alignment slow, while the second pass still finds every equal token."""
    ua, ub = _units(a, alo, ahi), _units(b, blo, bhi)
    ua_end, ub_end = [*ua[1:], ahi][: len(ua)], [*ub[1:], bhi][: len(ub)]
    ids: dict[str, int] = {}
    ka = [ids.setdefault("".join(a[s:e]), len(ids)) for s, e in zip(ua, ua_end, strict=True)]
    kb = [ids.setdefault("".join(b[s:e]), len(ids)) for s, e in zip(ub, ub_end, strict=True)]
    ops = []
    for tag, i1, i2, j1, j2 in opcodes(ka, kb):
        ti1, ti2 = (ua[i1], ua_end[i2 - 1]) if i1 < i2 else (ahi if i1 == len(ua) else ua[i1],) * 2
        tj1, tj2 = (ub[j1], ub_end[j2 - 1]) if j1 < j2 else (bhi if j1 == len(ub) else ub[j1],) * 2
        if tag != "replace":
            ops.append((tag, ti1, ti2, tj1, tj2))
            continue
        tids: dict[str, int] = {}
        ta = [tids.setdefault(t, len(tids)) for t in a[ti1:ti2]]
        tb = [tids.setdefault(t, len(tids)) for t in b[tj1:tj2]]
        ops += [(t, i + ti1, k + ti1, j + tj1, m + tj1) for t, i, k, j, m in opcodes(ta, tb)]
    return ops


def _word_diff(old: str, new: str) -> tuple[list[Segment], int, int]:
    """Token-level segments from old to new, with words added and removed."""
    a, b = tokenize(old), tokenize(new)
    # Trim the common ends on the strings first: a long block with one edit then aligns
    # only the edited middle.
    p = common_prefix(a, 0, len(a), b, 0, len(b))
    s = common_suffix(a, p, len(a), b, p, len(b))
    ops = _token_ops(a, b, p, len(a) - s, p, len(b) - s)
    if p:
        ops.insert(0, ("equal", 0, p, 0, p))
    if s:
        ops.append(("equal", len(a) - s, len(a), len(b) - s, len(b)))
    hidden_a, hidden_b = _link_offsets(old, a), _link_offsets(new, b)
    segments: list[Segment] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
            continue
        if i1 < i2:
            segments.append(("delete", "".join(a[i1:i2])))
            removed += _count_words(a, i1, i2, hidden_a)
        if j1 < j2:
            segments.append(("insert", "".join(b[j1:j2])))
            added += _count_words(b, j1, j2, hidden_b)
    return _merge(segments), added, removed


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join neighbours with the same op; put a deletion before the insertion next to it."""
    merged: list[Segment] = []
    for op, text in segments:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        elif op == "delete" and merged and merged[-1][0] == "insert":
            if len(merged) > 1 and merged[-2][0] == "delete":
                merged[-2] = ("delete", merged[-2][1] + text)
            else:
                merged.insert(len(merged) - 1, (op, text))
        else:
            merged.append((op, text))
    return merged


def _sides(segments: Sequence[Segment]) -> tuple[str, str]:
    old = "".join(t for op, t in segments if op != "insert")
    new = "".join(t for op, t in segments if op != "delete")
    return old, new


# --- blocks -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Piece:
    text: str
    body: str
    kind: str
    heading: str | None
    _sig: frozenset[str] | None = None
    _words: int | None = None

    @property
    def sig(self) -> frozenset[str]:
        if self._sig is None:
            self._sig = frozenset(_WORDS.findall(self.body))
        return self._sig

    @property
    def has_words(self) -> bool:
        return bool(self.sig) if self._sig is not None else bool(_WORDS.search(self.body))

    @property
    def words(self) -> int:
        if self._words is None:
            self._words = count_words(self.text)
        return self._words


def _starts_block(line: str) -> bool:
    return bool(_LIST_ITEM.match(line) or _ATX.match(line) or _TABLE_ROW.match(line))


def split_blocks(text: str) -> list[str]:
    """The exact texts of a document's blocks; "".join() of them is the text."""
    out: list[str] = []
    current: list[str] = []
    open_kind = ""  # kind of the current block while more lines may join it; "" when closed
    lines = text.split("\n")
    ends = ["\n"] * (len(lines) - 1) + [""]
    for line, end in zip(lines, ends, strict=True):
        if not line and not end:
            break
        if not line.strip(" \t"):
            if not current:
                open_kind = ""  # leading blank lines make a blank block of their own
            current.append(line + end)
            open_kind = ""
            continue
        if open_kind == "paragraph" and _SETEXT.match(line):
            current.append(line + end)
            open_kind = ""
            continue
        if open_kind in ("paragraph", "list") and not _starts_block(line):
            current.append(line + end)
            continue
        if current:
            out.append("".join(current))
        current = [line + end]
        if _ATX.match(line) or _TABLE_ROW.match(line):
            open_kind = ""
        else:
            open_kind = "list" if _LIST_ITEM.match(line) else "paragraph"
    if current:
        out.append("".join(current))
    return out


def _pieces(text: str) -> list[_Piece]:
    pieces = []
    for t in split_blocks(text):
        kind = block_kind(t)
        pieces.append(_Piece(t, body(t), kind, heading_text(t) if kind == "heading" else None))
    return pieces


def _similarity(a: _Piece, b: _Piece) -> float:
    sa, sb = a.sig, b.sig
    if not sa and not sb:  # rules and separators: compare characters, they are short
        if len(a.body) + len(b.body) > 400:
            return 0.0
        return SequenceMatcher(None, a.body, b.body, autojunk=False).ratio()
    total = len(sa) + len(sb)
    return 2 * len(sa & sb) / total


def _length_bound(a: _Piece, b: _Piece) -> float:
    """Upper bound of _similarity, cheap."""
    la, lb = len(a.sig), len(b.sig)
    if not la and not lb:
        return 1.0
    return 2 * min(la, lb) / (la + lb)


def _pair(old: list[int], new: list[int], a: list[_Piece], b: list[_Piece]):
    """Order-preserving pairs (old index, new index) with the most total similarity."""
    n, m = len(old), len(new)
    if not n or not m:
        return []
    candidates: list[tuple[int, int, float]] = []
    full = n * m <= _PAIR_FULL
    for x in range(n):
        if full:
            ys = range(m)
        else:
            centre = x * m // n
            ys = range(max(0, centre - _PAIR_WINDOW), min(m, centre + _PAIR_WINDOW + 1))
        pa = a[old[x]]
        for y in ys:
            pb = b[new[y]]
            if _length_bound(pa, pb) < _PAIR_MIN:
                continue
            score = _similarity(pa, pb)
            if score >= _PAIR_MIN:
                candidates.append((x, y, score))
    if not candidates:
        return []
    return [(old[x], new[y]) for x, y in _heaviest_chain(candidates, m)]


def _heaviest_chain(candidates: list[tuple[int, int, float]], m: int) -> list[tuple[int, int]]:
    """Maximum-weight chain strictly increasing in x and y (candidates sorted by x)."""
    tree = [(0.0, -1)] * (m + 1)  # Fenwick tree of prefix maxima over y: (score, candidate)

    def query(y: int) -> tuple[float, int]:  # best chain ending at some y' < y
        best = (0.0, -1)
        while y > 0:
            best = max(best, tree[y])
            y -= y & -y
        return best

    def update(y: int, value: tuple[float, int]) -> None:
        y += 1
        while y <= m:
            tree[y] = max(tree[y], value)
            y += y & -y

    back = [-1] * len(candidates)
    totals = [0.0] * len(candidates)
    k = 0
    while k < len(candidates):
        row_end = k
        while row_end < len(candidates) and candidates[row_end][0] == candidates[k][0]:
            row_end += 1
        for c in range(k, row_end):  # a row only builds on earlier rows
            prev_score, prev = query(candidates[c][1])
            totals[c], back[c] = prev_score + candidates[c][2], prev
        for c in range(k, row_end):
            update(candidates[c][1], (totals[c], c))
        k = row_end
    best = max(range(len(candidates)), key=lambda c: (totals[c], -c))
    chain = []
    while best >= 0:
        chain.append(candidates[best][:2])
        best = back[best]
    return chain[::-1]


# --- rows ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    op: BlockOp
    old: int | None
    new: int | None
    partner: int | None = None  # for moves: the old index of the moved block
    move_id: int | None = None


def _exact_moves(deleted: list[int], inserted: list[int], a, b) -> dict[int, int]:
    """new index -> old index of blocks deleted and inserted unchanged."""
    by_body: dict[str, deque[int]] = defaultdict(deque)
    for i in deleted:
        if a[i].has_words:
            by_body[a[i].body].append(i)
    moves = {}
    for j in inserted:
        queue = by_body.get(b[j].body)
        if queue:
            moves[j] = queue.popleft()
    return moves


def _near_moves(deleted: list[int], inserted: list[int], a, b) -> dict[int, int]:
    """new index -> old index of leftover blocks similar enough to be an edited move."""
    dels = [i for i in deleted if len(a[i].sig) >= _NEAR_MOVE_MIN_WORDS]
    ins = [j for j in inserted if len(b[j].sig) >= _NEAR_MOVE_MIN_WORDS]
    if not dels or not ins or len(dels) * len(ins) > _NEAR_MOVE_MAX_CHECKS:
        return {}
    scored = []
    for i in dels:
        for j in ins:
            if _length_bound(a[i], b[j]) >= _NEAR_MOVE:
                score = _similarity(a[i], b[j])
                if score >= _NEAR_MOVE:
                    scored.append((-score, i, j))
    scored.sort()
    moves: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in scored:
        if j not in moves and i not in used:
            moves[j] = i
            used.add(i)
    return moves


def _interleave(old: list[int], new: list[int], pairs, old_op, new_op) -> list[_Row]:
    """Rows of one replaced run: unpaired old blocks, then unpaired new ones, before each pair."""
    rows: list[_Row] = []
    x = y = 0
    for pi, pj in [*pairs, (None, None)]:
        while x < len(old) and old[x] != pi:
            rows.append(_Row(old_op(old[x]), old[x], None))
            x += 1
        while y < len(new) and new[y] != pj:
            rows.append(_Row(new_op(new[y]), None, new[y]))
            y += 1
        if pi is not None:
            rows.append(_Row("replace", pi, pj))
            x, y = x + 1, y + 1
    return rows


def _rows(a: list[_Piece], b: list[_Piece]) -> list[_Row]:
    ids: dict[str, int] = {}
    ka = [ids.setdefault(p.body, len(ids)) for p in a]
    kb = [ids.setdefault(p.body, len(ids)) for p in b]
    ops = opcodes(ka, kb)
    deleted = [i for tag, i1, i2, _, _ in ops if tag != "equal" for i in range(i1, i2)]
    inserted = [j for tag, _, _, j1, j2 in ops if tag != "equal" for j in range(j1, j2)]
    moved_to = _exact_moves(deleted, inserted, a, b)
    moved_from = set(moved_to.values())

    pairs_by_run = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        old = [i for i in range(i1, i2) if i not in moved_from]
        new = [j for j in range(j1, j2) if j not in moved_to]
        pairs_by_run.append(_pair(old, new, a, b))
    paired_old = {i for pairs in pairs_by_run for i, _ in pairs}
    paired_new = {j for pairs in pairs_by_run for _, j in pairs}
    near = _near_moves(
        [i for i in deleted if i not in moved_from and i not in paired_old],
        [j for j in inserted if j not in moved_to and j not in paired_new],
        a,
        b,
    )
    moved_to.update(near)
    moved_from.update(near.values())

    def old_op(i: int) -> BlockOp:
        return "move_from" if i in moved_from else "delete"

    def new_op(j: int) -> BlockOp:
        return "move_to" if j in moved_to else "insert"

    rows: list[_Row] = []
    runs = iter(pairs_by_run)
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            rows.extend(_Row("equal", i1 + k, j1 + k) for k in range(i2 - i1))
            continue
        pairs = next(runs)
        rows.extend(_interleave(list(range(i1, i2)), list(range(j1, j2)), pairs, old_op, new_op))
    for row in rows:
        if row.op == "move_to":
            row.partner = moved_to[row.new]
        elif row.op == "replace" and a[row.old].body == b[row.new].body:
            row.op = "equal"  # a crossing match of a wordless block (a table rule): unchanged
    _number_moves(rows)
    return rows


def _number_moves(rows: list[_Row]) -> None:
    """One id per moved stretch: consecutive moved blocks that were consecutive before."""
    ids: dict[int, int] = {}
    count = 0
    last: _Row | None = None
    for row in rows:
        if row.op != "move_to":
            last = None
            continue
        if last is not None and last.partner is not None and last.partner + 1 == row.partner:
            row.move_id = last.move_id
        else:
            count += 1
            row.move_id = count
        ids[row.partner] = row.move_id
        last = row
    for row in rows:
        if row.op == "move_from":
            row.move_id = ids[row.old]


def _block(row: _Row, a: list[_Piece], b: list[_Piece]) -> Block:
    old = a[row.old].text if row.old is not None else None
    new = b[row.new].text if row.new is not None else None
    if row.op == "equal":
        return Block("equal", old, new)
    if row.op == "insert":
        return Block("insert", None, new, words_added=b[row.new].words)
    if row.op == "delete":
        return Block("delete", old, None, words_removed=a[row.old].words)
    if row.op == "move_from":
        return Block("move_from", old, None, move_id=row.move_id)
    if row.op == "move_to":
        source = a[row.partner]
        if source.body == b[row.new].body:
            return Block("move_to", None, new, move_id=row.move_id)
        segments, added, removed = _word_diff(source.text, new)
        return Block("move_to", source.text, new, segments, row.move_id, added, removed)
    segments, added, removed = _word_diff(old, new)
    return Block("replace", old, new, segments, None, added, removed)


# --- hunks --------------------------------------------------------------------------------


def _hunks(rows: list[_Row], a: list[_Piece], b: list[_Piece], context: int) -> list[Hunk]:
    context = max(0, context)
    changed = [k for k, row in enumerate(rows) if row.op != "equal"]
    if not changed:
        return []
    # Running positions and headings before each row, both documents.
    old_pos, new_pos, old_head, new_head = [], [], [], []
    o = n = 0
    oh = nh = ""
    for row in rows:
        old_pos.append(o)
        new_pos.append(n)
        if row.old is not None:
            oh = a[row.old].heading or oh
            o += 1
        if row.new is not None:
            nh = b[row.new].heading or nh
            n += 1
        old_head.append(oh)  # heading in force at this row (the row itself included)
        new_head.append(nh)

    groups: list[list[int]] = [[changed[0]]]
    for k in changed[1:]:
        if k - groups[-1][-1] - 1 <= 2 * context:
            groups[-1].append(k)
        else:
            groups.append([k])

    hunks = []
    for group in groups:
        start = max(0, group[0] - context)
        end = min(len(rows), group[-1] + context + 1)
        only_removes = all(rows[k].new is None for k in group)
        heads = old_head if only_removes else new_head
        sections = list(dict.fromkeys(heads[k] for k in group))
        hunks.append(
            Hunk(
                section=sections[0],
                old_start=old_pos[start],
                new_start=new_pos[start],
                blocks=[_block(rows[k], a, b) for k in range(start, end)],
                sections=sections,
            )
        )
    return hunks


def compute_diff(old: str, new: str, *, context: int = 1) -> Diff:
    """The diff from old to new, with `context` unchanged blocks around each change."""
    old, new = normalize_newlines(old), normalize_newlines(new)
    if old == new:
        return Diff(hunks=[], stats=DiffStats())
    work = Work.for_size(len(old) + len(new))
    token = current_work.set(work)
    try:
        a, b = _pieces(old), _pieces(new)
        hunks = _hunks(_rows(a, b), a, b, context)
    finally:
        current_work.reset(token)
    bounded = work.reached
    return Diff(hunks=hunks, stats=DiffStats.from_hunks(hunks), bounded=bounded)
