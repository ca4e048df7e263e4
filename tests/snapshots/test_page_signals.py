from __future__ import annotations

import pytest

from snapshots.extract import ExtractError, ExtractRules, extract
from snapshots.page_signals import classify_page, shrink_ratio
from tests.corpus import documents
from tests.pages import wrap_in_noisy_html


def classify(page: str, status: int = 200) -> str | None:
    """As the pipeline does it: extract first, classify with whatever came out."""
    try:
        text: str | None = extract(page, content_type="text/html", rules=ExtractRules())
    except ExtractError:
        text = None
    return classify_page(status=status, html_or_text=page, extracted_text=text)


def words_of(text: str, count: int) -> str:
    return " ".join(text.split()[:count])


# --- hand-written pages of each kind -------------------------------------------------------------

CAPTCHAS = {
    "cloudflare": (
        503,
        """<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
        <div class="main-wrapper"><h1>example.com</h1>
        <h2 id="challenge-running">Checking if the site connection is secure</h2>
        <div id="challenge-stage"></div><noscript>Enable JavaScript and cookies to continue</noscript>
        <p>example.com needs to review the security of your connection before proceeding.</p></div>
        <script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8a1"></script>
        </body></html>""",
    ),
    "recaptcha_unusual_traffic": (
        429,
        """<html><body><div style="max-width:400px"><b>About this page</b>
        <p>Our systems have detected unusual traffic from your computer network. This page
        checks to see if it's really you sending the requests, and not a robot.</p>
        <form action="/sorry/index" method="post"><div class="g-recaptcha" data-sitekey="6Le"></div>
        <input type="hidden" name="q" value="EgR"></form>
        <script src="https://www.google.com/recaptcha/api.js" async defer></script></div></body></html>""",
    ),
    "hcaptcha_with_ok_status": (
        200,
        """<html><body><main><h1>One more step</h1><p>Please verify you are human to continue.</p>
        <div class="h-captcha" data-sitekey="10000000-ffff"></div>
        <script src="https://hcaptcha.com/1/api.js"></script></main></body></html>""",
    ),
    "press_and_hold": (
        403,
        """<html><body><div id="px-captcha"></div><h1>Before we continue...</h1>
        <p>Press &amp; Hold to confirm you are a human (and not a bot).</p></body></html>""",
    ),
    "widget_only": (
        200,
        """<html><body><div class="cf-turnstile" data-sitekey="0x4AAA"></div>
        <script src="https://challenges.cloudflare.com/turnstile/v0/api.js"></script></body></html>""",
    ),
}

LOGIN_WALLS = {
    "sign_in_to_continue": (
        200,
        """<html><body><header><a href="/">Example</a></header><main>
        <h1>Sign in</h1><p>Stay updated on your professional world</p>
        <form action="/login" method="post"><label>Email or phone</label><input type="text" name="user">
        <label>Password</label><input type="password" name="pass"><a href="/reset">Forgot password?</a>
        <button type="submit">Sign in</button></form><p>New here? <a href="/signup">Join now</a></p>
        </main></body></html>""",
    ),
    "unauthorized": (
        401,
        """<html><body><h2>Log in to continue</h2><form><input name=email placeholder=Email>
        <input type=password name=pw><input type=submit value="Log in"></form></body></html>""",
    ),
    "log_in_to_see_more": (
        200,
        """<html><body><div role="dialog"><h2>Log in to see more from example</h2>
        <input aria-label="Phone number, username, or email" type="text">
        <input aria-label="Password" type='password'><button>Log in</button>
        <a href="/accounts/password/reset/">Forgot password?</a><p>Don't have an account? Sign up</p>
        </div></body></html>""",
    ),
}

COOKIE_WALLS = {
    "before_you_continue": (
        200,
        """<html><body><div class="consent-page"><h1>Before you continue to Example</h1>
        <p>We use cookies and data to deliver and maintain services, like tracking outages and
        protecting against spam, fraud and abuse, and to measure audience engagement.</p>
        <p>If you choose to "Accept all," we will also use cookies and data to develop and improve
        new services and deliver and measure the effectiveness of ads. If you choose to "Reject all,"
        we will not use cookies for these additional purposes.</p>
        <form><button>Reject all</button><button>Accept all</button></form>
        <a href="/more">More options</a></div><footer><a href="/privacy">Privacy</a> ·
        <a href="/terms">Terms</a></footer></body></html>""",
    ),
    "tcf_wall_with_partners": (
        200,
        """<html><body><div class="con-wizard"><h2>Example is part of the Example family of brands</h2>
        <p>When you use our sites and apps, we use cookies to provide our sites and apps to you,
        authenticate users, apply security measures, and prevent spam and abuse.</p>
        <p>If you click 'Accept all', we and our 238 partners will store and/or access information
        on a device and process personal data such as IP address, browsing and search data, for
        personalised advertising and content. Some partners process data on the basis of
        legitimate interest. You can change your choices at any time.</p>
        <div class="actions"><button name="agree" value="agree">Accept all</button>
        <button name="reject" value="reject">Reject all</button>
        <a class="btn secondary" href="/collectConsent?sessionId=3">Manage privacy settings</a></div>
        </div></body></html>""",
    ),
    "onetrust_only": (
        200,
        """<html><body><div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk" role="dialog">
        <p>We use cookies to personalise content. You can accept all cookies or manage your
        preferences.</p><button id="onetrust-accept-btn-handler">Accept All Cookies</button>
        <button>Cookie Settings</button></div></div></body></html>""",
    ),
}

ERROR_PAGES = {
    "not_found_status": (404, "<html><body><main><h1>Page not found</h1></main></body></html>"),
    "soft_404": (
        200,
        """<html><body><nav><a href="/">Home</a></nav><main><h1>404 Not Found</h1>
        <p>Sorry, the page you were looking for doesn't exist.</p></main><hr><p>nginx</p></body></html>""",
    ),
    "something_went_wrong": (
        200,
        """<html><body><div id="root"><h2>Something went wrong.</h2><p>Please try again later.</p>
        <a href="/">Go home</a></div></body></html>""",
    ),
    "unavailable": (503, "<html><body><h1>Service Unavailable</h1></body></html>"),
    "plain_text_gateway_error": (502, "Bad Gateway"),
    "blank_ok": (200, "<html><head><title>Terms</title></head><body>  </body></html>"),
    "server_error_with_long_body": (500, wrap_in_noisy_html("Terms. " * 2000, seed=1)),
}


@pytest.mark.parametrize(
    ("expected", "status", "page"),
    [
        *[pytest.param("captcha", *v, id=f"captcha-{k}") for k, v in CAPTCHAS.items()],
        *[pytest.param("login_wall", *v, id=f"login-{k}") for k, v in LOGIN_WALLS.items()],
        *[pytest.param("cookie_wall", *v, id=f"cookie-{k}") for k, v in COOKIE_WALLS.items()],
        *[pytest.param("error_page", *v, id=f"error-{k}") for k, v in ERROR_PAGES.items()],
    ],
)
def test_it_detects_pages_standing_in_for_the_document(
    expected: str, status: int, page: str
) -> None:
    assert classify(page, status) == expected


# --- real documents that merely mention those things -------------------------------------------------

SHORT_DOCUMENTS = {
    "cookie_policy_behind_a_banner": """<html><body>
        <div id="cookie-banner" role="dialog"><p>We use cookies.</p><button>Accept all</button>
        <button>Reject all</button></div>
        <main><h1>Cookie Policy</h1><p>Last updated: March 3, 2024.</p><p>We use cookies and similar
        technologies to keep you signed in and to remember your preferences. You can manage your
        cookie preferences at any time from the settings page, and you can accept all or reject
        all optional cookies. Essential cookies cannot be switched off because the service does
        not work without them. Analytics cookies help us understand which pages are read, and we
        keep them for thirteen months. Advertising cookies are only set with your consent.</p>
        </main></body></html>""",
    "login_help_with_a_header_login_box": """<html><body>
        <header><form><input type="email"><input type="password"><button>Log in</button></form></header>
        <main><h1>Account Terms</h1><p>Effective May 1, 2024.</p><p>To use the service you must create
        an account and log in. Keep your password secret; you are responsible for anything done
        while you are signed in. If you forgot your password, use the reset link. We may suspend
        accounts that break these terms, and you may close yours at any time from the settings page.
        These terms are governed by the laws of Ireland.</p></main></body></html>""",
    "errors_clause": """<html><body><main><h1>Service Terms</h1><p>The service is provided as is.
        If something went wrong with a payment, contact support; we will correct errors we cause.
        We do not promise the service will be free of errors or never unavailable, and some pages
        may be temporarily unavailable during maintenance. A 404 error means a page was moved.
        We use reCAPTCHA on the sign-up form to keep bots out, and it is subject to Google's terms.
        </p></main></body></html>""",
}


@pytest.mark.parametrize("page", SHORT_DOCUMENTS.values(), ids=SHORT_DOCUMENTS.keys())
def test_it_leaves_short_documents_that_mention_walls_alone(page: str) -> None:
    assert classify(page) is None


@pytest.mark.parametrize("key", sorted(documents()), ids=lambda key: key[0])
def test_it_never_flags_a_real_corpus_document(key: tuple[str, str]) -> None:
    texts = {version.text() for version in documents()[key]}
    excerpts = {words_of(text, 120) for text in texts}  # the same noise around a short document

    for text in texts:
        page = wrap_in_noisy_html(text, seed=3)
        assert classify(page) is None
        assert classify_page(status=200, html_or_text=page, extracted_text=None) is None
    for excerpt in excerpts:
        assert classify(wrap_in_noisy_html(excerpt, seed=4)) is None


def test_it_computes_the_share_of_words_lost() -> None:
    old = "one two three four five six seven eight nine ten"

    assert shrink_ratio(old, old) == 0.0
    assert shrink_ratio(old, "one two three four five") == 0.5
    assert shrink_ratio(old, "one two three four") == pytest.approx(0.6)
    assert shrink_ratio(old, "") == 1.0
    assert shrink_ratio(old, old + " eleven twelve") == 0.0
    assert shrink_ratio("", "anything") == 0.0
    assert shrink_ratio("a b", "x y") == 0.0  # a rewrite is not a shrink
