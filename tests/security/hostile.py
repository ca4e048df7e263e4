"""One platform whose every field an attacker (a tracked page, or a careless admin) filled in."""

from __future__ import annotations

from dataclasses import dataclass

from platforms.models import Document, Platform, Statement
from snapshots.models import Change, Version
from tests.factories import DocumentFactory, PlatformFactory, StatementFactory
from tests.security.audit import HOSTILE, JS_URL, PAYLOADS
from tests.timeline.builders import BASE, history

# Section headings are quoted in summaries, AI paragraphs in excerpts and emails.
OLD_TEXT = BASE + f"\n## Licence {PAYLOADS[0]}\n\nYou keep your rights.\n"
NEW_TEXT = (
    BASE
    + f"\n## Licence {PAYLOADS[0]}\n\nYou keep your rights. {PAYLOADS[1]}\n"
    + f"\n## AI {PAYLOADS[2]}\n\n"
    + f"We may use your uploads to train artificial intelligence models. {HOSTILE}\n\n"
    + f'Read [more]({JS_URL}) or <a href="{JS_URL}">here</a>.\n'
)


@dataclass
class Hostile:
    platform: Platform
    document: Document
    other_document: Document
    change: Change
    statement: Statement

    @property
    def old_version(self) -> Version:
        return self.change.old_version

    @property
    def new_version(self) -> Version:
        return self.change.new_version


def hostile_platform(slug: str = "evil") -> Hostile:
    platform = PlatformFactory(
        slug=slug, name=f"Evil {PAYLOADS[0]} {PAYLOADS[1]}"[:100], homepage=JS_URL
    )
    document = DocumentFactory(
        platform=platform, title=f"Terms {HOSTILE}"[:200], url=f"{JS_URL}//terms"
    )
    other_document = DocumentFactory(
        platform=platform,
        kind="privacy_policy",
        title=f"Privacy {PAYLOADS[3]}",
        url=f'https://docs.example/privacy?x="{PAYLOADS[1]}',
    )
    change = history([OLD_TEXT, NEW_TEXT], document=document)[0]
    Change.objects.filter(pk=change.pk).update(headline=f"Headline {HOSTILE}"[:300])
    Version.objects.filter(pk=change.new_version_id).update(source="archive", source_url=JS_URL)
    change.refresh_from_db()
    statement = StatementFactory(
        platform=platform,
        title=f"Statement {HOSTILE}"[:300],
        summary=f"Summary {HOSTILE}",
        quote=f"Quote {HOSTILE}",
        outlet=f"Outlet {PAYLOADS[1]}",
        source_url=JS_URL,
    )
    statement.changes.add(change)
    return Hostile(platform, document, other_document, change, statement)


def stored_page_document(httpserver) -> Document:
    """A document whose latest stored page (what the admin preview reads) is hostile HTML."""
    from snapshots.services import document_check

    html = (
        f"<html><head><title>{PAYLOADS[0]}</title></head><body><main><h1>Terms</h1>"
        f"<p>We host your uploads. &lt;/textarea&gt;&lt;script&gt;alert(6)&lt;/script&gt;</p>"
        f'<p>{PAYLOADS[1]} <a href="{JS_URL}">more</a></p></main></body></html>'
    )
    httpserver.expect_request("/stored-terms").respond_with_data(html, content_type="text/html")
    document = DocumentFactory(url=httpserver.url_for("/stored-terms"))
    check = document_check(document_id=document.pk)
    assert check.version_id is not None, check.error
    return document
