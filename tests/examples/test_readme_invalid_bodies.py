import requests
from hypothesis import given, settings

from pytest_plugin.strategies import invalid_bodies


@settings(max_examples=30, deadline=None)
@given(case=invalid_bodies("/v1/api/profile/user"))
def test_each_defect_is_refused_as_labelled(marketap_server, case):
    marketap_server.reset()
    response = requests.post(
        marketap_server.url_for("/v1/api/profile/user"),
        data=case.content(),  # the exact bytes; json=case.body cannot carry a null or broken body
        headers=marketap_server.headers,
        timeout=10,
    )
    assert response.status_code == case.status, case
    assert case.field in [error["field"] for error in response.json()["errors"]], case
    assert marketap_server.profiles == {}  # nothing stored
