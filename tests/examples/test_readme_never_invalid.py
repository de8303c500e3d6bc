from dataclasses import dataclass
from datetime import date, datetime

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_plugin.strategies import user_ids


@dataclass
class Customer:
    id: str
    name: str
    birthday: date
    accepts_kakao: bool
    joined: datetime


def profile_payload(customer: Customer) -> dict:
    """The code under test: it turns a customer into a Marketap profile."""
    return {
        "user_id": customer.id,
        "timestamp": customer.joined.isoformat(),
        "properties": {
            "mkt_name": customer.name,
            "mkt_birth": customer.birthday.isoformat(),
            "mkt_kakao_opt_in": customer.accepts_kakao,
        },
    }


customers = st.builds(
    Customer,
    id=user_ids(),
    name=st.text(st.characters(codec="utf-8", categories=["L", "Zs"]), min_size=1, max_size=20),
    birthday=st.dates(date(1920, 1, 1), date(2015, 12, 31)),
    joined=st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.timezones()),
)


@settings(max_examples=50, deadline=None)
@given(customer=customers)
def test_profiles_are_never_rejected(marketap_server, customer):
    marketap_server.reset()
    requests.post(
        marketap_server.url_for("/v1/api/profile/user"),
        headers=marketap_server.headers,
        json={"profiles": [profile_payload(customer)]},
        timeout=5,
    )
    marketap_server.assert_no_rejected_requests()
