"""The dashboard page in a real headless Chromium: it loads clean, updates live, explains
rejections, filters, resets; and leaves a screenshot behind as an artifact."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import Backend, LiveServer

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM = os.environ.get("MARKETAP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None and os.environ.get("MARKETAP_REQUIRE_BROWSER"):
    raise RuntimeError("MARKETAP_REQUIRE_BROWSER is set but no chromium was found (apt-get install chromium)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium here (Debian: apt-get install chromium); CI installs it and requires it",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def fake() -> Iterator[LiveServer]:
    with LiveServer(Backend({"api_keys": {"test-api-key": ["test-project", "shop-b"]}})) as server:
        yield server


@pytest.fixture
def page(browser: Any, fake: LiveServer) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{fake.url}/_mock/")
    page.problems = problems
    yield page
    assert problems == [], problems  # no console errors, whatever the test did
    page.close()


def send(fake: LiveServer, body: Any, project: str = "test-project", path: str = "/v1/api/events") -> int:
    return requests.post(
        f"{fake.url}{path}?project_id={project}",
        json=body,
        headers={"Authorization": "Bearer test-api-key"},
        timeout=10,
    ).status_code


def test_requests_appear_live_and_rejections_explain_themselves(page: Any, fake: LiveServer) -> None:
    page.wait_for_selector("#health:has-text('requests')")
    assert send(fake, {"events": [{"name": "mkt_login", "user_id": "u-1"}]}) == 202
    assert (
        send(
            fake,
            {
                "events": [
                    {"name": "ok", "user_id": "u"},
                    {"name": "x", "user_id": "u", "timestamp": "yesterday"},
                ]
            },
        )
        == 400
    )
    page.wait_for_selector("#journal tbody tr >> nth=1")  # no reload: the page polls
    rows = page.locator("#journal tbody tr")
    assert rows.count() == 2
    newest = rows.nth(0)
    assert "400" in newest.inner_text() and "events[1].timestamp" in newest.inner_text()
    newest.click()
    page.wait_for_selector("#detail .errors a")
    assert page.locator("#detail .errors").inner_text().startswith("events[1].timestamp")
    page.locator("#detail .errors a").first.click()
    bad = page.locator("#body .bad")
    assert bad.count() >= 1 and "yesterday" in bad.first.inner_text()
    assert "Bearer test****" in page.locator("#detail").inner_text()  # the key is masked


def test_filters_and_reset(page: Any, fake: LiveServer) -> None:
    send(fake, {"events": [{"name": "a", "user_id": "u"}]})
    send(fake, {"events": [{"name": "b"}]})
    send(fake, {"profiles": [{"user_id": "u"}]}, project="shop-b", path="/v1/api/profile/user")
    page.wait_for_selector("#journal tbody tr >> nth=2")
    page.select_option("#filters select[name=status]", "4")
    assert page.locator("#journal tbody tr").count() == 1
    page.select_option("#filters select[name=status]", "")
    page.select_option("#filters select[name=project]", "shop-b")
    assert page.locator("#journal tbody tr").count() == 1
    assert "/v1/api/profile/user" in page.locator("#journal tbody tr").inner_text()
    page.select_option("#filters select[name=project]", "")
    page.select_option("#filters select[name=path]", "/v1/api/events")
    assert page.locator("#journal tbody tr").count() == 2
    page.select_option("#filters select[name=path]", "")
    page.click("#reset")
    from playwright.sync_api import expect

    expect(page.locator("#journal tbody tr")).to_have_count(0)
    assert fake.backend.requests() == []


def test_state_tabs_and_buttons(page: Any, fake: LiveServer) -> None:
    fake.backend.update_settings({"deletion_jobs": "manual"})
    send(
        fake,
        {"profiles": [{"user_id": "u-9", "properties": {"mkt_name": "홍길동"}}]},
        path="/v1/api/profile/user",
    )
    send(fake, {"user_id": "u-9"}, path="/v1/api/profile/user/deletion-job")
    page.click("[data-tab=profiles]")
    page.wait_for_selector("#state:has-text('홍길동')")
    page.click("[data-tab=deletion-jobs]")
    page.wait_for_selector("#state:has-text('pending')")
    page.click("#complete")
    page.wait_for_selector("#state:has-text('completed')")
    page.click("#fault-toggle")
    page.fill("#fault-form input[name=times]", "2")
    page.click("#fault-form button[type=submit]")
    page.wait_for_selector("#fault-message:has-text('added rule #1')")
    assert fake.backend.fault_rules()[0]["times"] == 2


def test_a_thousand_event_request_stays_readable(page: Any, fake: LiveServer) -> None:
    events = [{"name": "page_view", "user_id": f"u-{i}"} for i in range(1000)]
    events[700]["timestamp"] = "2025-02-30T00:00:00Z"
    send(fake, {"events": events})
    page.wait_for_selector("#journal tbody tr")
    page.locator("#journal tbody tr").first.click()
    page.wait_for_selector("#body")
    # 50 items shown, plus the one with the error, plus a button for the rest
    assert page.locator("#body details[data-path^='events[']").count() <= 60
    assert page.locator("#body [data-path='events[700].timestamp'].bad").count() == 1
    page.click("#body .more")
    assert page.locator("#body details[data-path^='events[']").count() >= 1000


def test_screenshot_artifact(page: Any, fake: LiveServer) -> None:
    send(
        fake, {"events": [{"name": "mkt_purchase", "user_id": "u-1", "properties": {"mkt_revenue": 39000.0}}]}
    )
    send(
        fake,
        {"profiles": [{"user_id": "u-1", "properties": {"mkt_name": "홍길동", "mkt_kakao_opt_in": "false"}}]},
        path="/v1/api/profile/user",
    )
    send(fake, {"events": [{"name": "mkt_login"}]})
    requests.post(f"{fake.url}/v1/api/events?project_id=test-project", json={"events": []}, timeout=10)
    page.wait_for_selector("#journal tbody tr >> nth=3")
    page.locator("#journal tbody tr").nth(2).click()
    page.wait_for_selector("#detail .errors")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
