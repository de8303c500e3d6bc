"""A shop's Django settings, cut to what the example needs."""

import os

SECRET_KEY = "only-for-the-example"
INSTALLED_APPS = ["shop"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

MARKETAP_URL = "https://event.marketap.io"
MARKETAP_API_KEY = os.environ.get("MARKETAP_API_KEY", "test-api-key")
MARKETAP_PROJECT_ID = os.environ.get("MARKETAP_PROJECT_ID", "test-project")
