import requests

from mockserver import Backend, LiveServer, create_app


def test_the_fake_in_python():
    app = create_app()  # accepts test-api-key for test-project
    client = app.test_client()  # Flask's test client, no socket
    answer = client.post(
        "/v1/api/events?project_id=test-project",
        headers={"Authorization": "Bearer test-api-key"},
        json={"events": [{"name": "mkt_login", "user_id": "u-1"}]},
    )
    assert answer.status_code == 202

    backend = Backend({"deletion_jobs": "manual"})
    with LiveServer(backend) as server:  # a real socket on 127.0.0.1, a free port
        requests.post(
            f"{server.url}/v1/api/profile/user/deletion-job?project_id=test-project",
            headers={"Authorization": "Bearer test-api-key"},
            json={"user_id": "u-1"},
            timeout=5,
        ).raise_for_status()
        # state is plain Python, shared by every way in
        assert backend.deletion_jobs("test-project")[0]["status"] == "pending"
