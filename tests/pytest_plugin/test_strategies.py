"""The strategies: valid bodies are accepted, each invalid one is rejected as labelled."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from mockserver import Settings, spec
from mockserver.errors import ApiError
from mockserver.proxy import LENIENT
from mockserver.validation import validate_body, validate_body_fully, validator_for
from pytest_plugin import MarketapMock
from pytest_plugin import strategies as ms
from pytest_plugin.strategies.cases import _case
from pytest_plugin.strategies.defects import _ITEM_DEFECTS, _item_defects
from tests.conftest import fuzz_examples

SESSION = requests.Session()


def post(
    m: MarketapMock,
    path: str,
    content: bytes,
    headers: dict[str, str] | None = None,
    query: list[tuple[str, str]] | None = None,
    method: str = "POST",
) -> requests.Response:
    return SESSION.request(
        method,
        m.url + path,
        params=query if query is not None else [("project_id", m.project_id)],
        data=content,
        headers=m.headers if headers is None else headers,
    )


@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=fuzz_examples(60), deadline=None)
@given(data=st.data())
def test_valid_bodies_are_accepted(marketap_server: MarketapMock, path: str, data: st.DataObject) -> None:
    marketap_server.reset()
    body = data.draw(ms.valid_bodies(path))
    response = post(marketap_server, path, json.dumps(body, ensure_ascii=False).encode())
    assert response.status_code == 202, response.text
    marketap_server.assert_no_rejected_requests()


@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=fuzz_examples(150), deadline=None)
@given(data=st.data())
def test_invalid_bodies_are_rejected_as_labelled(
    marketap_server: MarketapMock, path: str, data: st.DataObject
) -> None:
    marketap_server.reset()
    case = data.draw(ms.invalid_bodies(path))
    response = post(marketap_server, path, case.content())
    assert response.status_code == case.status, f"{case}: got {response.status_code} {response.text[:300]}"
    fields = [e["field"] for e in response.json()["errors"]]
    assert case.field in fields, f"{case}: the fake named {fields}"
    assert marketap_server.events == [] and marketap_server.profiles == {}  # stored nothing


_CHOSEN: dict[str, dict[str, Any]] = {
    "lenient": dict(LENIENT),  # every rule a setting can relax, relaxed
    "strict": {"reject_unknown_reserved": True, "max_batch_items": 7, "max_properties": 12, "max_depth": 9},
    # under the five items a case's batch may hold: a case must break no limit but its own
    "tight": {"max_batch_items": 2, "max_batch_user_ids": 1},
    "default": {},
}


def _send_drawn(
    m: MarketapMock,
    data: st.DataObject,
    path: str,
    chosen: dict[str, Any],
    strategy: Callable[[Settings], Any],
) -> tuple[Any, requests.Response]:
    """Draw from ``strategy(Settings(**chosen))`` and send it to the fake configured the same way."""
    m.reset()
    m.configure(**chosen)
    try:
        drawn = data.draw(strategy(Settings(**chosen)))
        content = drawn.content() if isinstance(drawn, ms.InvalidCase) else json.dumps(drawn).encode()
        return drawn, post(m, path, content)
    finally:
        m.restore_settings()


_WIDER = {"lenient": _CHOSEN["lenient"], "batches": {"max_batch_items": 7, "reject_unknown_reserved": True}}


@pytest.mark.parametrize("chosen", sorted(_WIDER))
@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_valid_bodies_for_a_fakes_settings_are_accepted(
    marketap_server: MarketapMock, chosen: str, path: str, data: st.DataObject
) -> None:
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    fewest = Settings(**_WIDER[chosen]).min_batch_items(endpoint.key) if endpoint.bulk else 1
    body, response = _send_drawn(
        marketap_server,
        data,
        path,
        _WIDER[chosen],
        lambda s: ms.valid_bodies(path, min_size=fewest, settings=s),
    )
    assert response.status_code == 202, response.text
    marketap_server.assert_no_rejected_requests()
    if chosen == "batches" and endpoint.bulk:
        assert len(body[endpoint.key]) <= 7


#: A search without shrinking may find a large body first; Hypothesis then warns that printing
#: it would be costly, though a search that succeeds prints nothing.
_LARGE_FIND = pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)


@_LARGE_FIND
def test_valid_bodies_draw_what_the_settings_allow() -> None:
    import re

    lenient = Settings(**_CHOSEN["lenient"])
    search = settings(phases=[Phase.generate], max_examples=3000, database=None)  # found; no shrinking

    def stamps(body: dict[str, Any]) -> list[str]:
        return [e["timestamp"] for e in body["events"] if "timestamp" in e]

    for wanted in (
        lambda b: any(re.match(r"[0-9]{8}T", t) for t in stamps(b)),  # the basic form
        lambda b: any(re.fullmatch(r"[0-9T:.-]+", t) for t in stamps(b)),  # no zone
        lambda b: any("user_id" not in e for e in b["events"]),
        lambda b: b["events"] == [],
    ):
        find(
            ms.valid_bodies(spec.EVENTS.path, min_size=0, max_size=20, settings=lenient),
            wanted,
            settings=search,
        )
    sizes: list[int] = []

    @settings(max_examples=50, derandomize=True, database=None)
    @given(body=ms.valid_bodies(spec.EVENTS.path, settings=Settings(max_batch_items=1500)))
    def draw(body: dict[str, Any]) -> None:
        sizes.append(len(body["events"]))

    draw()
    assert max(sizes) == 1500  # the fake's limit, not the API's 1,000
    with pytest.raises(InvalidArgument, match="allow_empty_batches"):
        ms.valid_bodies(spec.EVENTS.path, min_size=0)
    with pytest.raises(InvalidArgument, match="allow_empty_batches"):
        ms.valid_bodies(spec.BULK_DELETION.path, min_size=0, settings=lenient)
    with pytest.raises(InvalidArgument, match="over the limit of 7"):
        ms.valid_bodies(spec.EVENTS.path, max_size=8, settings=Settings(max_batch_items=7))


@pytest.mark.parametrize("chosen", sorted(_CHOSEN))
@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_invalid_bodies_for_a_fakes_settings_are_rejected_as_labelled(
    marketap_server: MarketapMock, chosen: str, path: str, data: st.DataObject
) -> None:
    case, response = _send_drawn(
        marketap_server, data, path, _CHOSEN[chosen], lambda s: ms.invalid_bodies(path, settings=s)
    )
    assert response.status_code == case.status, f"{case}: got {response.status_code} {response.text[:300]}"
    fields = [e["field"] for e in response.json()["errors"]]
    assert case.field in fields, f"{case}: the fake named {fields}"


@_LARGE_FIND
def test_invalid_bodies_draw_what_the_settings_define() -> None:
    def cases(chosen: Settings | None) -> list[ms.InvalidCase]:
        found: list[ms.InvalidCase] = []

        @settings(max_examples=150, derandomize=True, database=None)
        @given(case=ms.invalid_bodies(spec.EVENTS.path, settings=chosen))
        def draw(case: ms.InvalidCase) -> None:
            found.append(case)

        draw()
        return found

    def reasons(chosen: Settings | None) -> set[str]:
        return {case.reason for case in cases(chosen)}

    def drawn(chosen: Settings | None, wanted: str) -> None:
        search = settings(phases=[Phase.generate], max_examples=3000, database=None)  # found; no shrinking
        find(
            ms.invalid_bodies(spec.EVENTS.path, settings=chosen),
            lambda c: wanted in c.reason,
            settings=search,
        )

    limits = ("longer than", "more than", "nested")
    assert not any(word in r for r in reasons(None) for word in limits)
    drawn(None, "events is empty")
    drawn(None, "user_id is missing")
    lenient = reasons(Settings(**_CHOSEN["lenient"]))
    assert "events is empty" not in lenient and "user_id is missing" not in lenient
    assert not any(word in r for r in lenient for word in ("control character", "expected)", "no time zone"))
    strict = Settings(**_CHOSEN["strict"], max_string_length=30)
    for wanted in (
        "8 items, over the limit of 7",
        "a string longer than 30 characters",
        "more than 12 properties",
        "nested deeper than 9 levels",
        "unknown reserved key",
    ):
        drawn(strict, wanted)
    # past a large batch limit the smallest items still make a 400, not a 413; past that, none
    big = Settings(max_batch_items=100_000)
    case = next(c for c in cases(big) if "over the limit" in c.reason)  # a common draw (find would print it)
    assert len(case.body["events"]) == 100_001 and len(case.content()) < big.max_body_bytes
    with pytest.raises(ApiError) as refused:
        validate_body_fully(spec.EVENTS, case.content(), big)
    assert (refused.value.status, refused.value.errors[0].field) == (400, "events")
    assert not any("over the limit" in r for r in reasons(Settings(max_batch_items=1_000_000)))
    # a limit case that would outgrow the body limit (413 first) is left out
    roomy = reasons(
        Settings(max_body_bytes=10_000, max_string_length=6_000, max_properties=1_000, max_depth=5_000)
    )
    assert not any(word in r for r in roomy for word in limits)


def test_every_item_defect_is_drawn_under_some_settings() -> None:
    # a maker in the table that no endpoint or setting reaches would be dead code
    every = Settings(**_CHOSEN["strict"])
    drawn = {kind for key in spec.ITEM_FIELDS for kind in _item_defects(key, every, True)}
    assert drawn == set(_ITEM_DEFECTS)


@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_invalid_requests_are_rejected_as_labelled(
    marketap_server: MarketapMock, path: str, data: st.DataObject
) -> None:
    marketap_server.reset()
    case = data.draw(
        ms.invalid_requests(path, api_key=marketap_server.api_key, project_id=marketap_server.project_id)
    )
    response = post(
        marketap_server, path, case.content(), headers=case.headers, query=case.query, method=case.method
    )
    assert response.status_code == case.status, f"{case}: got {response.status_code} {response.text[:300]}"
    assert case.field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_oversized_bodies_are_413(marketap_server: MarketapMock, path: str, data: st.DataObject) -> None:
    marketap_server.configure(max_body_bytes=2000)
    try:
        case = data.draw(ms.oversized_bodies(path, max_body_bytes=2000))
        response = post(marketap_server, path, case.content())
        assert (response.status_code, response.json()["errors"][0]["field"]) == (413, "body")
    finally:
        marketap_server.restore_settings()


def test_invalid_bodies_can_include_413_cases() -> None:
    case = find(ms.invalid_bodies(spec.EVENTS.path, max_body_bytes=100), lambda c: c.status == 413)
    assert len(case.content()) > 100 and case.field == "body"


@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=fuzz_examples(100), deadline=None)
@given(data=st.data())
def test_fitted_validator_agrees_with_the_full_one(path: str, data: st.DataObject) -> None:
    """validator_for's raw-text shortcuts never change an answer, on valid or invalid data."""
    endpoint = spec.endpoint_for(path)
    assert endpoint is not None
    raw = data.draw(
        st.one_of(
            ms.valid_bodies(path, max_size=20).map(lambda body: json.dumps(body).encode()),
            ms.invalid_bodies(path).map(lambda case: case.content()),
        )
    )

    def outcome(validator: Any) -> Any:
        try:
            return validator.validate_json(raw)
        except Exception as exc:
            return [(e["loc"], e["type"]) for e in exc.errors()]  # type: ignore[attr-defined]

    assert outcome(validator_for(endpoint, Settings(), raw)) == outcome(validator_for(endpoint, Settings()))


# No deadline: the health checks under test are Hypothesis's own (data too large, too slow to
# draw), and a loaded machine can take longer than the default deadline to validate a thousand
# items without anything being wrong.
@settings(max_examples=15, deadline=None)
@given(body=ms.valid_bodies(spec.EVENTS.path, min_size=1000))
def test_thousand_item_batches_pass_default_health_checks(body: dict[str, Any]) -> None:
    assert len(body["events"]) == 1000
    validate_body(spec.EVENTS, json.dumps(body).encode(), Settings())


def test_batch_sizes_reach_the_boundaries() -> None:
    sizes: list[int] = []

    @settings(max_examples=200, derandomize=True, database=None)
    @given(batch=ms.event_batches())
    def draw(batch: list[dict[str, Any]]) -> None:
        sizes.append(len(batch))

    draw()
    # each boundary comes up in well over a tenth of the draws
    assert sizes.count(1) > 20 and sizes.count(1000) > 20, (sizes.count(1), sizes.count(1000))


def test_timestamps_cover_zones_fractions_and_leap_days() -> None:
    for wanted in (
        lambda t: t.endswith("Z"),
        lambda t: "+09:00" in t,
        lambda t: "-03:30" in t,
        lambda t: "." in t,
        lambda t: t[5:10] == "02-29",
    ):
        find(ms.timestamps(), wanted, settings=settings(max_examples=2000))


@settings(max_examples=300)
@given(stamp=ms.timestamps())
def test_timestamps_are_rfc3339(stamp: str) -> None:
    import re

    assert re.fullmatch(spec.TIMESTAMP_PATTERN, stamp)


def test_iso8601_timestamps_cover_its_other_forms() -> None:
    import re

    for wanted in (
        lambda t: re.match(r"[0-9]{8}T[0-9]{6}", t),  # the basic form
        lambda t: "," in t,
        lambda t: re.search(r"[+-][0-9]{4}$", t),  # an offset without a colon
        lambda t: re.search(r"[+-][0-9]{2}$", t),  # hours alone
        lambda t: re.search(r"T[0-9:.]+[+-][0-9]{2}:[0-9]{2}$", t),  # and RFC 3339's own forms
    ):
        find(ms.timestamps(timestamp_format="iso8601"), wanted, settings=settings(max_examples=5000))


@settings(max_examples=300)
@given(stamp=ms.timestamps(timestamp_format="iso8601", naive=True))
def test_iso8601_timestamps_are_what_a_fake_with_that_setting_accepts(stamp: str) -> None:
    import re

    lenient = Settings(timestamp_format="iso8601", allow_naive_timestamps=True)
    assert re.fullmatch(spec.timestamp_pattern("iso8601", naive=True), stamp)
    body = json.dumps({"events": [{"name": "e", "user_id": "u", "timestamp": stamp}]}).encode()
    validate_body(spec.EVENTS, body, lenient)
    validate_body_fully(spec.EVENTS, body, lenient)


@settings(max_examples=300)
@given(stamp=ms.timestamps(timestamp_format="iso8601"))
def test_iso8601_timestamps_keep_their_zone_unless_asked(stamp: str) -> None:
    import re

    assert re.fullmatch(spec.timestamp_pattern("iso8601"), stamp)


@settings(max_examples=100)
@given(value=ms.invalid_timestamps())
def test_invalid_timestamps_never_match(value: tuple[Any, str]) -> None:
    import re

    stamp, _why = value
    assert not (isinstance(stamp, str) and re.fullmatch(spec.TIMESTAMP_PATTERN, stamp))


@pytest.mark.parametrize("timestamp_format", spec.TIMESTAMP_FORMATS)
@pytest.mark.parametrize("naive", [False, True])
def test_invalid_timestamps_follow_the_settings(timestamp_format: str, naive: bool) -> None:
    """Each is refused by a fake with those settings; what such a fake accepts is left out."""
    chosen = Settings(timestamp_format=timestamp_format, allow_naive_timestamps=naive)  # type: ignore[arg-type]
    seen: set[str] = set()

    @settings(max_examples=300, derandomize=True, database=None)
    @given(value=ms.invalid_timestamps(naive=naive, timestamp_format=timestamp_format))
    def check(value: tuple[Any, str]) -> None:
        stamp, why = value
        seen.add(why)
        body = json.dumps({"events": [{"name": "e", "user_id": "u", "timestamp": stamp}]}).encode()
        with pytest.raises(ApiError) as refused:
            validate_body_fully(spec.EVENTS, body, chosen)
        assert [e.field for e in refused.value.errors] == ["events[0].timestamp"], why

    check()
    assert ("the basic form" in seen) is (timestamp_format == "rfc3339")
    assert ("an offset without minutes" in seen) is (timestamp_format == "rfc3339")
    assert ("no time zone" in seen) is not naive
    assert "month 13" in seen


@settings(max_examples=200)
@given(props=ms.properties(spec.PROFILES.path))
def test_profile_properties_are_realistic(props: dict[str, Any]) -> None:
    if "mkt_phone_number" in props:
        assert props["mkt_phone_number"].isdigit()
    for flag in ("mkt_text_message_opt_in", "mkt_kakao_opt_in", "mkt_email_opt_in"):
        assert flag not in props or isinstance(props[flag], bool)
    if "mkt_birth" in props:
        assert len(props["mkt_birth"]) == 10
    if "mkt_email" in props:
        assert "@" in props["mkt_email"]


def test_korean_names_come_up() -> None:
    find(ms.properties(spec.PROFILES.path), lambda p: "\uac00" <= p.get("mkt_name", " ")[0] <= "\ud7a3")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ms.valid_bodies("/v1/api/nothing"), "not an endpoint"),
        (lambda: ms.event_batches(min_size=-1), "min_size=-1"),
        (lambda: ms.event_batches(min_size=5, max_size=2), "at least min_size=5"),
        (lambda: ms.event_batches(max_size=1001), "over the limit of 1000"),
        (lambda: ms.user_id_batches(min_size=0), "at least one user id"),
        (lambda: ms.timestamps(naive="yes"), "naive='yes'"),
        (lambda: ms.timestamps(timestamp_format="iso"), "timestamp_format='iso'"),
        (lambda: ms.invalid_timestamps(naive=1), "naive=1"),
        (lambda: ms.invalid_bodies(spec.EVENTS.path, settings={}), "settings={}"),
        (lambda: ms.properties(spec.DELETION.path), "has no properties"),
        (lambda: ms.oversized_bodies(spec.EVENTS.path, max_body_bytes=0), "max_body_bytes=0"),
    ],
)
def test_arguments_are_checked_eagerly(build: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        build()


@pytest.mark.parametrize("path", spec.PATHS)
@settings(max_examples=fuzz_examples(200), deadline=None)
@given(data=st.data())
def test_a_case_body_cannot_be_sent_as_something_else(path: str, data: st.DataObject) -> None:
    """``json=case.body`` either sends exactly ``content()`` or fails loudly: a JSON ``null``
    or a byte-level defect is never sent as no body at all (requests and httpx drop json=None)."""
    import httpx
    import requests

    case = data.draw(ms.invalid_bodies(path))
    if isinstance(case.body, ms.RawBody):
        assert case.raw is not None and case.body.raw == case.raw
        with pytest.raises(TypeError, match="RawBody"):
            requests.Request("POST", "http://fake.test/", json=case.body).prepare()
        with pytest.raises(TypeError, match="RawBody"):
            httpx.Request("POST", "http://fake.test/", json=case.body)
        return
    assert case.raw is None and case.body is not None
    try:
        sent = requests.Request("POST", "http://fake.test/", json=case.body).prepare().body
    except (ValueError, requests.exceptions.InvalidJSONError):
        assert b"NaN" in case.content() or b"Infinity" in case.content()  # loud: no JSON for it
        return
    assert sent is not None
    assert json.loads(sent) == json.loads(case.content())


def test_the_null_body_case_is_raw() -> None:
    cases = [_case(None, "body", "the body is null, not a JSON object")]
    assert cases[0].content() == b"null" and isinstance(cases[0].body, ms.RawBody)
    assert "case.content()" in repr(cases[0].body)
