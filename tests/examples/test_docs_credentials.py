import pytest
import requests

MARKETAP = "https://event.marketap.io"


def track_login(api_key: str, project_id: str, user_id: str) -> int:
    """The code under test: it sends with the shop's own key and project."""
    response = requests.post(
        f"{MARKETAP}/v1/api/events",
        params={"project_id": project_id},
        headers={"Authorization": f"Bearer {api_key}"},
        json={"events": [{"name": "mkt_login", "user_id": user_id}]},
        timeout=5,
    )
    return response.status_code


def test_the_default_credentials(marketap_inprocess):
    assert (marketap_inprocess.api_key, marketap_inprocess.project_id) == ("test-api-key", "test-project")
    assert track_login("test-api-key", "test-project", "u-1") == 202
    assert track_login("sk-live-shop", "test-project", "u-1") == 401  # a key the fake does not know


@pytest.mark.marketap(api_keys={"sk-shop": ["shop", "blog"], "test-api-key": ["test-project"]})
def test_keys_of_your_own(marketap_inprocess):
    assert track_login("sk-shop", "blog", "u-1") == 202
    assert track_login("sk-shop", "other", "u-1") == 401  # the key is not valid for that project

    [first, second] = marketap_inprocess.requests
    assert first.project_id == "blog"
    assert second.errors[0]["field"] == "Authorization"
