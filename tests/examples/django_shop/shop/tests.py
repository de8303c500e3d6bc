from datetime import datetime

import requests
from django.test import SimpleTestCase
from django.utils import timezone

from pytest_plugin import mock_marketap
from shop.marketap import report_order


@mock_marketap()  # each test runs against a fresh fake, as self.marketap
class OrderReportingTests(SimpleTestCase):
    def test_a_paid_order_is_reported(self) -> None:
        report_order("order-1", "u-1", 39000, paid_at=timezone.now())

        self.marketap.assert_event_sent("mkt_purchase", user_id="u-1", count=1, mkt_revenue=39000)
        self.marketap.assert_no_warnings()

    def test_a_naive_time_is_refused(self) -> None:
        with self.assertRaises(requests.HTTPError):  # a 400: the timestamp has no time zone
            report_order("order-2", "u-1", 39000, paid_at=datetime(2025, 1, 17, 14, 39))

        [rejected] = self.marketap.rejected_requests
        self.assertEqual(rejected.errors[0]["field"], "events[0].timestamp")

    def test_an_outage_surfaces(self) -> None:
        self.marketap.fail_next(503)
        with self.assertRaises(requests.HTTPError):
            report_order("order-3", "u-1", 39000, paid_at=timezone.now())
        self.assertEqual(self.marketap.events, [])
