"""Changes with chosen texts, for alerts tests and the benchmark."""

from __future__ import annotations

from tests.factories import ChangeFactory, DocumentFactory, VersionFactory

OLD = "# Terms\n\nWe host your uploads.\n"
AI_NEW = OLD + "\nWe may use your uploads to train AI models.\n"
PLAIN_NEW = OLD + "\nYou can contact support by email.\n"


def make_change(*, document=None, new_text: str = AI_NEW, old_text: str = OLD, **fields):
    """A published, analysed change of `document` to new_text (from its latest version if it
    has one, else from old_text)."""
    from snapshots.models import Version

    document = document or DocumentFactory()
    old = Version.objects.filter(document=document).order_by("-id").first()
    if old is None:
        old = VersionFactory(document=document, text=old_text)
    new = VersionFactory(document=document, previous=old, text=new_text)
    return ChangeFactory(document=document, old_version=old, new_version=new, **fields)
