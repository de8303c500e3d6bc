"""What a web page the developer opens can do to a fake on 127.0.0.1, tried in a real headless
Chromium on both servers: a page whose name resolves to 127.0.0.1 (DNS rebinding), a page on
another origin posting forms and fetches at the control plane (CSRF), and one framing the
dashboard (clickjacking). None of them may read or change anything."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from mockserver import Backend, LiveServer
from tests.conftest import serving
from tests.mockserver.test_hardening import Target
from tests.test_dashboard import CHROMIUM, FLAGS

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (CI installs it)")

REBOUND = "rebound.example"  # the attacker's name, resolved to 127.0.0.1 by the browser below


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=[*FLAGS, f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module", params=["granian", "werkzeug"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "granian":
        with serving() as (url, _proc):
            yield Target("granian", url)
    else:
        with LiveServer(Backend()) as server:
            yield Target("werkzeug", server.url)


@pytest.fixture
def fake(target: Target) -> Iterator[Target]:
    target.reset()
    assert target.post_event() == 202
    yield target
    assert [e["name"] for e in target.events()] == ["mkt_login"], "the page changed the fake's state"
    assert target.control("GET", "settings")["settings"]["allow_naive_timestamps"] is False


class _Attacker(BaseHTTPRequestHandler):
    html = ""

    def do_GET(self) -> None:
        body = self.html.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[tuple[str, type[_Attacker]]]:
    """A page on another origin (another port of 127.0.0.1), whose HTML the test writes."""
    handler = type("Handler", (_Attacker,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_rebound_name_can_neither_read_nor_steer_the_fake(browser: Any, fake: Target) -> None:
    page = browser.new_page()
    response = page.goto(f"http://{REBOUND}:{fake.port}/_mock/")
    assert response.status == 403
    assert "DNS rebinding" in page.content()
    # the page is now same-origin with the fake in the browser's eyes: its scripts try everything
    results = page.evaluate(
        """async () => {
            const out = {};
            out.read = (await fetch('/_mock/requests')).status;
            out.recording = (await fetch('/_mock/recording')).status;
            out.reset = (await fetch('/_mock/reset', {method: 'POST', body: '{}',
                                    headers: {'Content-Type': 'application/json'}})).status;
            out.settings = (await fetch('/_mock/settings', {method: 'PATCH',
                              body: JSON.stringify({allow_naive_timestamps: true}),
                              headers: {'Content-Type': 'application/json'}})).status;
            out.ingest = (await fetch('/v1/api/events?project_id=test-project', {method: 'POST',
                            body: JSON.stringify({events: [{name: 'planted', user_id: 'u'}]}),
                            headers: {'Content-Type': 'application/json',
                                      'Authorization': 'Bearer test-api-key'}})).status;
            return out;
        }"""
    )
    assert results == {"read": 403, "recording": 403, "reset": 403, "settings": 403, "ingest": 403}
    page.close()


def test_a_foreign_page_cannot_reset_by_form_or_fetch(
    browser: Any, fake: Target, attacker: tuple[str, type[_Attacker]]
) -> None:
    origin, handler = attacker
    handler.html = f"""<!doctype html><body>
      <iframe name="sink"></iframe><iframe name="sink2"></iframe>
      <form id="f" method="POST" action="{fake.url}/_mock/reset" enctype="text/plain" target="sink">
        <input name='{{"a":"' value='"}}'></form>
      <form id="g" method="POST" action="{fake.url}/_mock/deletion-jobs/complete" target="sink2"></form>
      <script>
        document.getElementById('f').submit();
        setTimeout(() => document.getElementById('g').submit(), 100);
        window.results = Promise.allSettled([
          fetch('{fake.url}/_mock/reset', {{method: 'POST', mode: 'no-cors', body: '{{}}'}}),
          fetch('{fake.url}/_mock/reset', {{method: 'POST', body: '{{}}',
                headers: {{'Content-Type': 'application/json'}}}}),
          fetch('{fake.url}/_mock/requests').then(r => r.text()),
        ]).then(all => all.map(r => r.status));
      </script></body>"""
    page = browser.new_page()
    forms: list[Any] = []  # the answers to the two forms, each the navigation of a frame of its own
    page.on(
        "response",
        lambda r: forms.append(r) if r.request.resource_type == "document" and "/_mock/" in r.url else None,
    )
    page.goto(origin)
    statuses = page.evaluate("window.results")
    # the no-cors POST goes out (opaque) but is refused; the JSON one dies at its preflight; the
    # read is blocked by the same-origin policy
    assert statuses == ["fulfilled", "rejected", "rejected"]
    for _ in range(200):  # both forms answered (the fixture then checks that nothing changed)
        if len(forms) == 2:
            break
        page.wait_for_timeout(50)
    assert sorted(r.url.split("/_mock/")[1] for r in forms) == ["deletion-jobs/complete", "reset"]
    assert [r.status for r in forms] == [403, 403], [(r.url, r.status) for r in forms]
    page.close()


def test_a_foreign_page_cannot_frame_the_dashboard(
    browser: Any, fake: Target, attacker: tuple[str, type[_Attacker]]
) -> None:
    origin, handler = attacker
    handler.html = f'<!doctype html><iframe id="x" src="{fake.url}/_mock/" width="800" height="600"></iframe>'
    page = browser.new_page()
    page.goto(origin, wait_until="load")  # the frame has loaded what it was given by then
    [frame] = [f for f in page.frames if f is not page.main_frame]
    assert frame.url.startswith("chrome-error://"), frame.url  # refused: the frame holds an error page
    assert frame.query_selector("#journal") is None
    page.close()
