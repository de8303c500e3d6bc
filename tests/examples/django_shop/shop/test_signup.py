import json
import time

from shop.signup import sign_up


def post_sign_up(rf, user_id):
    return json.loads(sign_up(rf.post("/sign-up", {"user_id": user_id})).content)


def test_a_sign_up_is_reported(rf, marketap_inprocess):
    assert post_sign_up(rf, "u-1") == {"user_id": "u-1", "reported": True}

    marketap_inprocess.assert_event_sent("mkt_sign_up", user_id="u-1", count=1)


def test_a_429_is_retried_after_its_retry_after(rf, marketap_inprocess):
    marketap_inprocess.fail_next(429, retry_after=1)
    started = time.monotonic()

    assert post_sign_up(rf, "u-1")["reported"] is True

    assert time.monotonic() - started >= 0.9  # urllib3's Retry waited out Retry-After
    assert [r.status for r in marketap_inprocess.requests] == [429, 202]
    marketap_inprocess.assert_event_sent("mkt_sign_up", user_id="u-1", count=1)


def test_a_dropped_connection_is_retried(rf, marketap_inprocess):
    marketap_inprocess.drop_next()

    assert post_sign_up(rf, "u-1")["reported"] is True

    assert len(marketap_inprocess.requests) == 2  # the dropped one, then its retry
    marketap_inprocess.assert_event_sent("mkt_sign_up", user_id="u-1", count=1)


def test_a_read_timeout_is_retried_and_counted_once(rf, marketap_inprocess):
    marketap_inprocess.add_latency(5000, times=1)  # over the view's timeout of 0.5 s

    assert post_sign_up(rf, "u-1")["reported"] is True

    # The late answer's request was processed too, as by a server whose answer came too late;
    # the event's id keeps the retry from counting twice.
    assert [r.status for r in marketap_inprocess.requests] == [202, 202]
    marketap_inprocess.assert_event_sent("mkt_sign_up", user_id="u-1", count=1)


def test_an_outage_is_not_hidden(rf, marketap_inprocess):
    marketap_inprocess.fail_next(503, times=4)

    assert post_sign_up(rf, "u-1") == {"user_id": "u-1", "reported": False, "error": "RetryError"}
    assert [r.status for r in marketap_inprocess.requests] == [503, 503, 503, 503]
