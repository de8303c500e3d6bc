import time

import httpx
import pytest

URL = "https://event.marketap.io/v1/api/events?project_id=test-project"
HEADERS = {"Authorization": "Bearer test-api-key"}


class GaveUp(Exception):
    pass


def send_with_retry(
    client: httpx.Client, body: dict, *, attempts: int = 4, sleep=time.sleep
) -> httpx.Response:
    """The code under test: retry 5xx, 429 and dropped connections, honouring Retry-After."""
    for attempt in range(attempts):
        try:
            response = client.post(URL, json=body, headers=HEADERS)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code < 500 and response.status_code != 429:
            return response
        if attempt + 1 < attempts:
            retry_after = response.headers.get("Retry-After") if response is not None else None
            sleep(float(retry_after) if retry_after else 0.01 * 2**attempt)
    raise GaveUp(f"no answer after {attempts} attempts")


def test_survives_503_503_then_202(marketap_respx):
    marketap_respx.fail_next(503, times=2, retry_after=0)
    body = {"events": [{"id": "order-1", "name": "mkt_purchase", "user_id": "u-1"}]}

    with httpx.Client() as client:
        assert send_with_retry(client, body).status_code == 202

    assert [r.status for r in marketap_respx.requests] == [503, 503, 202]
    marketap_respx.assert_event_sent("mkt_purchase", user_id="u-1", count=1)  # not lost, not doubled


def test_survives_a_dropped_connection(marketap_respx):
    marketap_respx.drop_next()
    with httpx.Client() as client:
        assert (
            send_with_retry(client, {"events": [{"name": "mkt_login", "user_id": "u-1"}]}).status_code == 202
        )
    marketap_respx.assert_event_sent("mkt_login", count=1)


@pytest.mark.marketap(rate_limit="2/m")
def test_gives_up_after_repeated_429(marketap_respx):
    waits = []
    body = {"events": [{"name": "mkt_login", "user_id": "u-1"}]}
    with httpx.Client() as client:
        for _ in range(2):
            assert send_with_retry(client, body, sleep=waits.append).status_code == 202
        with pytest.raises(GaveUp):
            send_with_retry(client, body, sleep=waits.append)

    assert [r.status for r in marketap_respx.requests] == [202, 202, 429, 429, 429, 429]
    assert waits == [30.0, 30.0, 30.0]  # it honoured Retry-After: the bucket refills one token per 30 s
