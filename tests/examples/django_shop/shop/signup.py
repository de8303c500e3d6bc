import requests
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

MARKETAP = "https://event.marketap.io"  # hard-coded, as production code often has it


def marketap_session() -> requests.Session:
    """Retries 429 and 5xx (waiting out Retry-After), dropped connections and read timeouts."""
    retry = Retry(
        total=3,
        backoff_factor=0.1,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST too: the event's id makes a resent event count once
        respect_retry_after_header=True,
    )
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


session = marketap_session()


def sign_up(request: HttpRequest) -> JsonResponse:
    """The code under test: a new account becomes Marketap's mkt_sign_up event."""
    user_id = request.POST["user_id"]
    try:
        response = session.post(
            f"{MARKETAP}/v1/api/events",
            params={"project_id": settings.MARKETAP_PROJECT_ID},
            headers={"Authorization": f"Bearer {settings.MARKETAP_API_KEY}"},
            json={"events": [{"id": f"sign-up-{user_id}", "name": "mkt_sign_up", "user_id": user_id}]},
            timeout=0.5,
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        return JsonResponse({"user_id": user_id, "reported": False, "error": type(exc).__name__}, status=201)
    return JsonResponse({"user_id": user_id, "reported": True}, status=201)
