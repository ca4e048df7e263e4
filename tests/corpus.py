"""Access to the shared Open Terms Archive corpus (../shared/corpus), read by path, never copied."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = Path(os.environ.get("CLAUSEWATCH_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))
OTA_DIR = CORPUS_DIR / "ota"


@dataclass(frozen=True)
class CorpusVersion:
    service: str
    terms_type: str
    path: Path
    committed_at: datetime
    kind: str  # "first", "change" or "technical"
    sha256: str

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


@cache
def versions() -> tuple[CorpusVersion, ...]:
    entries = json.loads((OTA_DIR / "manifest.json").read_text(encoding="utf-8"))
    return tuple(
        CorpusVersion(
            service=e["service"],
            terms_type=e["terms_type"],
            path=OTA_DIR / e["path"],
            committed_at=datetime.fromisoformat(e["committed_at"]),
            kind=e["kind"],
            sha256=e["sha256"],
        )
        for e in entries
    )


def documents() -> dict[tuple[str, str], list[CorpusVersion]]:
    """(service, terms_type) -> its versions in recorded order."""
    out: dict[tuple[str, str], list[CorpusVersion]] = {}
    for v in versions():
        out.setdefault((v.service, v.terms_type), []).append(v)
    for items in out.values():
        items.sort(key=lambda v: v.committed_at)
    return out
