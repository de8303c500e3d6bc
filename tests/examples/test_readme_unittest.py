import unittest

import requests

from pytest_plugin import mock_marketap

MARKETAP = "https://event.marketap.io"


def report_purchase(order_id: str, user_id: str, revenue: float) -> int:
    """The code under test, unchanged: requests with the vendor's URL hard-coded."""
    response = requests.post(
        f"{MARKETAP}/v1/api/events",
        params={"project_id": "test-project"},
        headers={"Authorization": "Bearer test-api-key"},
        json={
            "events": [
                {
                    "id": order_id,
                    "name": "mkt_purchase",
                    "user_id": user_id,
                    "properties": {"mkt_revenue": revenue},
                }
            ]
        },
        timeout=5,
    )
    return response.status_code


@mock_marketap()  # setUp, each test and tearDown run against a fresh fake, as self.marketap
class PurchaseReportingTest(unittest.TestCase):
    marketap: object

    def setUp(self) -> None:
        self.assertEqual(report_purchase("order-0", "u-0", 1000), 202)  # covered too

    def test_a_purchase_is_reported_once(self) -> None:
        self.assertEqual(report_purchase("order-1", "u-1", 39000), 202)
        self.assertEqual(report_purchase("order-1", "u-1", 39000), 202)  # a retry: same id

        self.marketap.assert_event_sent("mkt_purchase", user_id="u-1", count=1, mkt_revenue=39000)
        self.assertEqual(len(self.marketap.events), 2)  # setUp's and this test's, no other test's

    def test_a_string_revenue_is_refused(self) -> None:
        with mock_marketap() as marketap:  # or as a context manager, anywhere
            self.assertEqual(report_purchase("order-2", "u-1", "39000"), 400)  # type: ignore[arg-type]
            [rejected] = marketap.rejected_requests
            self.assertEqual(rejected.errors[0]["field"], "events[0].properties.mkt_revenue")
