"""The dashboard page in a real headless Chromium: it loads clean and only from the fake, updates
live, explains rejections, filters, resets, holds its layout from 800 to 2560 px, finds in the
whole body, links every view, shows local times, tabulates state, polls events incrementally;
and leaves screenshots behind as artifacts."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
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


def open_page(browser: Any, fake: LiveServer, width: int = 1400, fragment: str = "", **options: Any) -> Any:
    """The dashboard in a new tab, watched: console errors and any request that leaves the fake
    are collected in ``page.problems``."""
    page = browser.new_page(viewport={"width": width, "height": 900}, **options)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((fake.url + "/", "data:"))
            else problems.append(f"left the fake: {request.url}")
        ),
    )
    page.goto(f"{fake.url}/_mock/{fragment}")
    page.problems = problems
    return page


@pytest.fixture
def page(browser: Any, fake: LiveServer) -> Iterator[Any]:
    page = open_page(browser, fake)
    yield page
    assert page.problems == [], page.problems  # no console errors, nothing from the network
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
    page.select_option("#filters select[name=endpoint]", "/v1/api/events")
    assert page.locator("#journal tbody tr").count() == 2
    page.select_option("#filters select[name=endpoint]", "")
    page.click("#reset")
    from playwright.sync_api import expect

    expect(page.locator("#journal tbody tr")).to_have_count(0)
    assert fake.backend.requests() == []


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


@pytest.mark.parametrize("width", [1400, 800])
def test_screenshot_artifact(browser: Any, fake: LiveServer, width: int) -> None:
    """What docs/dashboard-<width>.png shows (copied from artifacts/ when the page changes)."""
    send(
        fake, {"events": [{"name": "mkt_purchase", "user_id": "u-1", "properties": {"mkt_revenue": 39000.0}}]}
    )
    send(fake, {"events": [{"name": "page_view", "user_id": f"u-{i}"} for i in range(1000)]})
    send(
        fake,
        {"profiles": [{"user_id": "u-1", "properties": {"mkt_name": "홍길동", "mkt_kakao_opt_in": "false"}}]},
        path="/v1/api/profile/user",
    )
    send(fake, {"events": [{"name": "mkt_login"}]})
    requests.post(f"{fake.url}/v1/api/events?project_id=test-project", json={"events": []}, timeout=10)
    page = open_page(browser, fake, width, timezone_id="Asia/Seoul")
    page.wait_for_selector("#journal tbody tr >> nth=4")
    page.locator("#journal tbody tr").nth(2).click()
    page.wait_for_selector("#detail .errors")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"dashboard-{width}.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.problems == []
    page.close()


# --- layout, search, scrolling, links, time, tables, empty state, event polling --------------

LONG_PATH = "/v1/api/events/" + "segment-" * 40
LONG_KEY = "very_long_property_name_" * 12


def crowd(fake: LiveServer) -> None:
    """What stretches a layout: a long path, a long first problem, a 1,000-event body."""
    requests.post(f"{fake.url}{LONG_PATH}?project_id=test-project", json={}, timeout=10)
    send(
        fake,
        {"profiles": [{"user_id": "u", "properties": {LONG_KEY: "x" * 300 + "\u0001"}}]},
        path="/v1/api/profile/user",
    )
    events = [{"name": "page_view", "user_id": f"u-{i}"} for i in range(1000)]
    events[700]["timestamp"] = "2025-02-30T00:00:00Z"
    send(fake, {"events": events})


REGIONS = ["header", "nav", "#filters", "#journal-list", "#detail"]


def overlaps(page: Any) -> list[str]:
    boxes = {name: page.locator(name).bounding_box() for name in REGIONS}
    found = []
    for i, a in enumerate(REGIONS):
        for b in REGIONS[i + 1 :]:
            x, y = boxes[a], boxes[b]
            assert x and y, (a, b)
            width = min(x["x"] + x["width"], y["x"] + y["width"]) - max(x["x"], y["x"])
            height = min(x["y"] + x["height"], y["y"] + y["height"]) - max(x["y"], y["y"])
            if width > 0.5 and height > 0.5:
                found.append(f"{a} and {b} overlap: {x} {y}")
    return found


OVERFLOWING_CELLS = """() => [...document.querySelectorAll('td, th')]
  .filter((c) => c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1)
  .filter((c) => getComputedStyle(c).textOverflow !== 'ellipsis' || !c.title)
  .map((c) => c.textContent.slice(0, 60))"""


@pytest.mark.parametrize("width", [800, 1280, 1920, 2560])
def test_the_layout_holds_at_every_width(browser: Any, fake: LiveServer, width: int) -> None:
    crowd(fake)
    page = open_page(browser, fake, width)
    page.wait_for_selector("#journal tbody tr >> nth=2")
    page.locator("#journal tbody tr").first.click()  # the 1,000-event body
    page.wait_for_selector("#body [data-path='events[700].timestamp']")
    assert overlaps(page) == []
    assert page.evaluate(OVERFLOWING_CELLS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    # the long path and the long problem are cut, and whole in their titles
    path_cell = page.locator(f"#journal td[title='{LONG_PATH}']")
    assert path_cell.count() == 1
    problem = page.locator("#journal tbody tr").nth(1).locator("td.problem")
    assert LONG_KEY in (problem.get_attribute("title") or "")
    page.locator("#journal tbody tr").nth(1).click()  # the long key and value, in the detail
    page.wait_for_selector(f"#detail .errors:has-text('{LONG_KEY[:30]}')")
    assert overlaps(page) == [] and page.evaluate(OVERFLOWING_CELLS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.problems == []
    page.close()


def test_body_search_finds_what_show_more_hides(page: Any, fake: LiveServer) -> None:
    crowd(fake)
    page.wait_for_selector("#journal tbody tr >> nth=2")
    page.locator("#journal tbody tr").first.click()
    page.wait_for_selector("#body")
    assert page.locator("#body [data-path='events[999]']").count() == 0  # behind "show more"
    page.fill(".find input", "U-999")  # case does not matter
    page.wait_for_selector("#find-count:has-text('1 of 1 match')")
    hit = page.locator("#body [data-path='events[999].user_id']")
    assert hit.locator("mark").inner_text() == "u-999"
    assert "current" in (hit.get_attribute("class") or "")
    assert hit.is_visible()  # revealed, and scrolled to
    page.fill(".find input", "u-99")  # u-99, u-990..u-999: 11 matches, Enter walks them
    page.wait_for_selector("#find-count:has-text('1 of 11 matches')")
    page.press(".find input", "Enter")
    page.wait_for_selector("#find-count:has-text('2 of 11 matches')")
    assert page.locator("#body mark").count() == 11
    page.fill(".find input", "timestamp")  # keys match too
    page.wait_for_selector("#find-count:has-text('1 of 1 match')")
    page.fill(".find input", "no-such-text")
    page.wait_for_selector("#find-count:has-text('0 matches')")
    assert page.locator("#body mark").count() == 0
    page.fill(".find input", "")
    from playwright.sync_api import expect

    expect(page.locator("#find-count")).to_have_text("")


def test_the_list_and_the_detail_scroll_on_their_own(page: Any, fake: LiveServer) -> None:
    for i in range(60):
        send(fake, {"events": [{"name": f"e{i}", "user_id": "u"}]})
    crowd(fake)
    page.wait_for_selector("#journal tbody tr >> nth=62")  # all 63, the 1,000-event body first
    page.locator("#journal tbody tr").first.click()
    page.wait_for_selector("#body")
    page.click("#body .more")  # the detail is now very long
    page.locator("#detail").evaluate("(d) => { d.scrollTop = d.scrollHeight; }")
    assert page.locator("#detail").evaluate("(d) => d.scrollTop") > 1000
    assert page.evaluate("window.scrollY") == 0  # the page itself did not move
    assert page.locator("#journal tbody tr").first.is_visible()
    first_row = page.locator("#journal tbody tr").first.bounding_box()
    assert first_row and 0 <= first_row["y"] < 900  # the list stayed in view
    page.locator("#journal-list").evaluate("(l) => { l.scrollTop = l.scrollHeight; }")
    assert page.locator("#journal-list").evaluate("(l) => l.scrollTop") > 0
    assert page.locator("#detail").evaluate("(d) => d.scrollTop") > 1000  # the detail kept its place


def test_every_view_has_a_link_that_reopens_it(page: Any, browser: Any, fake: LiveServer) -> None:
    send(fake, {"events": [{"name": "a", "user_id": "u"}]})
    send(fake, {"events": [{"name": "b"}]})
    send(fake, {"profiles": [{"user_id": "u-shop-b"}]}, project="shop-b", path="/v1/api/profile/user")
    page.wait_for_selector("#journal tbody tr >> nth=2")
    page.select_option("#filters select[name=status]", "4")
    page.select_option("#filters select[name=endpoint]", "/v1/api/events")
    page.locator("#journal tbody tr").first.click()
    page.wait_for_selector("#detail .errors")
    page.fill(".find input", "events")
    page.wait_for_selector("#find-count:has-text('match')")
    link = page.url
    assert "request=2" in link and "status=4" in link and "find=events" in link
    page.reload()  # after a reload ...
    page.wait_for_selector("#detail h2:has-text('#2')")
    assert page.locator("#filters select[name=status]").input_value() == "4"
    assert page.locator("#journal tbody tr").count() == 1
    assert page.locator(".find input").input_value() == "events"
    colleague = open_page(browser, fake, fragment=link[link.index("#") :])  # ... and elsewhere
    colleague.wait_for_selector("#detail h2:has-text('#2')")
    assert colleague.locator("#journal tbody tr[aria-selected=true]").inner_text().startswith("2")
    # a state tab and its project
    colleague.click("[data-tab=profiles]")
    colleague.select_option("#state-tools select[name=project]", "shop-b")
    colleague.wait_for_selector("#state:has-text('u-shop-b')")
    assert colleague.url.endswith("#tab=profiles&project=shop-b")
    colleague.goto(f"{fake.url}/_mock/#tab=requests")
    colleague.goto(f"{fake.url}/_mock/#tab=profiles&project=shop-b")  # the fragment alone changed
    colleague.wait_for_selector("#state:has-text('u-shop-b')")
    assert colleague.locator("[data-tab=profiles]").get_attribute("aria-selected") == "true"
    # a request the journal no longer holds says so
    colleague.goto(f"{fake.url}/_mock/#tab=requests&request=99")
    colleague.wait_for_selector("#detail:has-text('Request #99')")
    assert colleague.problems == [msg for msg in colleague.problems if "404" in msg]
    colleague.close()


def test_times_show_in_the_browsers_zone_with_utc_on_hover(browser: Any, fake: LiveServer) -> None:
    from datetime import datetime, timedelta, timezone

    send(fake, {"events": [{"name": "a", "user_id": "u"}]})
    page = open_page(browser, fake, timezone_id="Asia/Seoul", locale="en-GB")
    page.wait_for_selector("#journal tbody tr")
    [entry] = requests.get(f"{fake.url}/_mock/requests", timeout=10).json()["requests"]
    utc = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    kst = utc.astimezone(timezone(timedelta(hours=9)))
    time_cell = page.locator("#journal tbody tr td").nth(1)
    assert time_cell.inner_text() == kst.strftime("%H:%M:%S")
    assert (
        time_cell.get_attribute("title") == utc.strftime("%Y-%m-%d %H:%M:%S.") + entry["time"][20:23] + " UTC"
    )
    page.locator("#journal tbody tr").first.click()
    page.wait_for_selector("#detail time")
    detail_time = page.locator("#detail time")
    assert kst.strftime("%d/%m/%Y, %H:%M:%S") in detail_time.inner_text()
    assert "GMT+9" in detail_time.inner_text() or "KST" in detail_time.inner_text()
    assert "UTC" in (detail_time.get_attribute("title") or "")
    assert page.problems == []
    page.close()


def test_state_tabs_are_tables(page: Any, fake: LiveServer) -> None:
    fake.backend.update_settings({"deletion_jobs": "manual"})
    send(
        fake,
        {"profiles": [{"user_id": "u-9", "properties": {"mkt_name": "홍길동"}}]},
        path="/v1/api/profile/user",
    )
    send(fake, {"events": [{"name": "mkt_login", "user_id": "u-9"}]})
    send(
        fake,
        {"devices": [{"device_id": "d-1", "platform": "android", "user_id": "u-9"}]},
        path="/v1/api/profile/user/device/bulk",
    )
    send(fake, {"user_id": "u-9"}, path="/v1/api/profile/user/deletion-job")
    page.click("[data-tab=profiles]")
    page.wait_for_selector("#state-table td:has-text('홍길동')")
    assert page.locator("#state-table thead th").all_inner_texts() == ["user id", "mkt name"]
    page.click("[data-tab=deletion-jobs]")
    page.wait_for_selector("#state-table")
    headers = page.locator("#state-table thead th").all_inner_texts()
    assert headers == ["id", "user ids", "status", "requested at", "completed at", "removed"]
    assert page.locator("#state-table tbody td").nth(2).inner_text() == "pending"
    page.click("#complete")
    page.wait_for_selector("#state-table td:has-text('completed')")
    removed = page.locator("#state-table tbody td").nth(5).inner_text()
    assert removed == "1 profiles, 1 device mappings, 1 events"
    requested = page.locator("#state-table tbody td").nth(3)
    assert "UTC" in (requested.get_attribute("title") or "")
    page.locator("#state-table tbody tr").first.click()  # the whole row, as JSON
    page.wait_for_selector("#state-detail .json:has-text('user_ids')")
    page.click("[data-tab=devices]")
    page.wait_for_selector("#state-table td:has-text('d-1')")
    assert page.locator("#state-table thead th").all_inner_texts()[:3] == ["device id", "user id", "platform"]
    page.click("[data-tab=faults]")
    page.wait_for_selector("#state:has-text('No fault rules.')")
    page.click("#fault-toggle")
    page.fill("#fault-form input[name=times]", "2")
    page.click("#fault-form button[type=submit]")
    page.wait_for_selector("#fault-message:has-text('added rule #1')")
    page.wait_for_selector("#state-table td:has-text('503')")
    assert page.locator("#state-count").inner_text() == "1 fault rule"
    assert fake.backend.fault_rules()[0]["times"] == 2


def test_an_empty_fake_says_how_to_send_a_first_request(page: Any, fake: LiveServer) -> None:
    page.wait_for_selector("#first-request")
    curl = page.locator("#first-request").inner_text()
    assert f"{fake.url}/v1/api/events?project_id=test-project" in curl
    assert "Authorization: Bearer test-api-key" in curl
    assert page.locator("#journal").is_hidden()
    # the command works as shown, and the page leaves its empty state
    command = curl.replace("\\\n", " ")
    subprocess.run(shlex.split(command), check=True, capture_output=True, timeout=10)
    page.wait_for_selector("#journal tbody tr")
    assert page.locator("#empty").is_hidden()
    assert fake.backend.requests()[0].status == 202


def test_the_profiles_tab_shows_a_page_of_the_newest_and_fetches_again_only_after_a_change(
    page: Any, fake: LiveServer
) -> None:
    for start in range(0, 450, 150):
        profiles = [{"user_id": f"u-{i}"} for i in range(start, start + 150)]
        send(fake, {"profiles": profiles}, path="/v1/api/profile/user")
    page.wait_for_selector("#health:has-text('3 requests')")  # a poll has seen the last version
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/_mock/profiles" in r.url else None)
    page.click("[data-tab=profiles]")
    page.wait_for_selector("#state-count:has-text('450 profiles stored, 200 shown (newest first)')")
    assert page.locator("#state-table tbody tr").first.inner_text().split("\t")[0] == "u-449"
    assert asked == [f"{fake.url}/_mock/profiles?project_id=test-project&limit=200"]  # a page, never all
    page.wait_for_timeout(3000)  # three polls with nothing stored meanwhile
    # the same tab again, by a click or by the link (as the first poll applies it): nothing to fetch
    page.click("[data-tab=profiles]")
    page.evaluate("window.dispatchEvent(new HashChangeEvent('hashchange'))")
    page.wait_for_timeout(1500)
    assert len(asked) == 1, asked
    page.click("#more")
    page.wait_for_selector("#state-count:has-text('400 shown')")
    assert "limit=400" in asked[-1]
    page.click("#more")
    page.wait_for_selector("#state-count:text-is('450 profiles')")  # all shown: no "stored, N shown"
    assert page.locator("#more").count() == 0 and page.locator("#state-table tbody tr").count() == 450
    send(fake, {"profiles": [{"user_id": "u-new"}]}, path="/v1/api/profile/user")
    page.wait_for_selector("#state-table td:has-text('u-new')")
    assert page.locator("#state-table tbody tr").first.inner_text().split("\t")[0] == "u-new"
    assert not page.problems


def test_the_events_tab_polls_only_what_is_new_and_pages_the_rest(page: Any, fake: LiveServer) -> None:
    for start in range(0, 450, 150):
        send(fake, {"events": [{"name": "e", "user_id": f"u-{i}"} for i in range(start, start + 150)]})
    page.wait_for_selector("#health:has-text('3 requests')")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/_mock/events" in r.url else None)
    page.click("[data-tab=events]")
    page.wait_for_selector("#state-count:has-text('450 events stored, 200 shown')")
    assert page.locator("#state-table tbody tr").first.inner_text().split("\t")[1] == "u-449"  # newest first
    for _ in range(60):  # a few polls, however slow the machine
        if len(asked) >= 3:
            break
        page.wait_for_timeout(250)
    assert "limit=200" in asked[0] and "after=" not in asked[0]
    assert len(asked) >= 3 and all("after=450" in url for url in asked[1:])
    send(fake, {"events": [{"name": "new", "user_id": "u-new"}]})
    page.wait_for_selector("#state-table td:has-text('u-new')")
    assert "451 events stored, 201 shown" in page.locator("#state-count").inner_text()
    page.click("#older")
    page.wait_for_selector("#state-count:has-text('401 shown')")
    page.click("#older")
    page.wait_for_selector("#state-count:has-text('451 events stored, 451 shown')")
    assert page.locator("#older").count() == 0
    # events that go (deletion) are noticed: the page reloads what it holds
    fake.backend.update_settings({"deletion_jobs": "immediate"})
    send(fake, {"user_id": "u-new"}, path="/v1/api/profile/user/deletion-job")
    page.wait_for_selector("#state-count:has-text('450 events stored, 200 shown')")
    assert page.locator("#state-table td:has-text('u-new')").count() == 0


def test_a_proxy_shows_the_upstreams_status_beside_the_fakes(browser: Any) -> None:
    from mockserver.proxy import Upstream

    with LiveServer(Backend({"allow_naive_timestamps": True})) as real:
        upstream = Upstream(real.url)
        with LiveServer(Backend(), upstream=upstream) as proxied:
            page = open_page(browser, proxied)
            page.wait_for_selector("#first-request")
            assert f"sends each request on to {real.url}" in page.locator("#empty").inner_text()
            assert "Bearer YOUR_API_KEY" in page.locator("#first-request").inner_text()
            send(proxied, {"events": [{"name": "a", "user_id": "u", "timestamp": "2025-01-17T05:39:22Z"}]})
            send(proxied, {"events": [{"name": "b", "user_id": "u", "timestamp": "2025-01-17T05:39:22"}]})
            page.wait_for_selector("#parity:has-text('2 compared, 1 agree, 1 disagree')")
            page.wait_for_selector("#journal tbody tr >> nth=1")  # a poll draws the parity line first
            assert real.url in page.locator("#parity").inner_text()
            newest = page.locator("#journal tbody tr").first
            assert newest.locator(".status").all_inner_texts() == ["400", "↑202"]
            page.select_option("#filters select[name=status]", "disagree")
            assert page.locator("#journal tbody tr").count() == 1
            newest.click()
            page.wait_for_selector("#detail:has-text('upstream: 202')")
            assert page.locator("#upstream-body").count() == 0  # the fake answers 202 with no body
            assert page.evaluate(OVERFLOWING_CELLS) == []
            assert page.problems == []
            page.close()
    upstream.close()


def test_bidi_controls_are_shown_not_applied(page: Any, fake: LiveServer) -> None:
    assert send(fake, {"events": [{"name": "a", "user_id": "\u202eevil\u202dgood"}]}) == 202
    page.wait_for_selector("#journal tbody tr")
    page.locator("#journal tbody tr").first.click()
    page.wait_for_selector("#body")
    text = page.locator("#detail").inner_text()
    assert "<U+202E>evil<U+202D>good" in text and "\u202e" not in text


BADGES_CUT = """() => [...document.querySelectorAll('#journal .verdicts')].filter((badges) => {
  const cell = badges.closest('td');
  return cell.scrollWidth > cell.clientWidth + 1
    || badges.getBoundingClientRect().right > cell.getBoundingClientRect().right + 1;
}).map((badges) => badges.textContent)"""


@pytest.mark.parametrize("width", [800, 1400, 1920])
def test_a_proxy_shows_the_upstreams_answer_and_both_badges_whole(browser: Any, width: int) -> None:
    from mockserver.proxy import Upstream
    from tests.mockserver.test_proxy import recorder

    refusal = b'{"code": 400, "message": "Invalid request parameters.", "data": null}'
    with recorder(status=400, body=refusal) as real:
        upstream = Upstream(real.url)
        with LiveServer(Backend(), upstream=upstream) as proxied:
            page = open_page(browser, proxied, width)
            send(proxied, {"events": [{"name": "a", "user_id": "u", "timestamp": "2025-01-17T05:39:22Z"}]})
            page.wait_for_selector("#parity:has-text('1 compared')")
            page.wait_for_selector("#journal tbody tr .verdicts")
            assert page.locator("#journal tbody tr").first.locator(".status").all_inner_texts() == [
                "202",
                "↑400",
            ]
            assert page.evaluate(BADGES_CUT) == []
            page.locator("#journal tbody tr").first.click()
            page.wait_for_selector("#upstream-body")
            detail = page.locator("#detail")
            assert "[object" not in detail.inner_text()
            assert detail.locator("h3", has_text="Upstream answer").count() == 1
            assert page.locator("#upstream-body").inner_text() == refusal.decode()
            assert page.problems == []
            page.close()
    upstream.close()


def test_the_dashboard_downloads_the_recording(browser: Any, fake: LiveServer) -> None:
    from mockserver.recording import parse_recording

    send(fake, {"events": [{"name": "a", "user_id": "u"}]})
    page = open_page(browser, fake, accept_downloads=True)
    page.wait_for_selector("#journal tbody tr")
    with page.expect_download() as caught:
        page.click("#download")
    data = Path(caught.value.path()).read_bytes()
    [exchange] = parse_recording(data.splitlines(keepends=True)).exchanges
    assert exchange.path == "/v1/api/events" and exchange.status == 202
    assert page.problems == []
    page.close()


def test_the_dashboard_downloads_the_recording_with_the_control_token(browser: Any) -> None:
    from mockserver.recording import parse_recording

    with LiveServer(Backend(), control_token="ctl-secret-token") as guarded:
        send(guarded, {"events": [{"name": "a", "user_id": "u"}]})
        page = open_page(browser, guarded, accept_downloads=True)
        page.wait_for_selector("#token-form:not([hidden])")
        page.fill("#token-form input[name=token]", "ctl-secret-token")
        page.click("#token-form button")
        page.wait_for_selector("#journal tbody tr")
        with page.expect_download() as caught:
            page.click("#download")
        data = Path(caught.value.path()).read_bytes()
        assert len(parse_recording(data.splitlines(keepends=True)).exchanges) == 1
        page.close()
