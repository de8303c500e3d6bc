import requests

from pytest_plugin import CapturedRequest, DeletionJob

API = "https://event.marketap.io/v1/api"
SEND = {"params": {"project_id": "test-project"}, "headers": {"Authorization": "Bearer test-api-key"}}


def test_the_shape_of_each_captured_view(marketap_inprocess):
    marketap = marketap_inprocess
    marketap.configure(deletion_jobs="manual")
    requests.post(f"{API}/profile/user", **SEND, json={"profiles": [
        {"user_id": "u-1", "properties": {"mkt_name": "홍길동", "mkt_kakao_opt_in": True}},
    ]})
    requests.post(f"{API}/profile/user", **SEND, json={"profiles": [
        {"user_id": "u-1", "properties": {"mkt_grade": "VIP", "mkt_name": None}},  # merged; null erases nothing
    ]})
    requests.post(f"{API}/events", **SEND, json={"events": [
        {"id": "order-1", "name": "mkt_purchase", "user_id": "u-1",
         "timestamp": "2025-01-17T05:39:22+09:00", "properties": {"mkt_revenue": 39000}},
    ]})
    requests.post(f"{API}/profile/user/device/bulk", **SEND, json={"devices": [
        {"device_id": "gaid:1", "platform": "android", "token": "push-1", "user_id": "u-1"},
    ]})
    requests.post(f"{API}/profile/user/deletion-job", **SEND, json={"user_id": "u-1"})
    requests.post(f"{API}/events", **SEND, json={"events": [{"name": "mkt_login", "user_id": ""}]})

    # profiles: user_id -> properties merged key by key, last write wins
    assert marketap.profiles == {"u-1": {"mkt_name": "홍길동", "mkt_kakao_opt_in": True, "mkt_grade": "VIP"}}
    # events: as accepted, oldest first (a repeated id is stored once)
    assert marketap.events == [
        {"id": "order-1", "name": "mkt_purchase", "user_id": "u-1",
         "timestamp": "2025-01-17T05:39:22+09:00", "properties": {"mkt_revenue": 39000}},
    ]
    # devices: device_id -> the device as sent, with its user mapping
    assert marketap.devices == {
        "gaid:1": {"device_id": "gaid:1", "platform": "android", "token": "push-1", "user_id": "u-1", "properties": {}},
    }
    # deletion jobs: DeletionJob objects
    [job] = marketap.deletion_jobs
    assert isinstance(job, DeletionJob)
    assert (job.id, job.user_ids, job.status, job.completed_at, job.removed) == (
        "job-000001", ["u-1"], "pending", None, None,
    )
    assert job.requested_at.endswith("Z")  # UTC, on the fake's clock
    marketap.complete_deletion_jobs()
    assert marketap.deletion_jobs[0].removed == {"profiles": 1, "device_mappings": 1, "events": 1}

    # requests: every request, accepted or rejected, as CapturedRequest objects
    first, *_, last = marketap.requests
    assert isinstance(first, CapturedRequest)
    assert (first.id, first.method, first.path, first.status) == (1, "POST", "/v1/api/profile/user", 202)
    assert first.query == {"project_id": "test-project"} and first.project_id == "test-project"
    assert first.headers["authorization"] == "Bearer test****"  # the key is masked
    assert first.json["profiles"][0]["user_id"] == "u-1"  # the body, parsed
    assert (first.errors, first.warnings, first.faulted, first.accepted) == ([], [], False, True)
    assert last.rejected and last.status == 400
    assert last.errors == [{"field": "events[0].user_id", "reason": "must not be empty"}]
    assert marketap.rejected_requests == [last]


def test_the_shape_of_a_journal_entry_over_http(marketap):
    requests.post(marketap.url_for("/v1/api/events"), headers=marketap.headers,
                  json={"events": [{"name": "mkt_login", "user_id": "u-1", "mkt_channel": "web"}]})

    [entry] = requests.get(f"{marketap.url}/_mock/requests", timeout=5).json()["requests"]
    assert sorted(entry) == [
        "body", "error_count", "errors", "faulted", "headers", "id", "items", "json", "method",
        "path", "project_id", "query", "size", "status", "time", "warning_count", "warnings",
    ]
    assert (entry["status"], entry["items"], entry["error_count"]) == (202, 1, 0)
    assert entry["warnings"] == ["events[0].mkt_channel: unknown field ignored"]
    assert entry["json"]["events"][0]["name"] == "mkt_login"  # the body parsed, and as text in "body"

    [summary] = requests.get(f"{marketap.url}/_mock/requests?summary=1", timeout=5).json()["requests"]
    assert "headers" not in summary and "json" not in summary and "body" not in summary
