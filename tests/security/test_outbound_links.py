"""The one gate through which third-party URLs become links in pages, feeds and emails."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from timeline.templatetags.links import web_url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "\tjava\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/",
        "/relative/path",
        "http:no-host",
        "",
        None,
    ],
)
def test_it_refuses_anything_but_an_absolute_http_url(url):
    assert web_url(url) == ""


@pytest.mark.parametrize("url", ["https://example.com/terms", "HTTP://EXAMPLE.COM/"])
def test_it_keeps_http_urls(url):
    assert web_url(url) == url


def test_it_renders_a_refused_url_as_escaped_text_and_a_good_one_as_a_link():
    template = Template('{% load links %}{% outbound_link url text class="small" aria_label=x %}')
    bad = template.render(Context({"url": "javascript:alert(1)", "text": "<b>Outlet</b>"}))
    assert bad == "&lt;b&gt;Outlet&lt;/b&gt;"
    good = template.render(
        Context({"url": 'https://ok.example/?a="x"', "text": "<b>Outlet</b>", "x": 'say "hi"'})
    )
    assert good == (
        '<a href="https://ok.example/?a=&quot;x&quot;" rel="noopener nofollow"'
        ' aria-label="say &quot;hi&quot;" class="small">&lt;b&gt;Outlet&lt;/b&gt;</a>'
    )
