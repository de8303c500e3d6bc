import pytest
import requests


def forget_user(base_url: str, api_key: str, project_id: str, user_id: str) -> None:
    """The code under test: a GDPR-style erase request."""
    requests.post(
        f"{base_url}/v1/api/profile/user/deletion-job",
        params={"project_id": project_id},
        headers={"Authorization": f"Bearer {api_key}"},
        json={"user_id": user_id},
        timeout=5,
    ).raise_for_status()


@pytest.mark.marketap(deletion_jobs="manual")
def test_erasure_is_requested(marketap):
    requests.post(
        marketap.url_for("/v1/api/profile/user"),
        headers=marketap.headers,
        json={"profiles": [{"user_id": "u-7", "properties": {"mkt_email": "a@example.com"}}]},
    )
    forget_user(marketap.url, marketap.api_key, marketap.project_id, "u-7")

    marketap.assert_deletion_requested("u-7")
    [job] = marketap.deletion_jobs
    assert job.status == "pending"  # Marketap deletes asynchronously
    marketap.complete_deletion_jobs()
    assert marketap.profiles == {}
    assert marketap.deletion_jobs[0].removed == {"profiles": 1, "device_mappings": 0, "events": 0}
