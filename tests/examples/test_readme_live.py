import requests


def send_signup(base_url: str, api_key: str, project_id: str, user_id: str) -> None:
    """The code under test: it reports a signup to Marketap."""
    response = requests.post(
        f"{base_url}/v1/api/events",
        params={"project_id": project_id},
        headers={"Authorization": f"Bearer {api_key}"},
        json={"events": [{"name": "mkt_signup", "user_id": user_id, "timestamp": "2025-01-17T05:39:22Z"}]},
        timeout=5,
    )
    response.raise_for_status()


def test_signup_is_reported(marketap):
    send_signup(marketap.url, marketap.api_key, marketap.project_id, "u-1001")

    marketap.assert_event_sent("mkt_signup", user_id="u-1001", count=1)
    marketap.assert_no_rejected_requests()
    marketap.assert_no_warnings()  # no unknown field, no misspelt mkt_* key
    assert marketap.requests[0].headers["authorization"] == "Bearer test****"  # keys are masked
