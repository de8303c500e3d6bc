import httpx

MARKETAP = "https://event.marketap.io"  # hard-coded, as production code often has it


def sync_profile(client: httpx.Client, user_id: str, name: str, kakao_opt_in: bool) -> int:
    """The code under test: it pushes a profile with its consent flag."""
    response = client.post(
        f"{MARKETAP}/v1/api/profile/user",
        params={"project_id": "test-project"},
        headers={"Authorization": "Bearer test-api-key"},
        json={
            "profiles": [
                {"user_id": user_id, "properties": {"mkt_name": name, "mkt_kakao_opt_in": kakao_opt_in}}
            ]
        },
    )
    return response.status_code


def test_profile_reaches_marketap(marketap_respx):
    with httpx.Client() as client:
        assert sync_profile(client, "u-1", "홍길동", kakao_opt_in=False) == 202

    marketap_respx.assert_profile("u-1", mkt_name="홍길동", mkt_kakao_opt_in=False)
