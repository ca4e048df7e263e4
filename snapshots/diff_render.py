"""Render a stored `Diff` for the site, emails, plain text and the API. Pure (no Django).

Every piece of document text goes through html.escape: the tracked pages are third-party
input and may contain <script>, javascript: links or comments, which must come out as text.
Additions and deletions never rely on colour alone: <ins>/<del> carry underline and
strike-through, whole added/removed blocks get a plus/minus gutter and a label for screen
readers, and moves are labelled in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from snapshots.diffing import Block, Diff, Hunk, body, display_segments

START_OF_DOCUMENT = "Beginning of the document"
BOUNDED_NOTE = (
    "Part of this change was too repetitive to align word by word and is shown as rewritten."
)

_GUTTER = {
    "equal": " ",
    "insert": "+",
    "delete": "\u2212",  # minus sign
    "replace": "~",
    "move_from": "↕",
    "move_to": "↕",
}
_LABEL = {"insert": "Added: ", "delete": "Removed: ", "replace": "Changed: "}


def _e(text: str) -> str:
    return escape(text, quote=True)


def _css(op: str) -> str:
    return "diff-" + op.replace("_", "-")


# --- moves --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MoveSide:
    position: int  # order of the block in the whole diff
    section: str


def _move_sides(diff: Diff) -> dict[tuple[int, str], _MoveSide]:
    sides: dict[tuple[int, str], _MoveSide] = {}
    position = 0
    for hunk in diff.hunks:
        for block in hunk.blocks:
            position += 1
            if block.move_id is not None:
                sides.setdefault((block.move_id, block.op), _MoveSide(position, hunk.section))
    return sides


def _move_label(block: Block, hunk: Hunk, sides: dict[tuple[int, str], _MoveSide]) -> str:
    """ "Moved from here to “Sharing”: " / "Moved here from earlier in the document: "."""
    assert block.move_id is not None
    here = sides[(block.move_id, block.op)]
    other = sides.get((block.move_id, "move_to" if block.op == "move_from" else "move_from"))
    if other is None:  # the other end was filtered out of this diff
        where = "elsewhere"
    elif other.section != hunk.section:
        where = f"“{other.section or START_OF_DOCUMENT}”"
    else:
        where = f"{'later' if other.position > here.position else 'earlier'} in the document"
    if block.op == "move_from":
        return f"Moved from here to {where}: "
    return f"Moved here from {where}{' and edited' if block.edited else ''}: "


# --- inline HTML and email share one walk, so they show the same text --------------------


Tags = Callable[..., tuple[str, str]]


def _inline_tags(role: str, op: str = "") -> tuple[str, str]:
    match role:
        case "root":
            return '<div class="diff diff-inline">\n', "</div>\n"
        case "hunk":
            return '<section class="diff-hunk">\n', "</section>\n"
        case "note":
            return '<p class="diff-note">', "</p>\n"
        case "section":
            return '<h3 class="diff-section">', "</h3>\n"
        case "block":
            return f'<div class="diff-block {_css(op)}">', "</div>\n"
        case "gutter":
            return '<span class="diff-gutter" aria-hidden="true">', "</span>"
        case "text":
            return '<div class="diff-text">', "</div>"
        case "sr":
            return '<span class="diff-sr">', "</span>"
        case "move":
            return '<span class="diff-move-label">', "</span>"
        case "ins":
            return "<ins>", "</ins>"
        case "del":
            return "<del>", "</del>"
    raise ValueError(role)


_FONT = "font-family:Georgia,'Times New Roman',serif;font-size:15px;line-height:1.5;color:#1f2328"
_BACKGROUND = {
    "equal": "",
    "insert": "background:#e6ffec;",
    "delete": "background:#ffebe9;",
    "replace": "background:#fff8c5;",
    "move_from": "background:#ddf4ff;",
    "move_to": "background:#ddf4ff;",
}
_BORDER = {
    "equal": "border-left:4px solid transparent;",
    "insert": "border-left:4px solid #1a7f37;",
    "delete": "border-left:4px solid #cf222e;",
    "replace": "border-left:4px solid #9a6700;",
    "move_from": "border-left:4px dashed #0969da;",
    "move_to": "border-left:4px dashed #0969da;",
}


def _email_tags(role: str, op: str = "") -> tuple[str, str]:
    match role:
        case "root":
            return (
                '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
                f'border="0" style="border-collapse:collapse;{_FONT}">\n',
                "</table>\n",
            )
        case "hunk":
            return "<tbody>\n", "</tbody>\n"
        case "note":
            return '<tr><td colspan="2" style="padding:6px 0;font-style:italic">', "</td></tr>\n"
        case "section":
            return (
                '<tr><td colspan="2" style="padding:18px 0 6px;font-weight:bold;'
                'border-bottom:1px solid #d0d7de">',
                "</td></tr>\n",
            )
        case "block":
            return "<tr>", "</tr>\n"
        case "gutter":
            return (
                '<td aria-hidden="true" style="width:20px;padding:6px 4px;vertical-align:top;'
                "font-family:Menlo,Consolas,monospace;font-weight:bold;color:#57606a;"
                f'{_BACKGROUND[op]}{_BORDER[op]}">',
                "</td>",
            )
        case "text":
            return (
                '<td style="padding:6px 8px;vertical-align:top;white-space:pre-wrap;'
                f'word-break:break-word;{_BACKGROUND[op]}">',
                "</td>",
            )
        case "sr" | "move":
            return '<span style="font-size:12px;font-style:italic;color:#57606a">', "</span>"
        case "ins":
            return (
                '<ins style="background:#abf2bc;color:#0b3d1a;text-decoration:underline">',
                "</ins>",
            )
        case "del":
            return (
                '<del style="background:#ffcecb;color:#5c0a0a;text-decoration:line-through">',
                "</del>",
            )
    raise ValueError(role)


def _wrap(tags: Tags, role: str, text: str, op: str = "") -> str:
    open_tag, close_tag = tags(role, op)
    return f"{open_tag}{text}{close_tag}"


def _segments_html(tags: Tags, segments, *, sides: str = "both") -> str:
    """Word segments as HTML; sides="old"/"new" keeps one side (for side by side)."""
    out = []
    for op, text in segments:
        if op == "equal":
            out.append(_e(text))
        elif op == "insert" and sides != "old":
            out.append(_wrap(tags, "ins", _e(text)))
        elif op == "delete" and sides != "new":
            out.append(_wrap(tags, "del", _e(text)))
    return "".join(out)


def _content(tags: Tags, block: Block) -> str:
    if block.op == "insert":
        return _wrap(tags, "ins", _e(body(block.new_text or "")))
    if block.op == "delete":
        return _wrap(tags, "del", _e(body(block.old_text or "")))
    if block.segments:
        return _segments_html(tags, display_segments(block))
    return _e(body(block.new_text if block.new_text is not None else block.old_text or ""))


def _section_html(tags: Tags, hunk: Hunk) -> str:
    label = _wrap(tags, "sr", "Section: ")
    return _wrap(tags, "section", label + _e(hunk.section or START_OF_DOCUMENT))


def _render_blocks(diff: Diff, tags: Tags) -> str:
    moves = _move_sides(diff)
    root_open, root_close = tags("root")
    out = [root_open]
    if diff.bounded:
        out.append(_wrap(tags, "note", _e(BOUNDED_NOTE)))
    for hunk in diff.hunks:
        hunk_open, hunk_close = tags("hunk")
        out += [hunk_open, _section_html(tags, hunk)]
        for block in hunk.blocks:
            if block.move_id is not None:
                label = _wrap(tags, "move", _e(_move_label(block, hunk, moves)))
            else:
                label = _wrap(tags, "sr", _LABEL[block.op]) if block.op in _LABEL else ""
            inner = _wrap(tags, "gutter", _GUTTER[block.op], block.op)
            inner += _wrap(tags, "text", label + _content(tags, block), block.op)
            out.append(_wrap(tags, "block", inner, block.op))
        out.append(hunk_close)
    out.append(root_close)
    return "".join(out)


def render_inline_html(diff: Diff) -> str:
    """One column: unchanged context, <ins>/<del> inside edited blocks, labelled moves."""
    return _render_blocks(diff, _inline_tags)


def render_email_html(diff: Diff) -> str:
    """render_inline_html's content with inline styles and a table layout, for email clients."""
    return _render_blocks(diff, _email_tags)


# --- side by side -------------------------------------------------------------------------


def _cell(side: str, content: str, op: str, label: str = "") -> str:
    if not content:
        return f'<div class="diff-cell diff-{side} diff-empty"></div>'
    side_label = f'<span class="diff-side">{"Before" if side == "old" else "After"}</span>'
    gutter = f'<span class="diff-gutter" aria-hidden="true">{_GUTTER[op]}</span>'
    return (
        f'<div class="diff-cell diff-{side}">{side_label}{gutter}'
        f'<div class="diff-text">{label}{content}</div></div>'
    )


def _sbs_row(block: Block, hunk: Hunk, moves: dict[tuple[int, str], _MoveSide]) -> str:
    tags = _inline_tags
    op = block.op
    old = new = ""
    old_label = new_label = ""
    if op == "equal":
        old = new = _e(body(block.new_text or ""))
    elif op == "insert":
        new = _content(tags, block)
        new_label = _wrap(tags, "sr", _LABEL[op])
    elif op == "delete":
        old = _content(tags, block)
        old_label = _wrap(tags, "sr", _LABEL[op])
    elif op == "replace":
        segments = display_segments(block)
        old = _segments_html(tags, segments, sides="old")
        new = _segments_html(tags, segments, sides="new")
        old_label = _wrap(tags, "sr", "Changed from: ")
        new_label = _wrap(tags, "sr", "Changed to: ")
    elif op == "move_from":
        old = _content(tags, block)
        old_label = _wrap(tags, "move", _e(_move_label(block, hunk, moves)))
    else:  # move_to: show its edits, if any, in full on the new side
        new = _content(tags, block)
        new_label = _wrap(tags, "move", _e(_move_label(block, hunk, moves)))
    return (
        f'<div class="diff-row {_css(op)}">'
        f"{_cell('old', old, op, old_label)}{_cell('new', new, op, new_label)}</div>\n"
    )


def render_side_by_side_html(diff: Diff) -> str:
    """Two columns, before and after; the stylesheet stacks them on narrow screens."""
    moves = _move_sides(diff)
    out = ['<div class="diff diff-sbs">\n']
    if diff.bounded:
        out.append(_wrap(_inline_tags, "note", _e(BOUNDED_NOTE)))
    for hunk in diff.hunks:
        out += ['<section class="diff-hunk">\n', _section_html(_inline_tags, hunk)]
        out.append(
            '<div class="diff-row diff-sbs-head" aria-hidden="true">'
            '<div class="diff-cell diff-old">Before</div>'
            '<div class="diff-cell diff-new">After</div></div>\n'
        )
        out += [_sbs_row(block, hunk, moves) for block in hunk.blocks]
        out.append("</section>\n")
    out.append("</div>\n")
    return "".join(out)


# --- text ---------------------------------------------------------------------------------


def _indent(prefix: str, text: str) -> str:
    lines = text.split("\n")
    return "\n".join([prefix + lines[0], *("  " + line for line in lines[1:])])


def _text_segments(segments) -> str:
    marks = {"equal": ("", ""), "insert": ("[+", "+]"), "delete": ("[-", "-]")}
    return "".join(f"{marks[op][0]}{text}{marks[op][1]}" for op, text in segments)


def render_text(diff: Diff) -> str:
    """Plain text for the text/plain email part: [+added+] and [-removed-] words."""
    moves = _move_sides(diff)
    out = [BOUNDED_NOTE + "\n\n"] if diff.bounded else []
    for hunk in diff.hunks:
        out.append(f"=== {hunk.section or START_OF_DOCUMENT} ===\n")
        for block in hunk.blocks:
            op = block.op
            if op == "insert":
                line = _indent("+ ", f"[+{body(block.new_text or '')}+]")
            elif op == "delete":
                line = _indent("- ", f"[-{body(block.old_text or '')}-]")
            elif op == "replace":
                line = _indent("~ ", _text_segments(display_segments(block)))
            elif op == "equal":
                line = _indent("  ", body(block.new_text or ""))
            else:
                text = (
                    _text_segments(display_segments(block))
                    if block.segments
                    else body(block.old_text if op == "move_from" else block.new_text or "")
                )
                label = _move_label(block, hunk, moves).rstrip(": ")
                line = _indent("< " if op == "move_from" else "> ", f"[{label}] {text}")
            out.append(line + "\n")
        out.append("\n")
    return "".join(out).rstrip("\n") + ("\n" if out else "")


def render_unified(diff: Diff, *, old_label: str = "old", new_label: str = "new") -> str:
    """A unified-diff-like text: one line per line of each block, ranges counted in blocks
    (1-based), section after the @@ as git shows a function name. Moves are -/+ lines."""
    out = [f"--- {old_label}\n", f"+++ {new_label}\n"]
    for hunk in diff.hunks:
        lines: list[str] = []
        old_count = new_count = 0
        for block in hunk.blocks:
            if block.op in ("equal", "delete", "replace", "move_from"):
                old_count += 1
            if block.op in ("equal", "insert", "replace", "move_to"):
                new_count += 1
            if block.op == "equal":
                lines += [" " + line for line in body(block.new_text or "").split("\n")]
                continue
            if block.op in ("delete", "replace", "move_from"):
                lines += ["-" + line for line in body(block.old_text or "").split("\n")]
            if block.op in ("insert", "replace", "move_to"):
                lines += ["+" + line for line in body(block.new_text or "").split("\n")]
        old_range = f"{hunk.old_start + (1 if old_count else 0)},{old_count}"
        new_range = f"{hunk.new_start + (1 if new_count else 0)},{new_count}"
        section = f" {hunk.section}" if hunk.section else ""
        out.append(f"@@ -{old_range} +{new_range} @@{section}\n")
        out += [line + "\n" for line in lines]
    return "".join(out) if diff.hunks else ""
