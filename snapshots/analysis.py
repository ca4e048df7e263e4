"""Everything computed once for a change: the stored diff, AI analysis, counts and summary.

Pure: no Django. Called when a Change is created and by `manage.py analyze_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from snapshots import ai_clauses
from snapshots.diffing import compute_diff
from snapshots.summary import summarize_change


@dataclass(frozen=True)
class ChangeFacts:
    diff: dict
    words_added: int
    words_removed: int
    ai_relevant: bool
    ai_categories: list[str]
    ai_analysis: dict
    summary: str


def analyze_change_texts(old_text: str, new_text: str) -> ChangeFacts:
    diff = compute_diff(old_text, new_text)
    # The whole texts let it ignore sections that were only duplicated or de-duplicated.
    analysis = ai_clauses.analyze_change(diff.changed_pairs(), old_text=old_text, new_text=new_text)
    topics = [ai_clauses.CATEGORIES[c] for c in analysis.categories]
    return ChangeFacts(
        diff=diff.to_json(),
        words_added=diff.stats.words_added,
        words_removed=diff.stats.words_removed,
        ai_relevant=analysis.ai_relevant,
        ai_categories=list(analysis.categories),
        ai_analysis=analysis.to_json(),
        summary=summarize_change(diff, topics=topics),
    )
