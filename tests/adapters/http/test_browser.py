"""The embeddable web chat in a real headless Chromium against a real uvicorn server.

Debian's `chromium` (/usr/bin/chromium) is driven by Playwright for Python; Playwright's own browser
download is never used. `./dev test` installs chromium when it is missing. Without it these tests
FAIL (they are the acceptance test of the web chat, not an optional extra).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

CHROMIUM = os.environ.get("MODELDESK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
KEY = "browser-test-key-business"
TIER_QUESTION = "What is the risk tier for customer C-10293, and why?"
DOC_QUESTION = "What are the limitations of the churn model?"
ANSWER_TIMEOUT_MS = 60_000


# ------------------------------------------------------------------------------------------ server


@pytest.fixture(scope="module")
def server(tmp_path_factory, registry_all, demo_knowledge):
    """`create_app(...)` with the real assistant, served by uvicorn on a free loopback port."""
    import uvicorn

    from adapters.http.app import create_app
    from assistant.config import load_settings
    from assistant.engine import Assistant

    data = tmp_path_factory.mktemp("http-browser")
    settings = load_settings(data_dir=data, api_keys={KEY: {"principal": "bea", "role": "business"}})
    app = create_app(settings, assistant=Assistant(registry_all, demo_knowledge))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from now on: no race with other processes
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the uvicorn server for the browser test did not start")
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "app": app}
    finally:
        uv.should_exit = True
        thread.join(timeout=15)
        sock.close()


# ----------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(f"Chromium is not installed at {CHROMIUM}"
                    + (f" (one is at {found}; set MODELDESK_TEST_CHROMIUM)" if found else "")
                    + ". The web chat's browser test needs Debian's chromium: run `./dev setup` "
                    "(it runs `apt-get install -y chromium`) or install it yourself.", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is not installed: `pip install -e '.[dev]'` (or `./dev setup`).",
                    pytrace=False)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh browser context per test; every request the page makes is recorded."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.set_default_timeout(ANSWER_TIMEOUT_MS)
    pg = context.new_page()
    pg.requests = []  # type: ignore[attr-defined]
    pg.on("request", lambda r: pg.requests.append(r))  # type: ignore[attr-defined]
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def ask(pg, question: str, turn: int):
    """Type the question, send it with Enter, and wait for the answer to finish; returns its item."""
    box = pg.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    item = pg.locator(f"li.msg-assistant[data-turn='{turn}']")
    item.and_(pg.locator("[data-done]")).wait_for()
    assert item.get_attribute("data-done") == "true", item.inner_text()
    return item


# ------------------------------------------------------------------------------------------- tests


def test_page_and_assets_are_served_by_the_app(server):
    base = server["url"]
    page = httpx.get(base + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for asset, kind in [("/static/chat.js", "javascript"), ("/static/chat.css", "text/css"),
                        ("/embed.js", "javascript")]:
        response = httpx.get(base + asset)
        assert response.status_code == 200 and kind in response.headers["content-type"], asset
    for bad in ["/static/../ui.py", "/static/%2e%2e/ui.py", "/static/", "/static/nope.js"]:
        response = httpx.get(base + bad)
        assert response.status_code == 404, bad
        assert "def " not in response.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN


def test_ask_see_tier_and_citation_open_passage_and_give_feedback(page, server):
    base = server["url"]
    host = urlparse(base).netloc
    page.goto(base + f"/?key={KEY}")
    assert "key=" not in page.url  # the key is taken out of the address bar once read
    assert page.evaluate("document.activeElement.id") == "question"

    # 1. A prediction question: the streamed answer, then a tier badge with text and the reasons.
    first = ask(page, TIER_QUESTION, 1)
    badge = first.locator(".tier-badge").first
    tier = badge.locator(".tier-name").inner_text().strip()
    tiers = [t.name for t in server["app"].state.services.assistant.registry.get("credit-default").spec.risk_tiers]
    assert tier in tiers
    assert "of 3 tiers" in badge.inner_text()  # the rank in words, not colour alone
    assert "tier-" in badge.get_attribute("class")
    assert f"**{tier}**" not in first.inner_text()  # Markdown rendered, not shown raw
    assert first.locator(".answer strong", has_text=tier).count() >= 1
    reasons = first.locator(".answer li, .reasons li")  # the reasons, as a list (in the text or the card)
    assert reasons.count() >= 1 and "risk" in reasons.first.inner_text()
    assert page.evaluate("document.activeElement.id") == "question"  # focus back in the box

    # The text came over the OpenAI-compatible stream, asked once (no second request for structure).
    asked = [r for r in page.requests if r.method == "POST" and "/v1/chat" in r.url]
    assert [urlparse(r.url).path for r in asked] == ["/v1/chat/completions"]
    assert json.loads(asked[0].post_data)["stream"] is True
    stream = asked[0].response()
    assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")

    # 2. A document question in the same conversation: a citation that opens the cited passage.
    second = ask(page, DOC_QUESTION, 2)
    assert page.requests[-1] is not None
    followup = [r for r in page.requests if r.method == "POST" and r.url.endswith("/v1/chat/completions")][-1]
    assert followup.headers.get("x-session-id")  # the conversation continues server-side
    citation = second.locator("button.citation").first
    citation.wait_for()
    title = citation.inner_text().strip()
    assert title
    citation.focus()
    citation.press("Enter")  # keyboard works as well as a click
    dialog = page.locator("dialog#passage")
    dialog.wait_for(state="visible")
    body = dialog.locator("#passage-body")
    page.locator("#passage-body:not([aria-busy])").wait_for()
    assert dialog.locator("#passage-title").inner_text().strip() == title
    quoted = body.locator("blockquote.cited-passage")
    assert quoted.count() == 1, body.inner_text()
    assert len(quoted.inner_text().strip()) > 40
    assert "could not be opened" not in body.inner_text()
    fetched = [r for r in page.requests if "/v1/documents/" in r.url]
    assert fetched and fetched[-1].response().status == 200
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('citation')")  # focus returns

    # 3. Feedback: thumbs up, then an optional comment; both are stored against this answer.
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as sent:
        second.get_by_role("button", name="Helpful", exact=True).click()
    receipt = sent.value.json()
    assert sent.value.status == 201 and receipt["rating"] == "up"
    assert second.get_by_role("button", name="Helpful", exact=True).get_attribute("aria-pressed") == "true"
    second.locator(".feedback-status", has_text="Thanks").wait_for()
    second.get_by_label("Add a comment (optional)").fill("Clear, and the source helped.")
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")) as commented:
        second.get_by_role("button", name="Send comment").click()
    assert commented.value.status == 201

    stored = server["app"].state.services.feedback.entries(receipt["answer_id"])
    assert [(e["principal"], e["rating"]) for e in stored][:1] == [("bea", "up")]
    assert any(e["comment"] == "Clear, and the source helped." for e in stored)
    metrics = httpx.get(base + "/metrics").text
    assert 'modeldesk_feedback_total{rating="up"}' in metrics

    # Everything the page loaded came from the app itself (works offline, no CDN).
    assert {urlparse(r.url).netloc for r in page.requests} == {host}
    assert page.js_errors == []


@pytest.fixture
def portal(server):
    """Another origin (a second loopback port) serving a portal page with the one-line embed."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    base = server["url"]
    html = ("<!doctype html><html lang=en><head><title>Portal</title></head><body><h1>Team portal</h1>"
            f'<script src="{base}/embed.js" data-key="{KEY}"></script></body></html>').encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/portal.html"
    httpd.shutdown()
    httpd.server_close()


def test_embed_script_adds_a_chat_button_that_opens_the_chat(page, server, portal):
    base = server["url"]
    page.goto(portal)
    launcher = page.get_by_role("button", name="Ask ModelDesk")
    assert launcher.get_attribute("aria-expanded") == "false"
    launcher.click()
    assert page.get_by_role("button", name="Close ModelDesk").get_attribute("aria-expanded") == "true"
    frame = page.frame_locator("iframe[title='ModelDesk chat']")
    frame.get_by_label("Your question").fill(TIER_QUESTION)
    frame.get_by_label("Your question").press("Enter")
    frame.locator("li.msg-assistant[data-done='true'] .tier-badge").first.wait_for()
    src = page.locator("iframe[title='ModelDesk chat']").get_attribute("src")
    assert src.startswith(base + "/") and f"#key={KEY}" in src  # the key never reaches a server log
    frame.get_by_role("button", name="Close the chat").click()
    page.get_by_role("button", name="Ask ModelDesk").wait_for()


def test_a_wrong_key_is_explained_and_the_key_field_offered(page, server):
    page.goto(server["url"] + "/?key=not-a-key")
    item = ask_failing(page, "What is the risk tier for customer C-10293?")
    assert "API key" in item.inner_text()
    assert page.get_by_label("API key", exact=True).is_visible()
    page.get_by_label("API key", exact=True).fill(KEY)
    page.get_by_role("button", name="Save key").click()
    assert page.evaluate("localStorage.getItem('modeldesk.apiKey')") == KEY
    answer = ask(page, "What is the risk tier for customer C-10293?", 2)
    assert answer.locator(".tier-badge").count() >= 1


def ask_failing(pg, question: str):
    box = pg.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    item = pg.locator("li.msg-assistant[data-done='error']")
    item.wait_for()
    return item


def test_answers_are_rendered_as_safe_markdown_from_the_stream(page, server):
    """A stream whose text holds HTML and Markdown (as a prompt-injected document might): the HTML is
    shown as text, never run; the Markdown is rendered; the structure from the last chunk is attached."""
    text = ("Customer **X-1** is <img src=x onerror=\"window.__pwned=1\"> *High* risk [1].\n\n"
            "- first <script>window.__pwned=2</script>\n- second\n\n1. one\n2. two")
    structure = {
        "session_id": "s-1", "answer_id": "a1b2", "refused": False, "refusal": None,
        "citations": [{"doc_id": "policy/x.md", "title": "A <b>policy</b>", "doc_type": "policy", "snippet": "s"}],
        "tool_calls": [{"name": "predict", "arguments": {}, "result": {
            "model_id": "m", "record_id": "X-1", "entity": "customer", "tier": "High", "tier_rank": 3,
            "tier_count": 3, "action": "Call within 48 hours", "meaning": "Likely to default."}}],
    }

    def chunk(delta, **extra):
        payload = {"id": "chatcmpl-a1b2", "object": "chat.completion.chunk", "created": 0, "model": "modeldesk",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra}
        return f"data: {json.dumps(payload)}\n\n"

    pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
    body = (chunk({"role": "assistant", "content": ""}) + "".join(chunk({"content": p}) for p in pieces)
            + chunk({}, modeldesk=structure) + "data: [DONE]\n\n")
    page.route("**/v1/chat/completions", lambda route: route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream", "X-Session-Id": "s-1"}, body=body))
    page.goto(server["url"] + f"/?key={KEY}")
    item = ask(page, "anything", 1)
    answer = item.locator(".answer")
    assert answer.locator("img, script").count() == 0
    assert '<img src=x onerror="window.__pwned=1">' in answer.inner_text()
    assert page.evaluate("window.__pwned === undefined")
    assert answer.locator("strong", has_text="X-1").count() == 1 and answer.locator("em", has_text="High").count() == 1
    assert answer.locator("ul > li").count() == 2 and answer.locator("ol > li").count() == 2
    assert answer.locator("button.cite-ref", has_text="[1]").count() == 1  # the marker opens the source
    assert item.locator("button.citation").inner_text() == "A <b>policy</b>"
    badge = item.locator(".tier-badge")
    assert "tier-high" in badge.get_attribute("class") and "highest of 3 tiers" in badge.inner_text()
    assert "Call within 48 hours" in item.locator(".tier-card").inner_text()  # not in the text, so in the card
    assert item.get_by_role("button", name="Helpful", exact=True).count() == 1


# ------------------------------------------------------------------------------- single sign-on


@pytest.fixture(scope="module")
def idp():
    from tests.adapters.http.idp import IdentityProvider

    provider = IdentityProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory, registry_all, demo_knowledge, idp):
    """The app with single sign-on through the stand-in provider, sign-in at / included."""
    import uvicorn

    from adapters.http.app import create_app
    from assistant.config import load_settings
    from assistant.engine import Assistant
    from tests.adapters.http.idp import AUDIENCE

    settings = load_settings(data_dir=tmp_path_factory.mktemp("http-browser-sso"), oidc_issuer=idp.issuer,
                             oidc_audience=AUDIENCE, oidc_client_id="modeldesk-web", oidc_principal_claim="sub")
    app = create_app(settings, assistant=Assistant(registry_all, demo_knowledge))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 180
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the uvicorn server for the sign-on browser test did not start")
        time.sleep(0.05)
    try:
        yield {"url": f"http://127.0.0.1:{sock.getsockname()[1]}", "app": app}
    finally:
        uv.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture
def sso_portal(sso_server, idp):
    """A portal on another origin whose page gives the chat its user's token through a function; its
    `/mint` issues each token with 45 s to live, less than the chat's 60 s refresh margin."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    minted: list[str] = []
    html = ("<!doctype html><html lang=en><head><title>Portal</title>"
            "<script>window.getModelDeskToken = async function () {"
            " const r = await fetch('/mint'); return r.text(); };</script></head>"
            "<body><h1>Team portal</h1>"
            f'<script src="{sso_server["url"]}/embed.js" data-token-provider="getModelDeskToken"></script>'
            "</body></html>").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if self.path == "/mint":
                token = idp.token(sub="u-portal-bea", roles=["employee"], exp=int(time.time()) + 45,
                                  jti=os.urandom(8).hex())
                minted.append(token)
                body, kind = token.encode(), "text/plain"
            else:
                body, kind = html, "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{httpd.server_address[1]}/portal.html", "minted": minted}
    httpd.shutdown()
    httpd.server_close()


def test_embed_takes_each_users_token_from_the_portal_and_refreshes_it(page, sso_server, sso_portal):
    page.goto(sso_portal["url"])
    page.get_by_role("button", name="Ask ModelDesk").click()
    src = page.locator("iframe[title='ModelDesk chat']").get_attribute("src")
    assert src.startswith(sso_server["url"] + "/") and "auth=portal" in src and "key=" not in src
    frame = page.frame_locator("iframe[title='ModelDesk chat']")
    for turn in (1, 2):
        frame.get_by_label("Your question").fill(TIER_QUESTION)
        frame.get_by_label("Your question").press("Enter")
        frame.locator(f"li.msg-assistant[data-turn='{turn}'][data-done='true'] .tier-badge").first.wait_for()
    asked = [r for r in page.requests if r.method == "POST" and r.url.endswith("/v1/chat/completions")]
    sent = [r.all_headers().get("authorization", "") for r in asked]
    assert len(sent) == 2 and all(h.startswith("Bearer eyJ") for h in sent)
    # Each token had less than the refresh margin left, so each question asked the portal again.
    assert len(sso_portal["minted"]) >= 2 and sent[1] != sent[0]
    assert {h.removeprefix("Bearer ") for h in sent} <= set(sso_portal["minted"])
    assert page.js_errors == []


def test_the_page_signs_in_through_the_provider_with_pkce(page, sso_server, idp):
    idp.next_user = {"sub": "u-signed-in", "email": "ana@acme.example", "roles": ["analyst"]}
    page.goto(sso_server["url"] + "/")
    sign_in = page.get_by_role("button", name="Sign in")
    sign_in.wait_for()
    sign_in.click()  # to the provider and straight back (the stand-in signs ana in at once)
    page.get_by_role("button", name="Sign out").wait_for()
    assert "code=" not in page.url and "state=" not in page.url
    assert "ana@acme.example" in page.locator("#signed-in-as").inner_text()
    exchange = idp.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    answer = ask(page, TIER_QUESTION, 1)
    assert answer.locator(".tier-badge").count() >= 1
    config = httpx.get(sso_server["url"] + "/auth/config").json()
    assert config["client_id"] == "modeldesk-web" and config["token_endpoint"] == idp.issuer + "/token"
    assert page.js_errors == []
