"""The bare Flask app of the peer measurements: no auth, no validation, no state."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/v1/api/events")
def events():  # type: ignore[no-untyped-def]
    body = request.get_json()
    return jsonify(accepted=len(body.get("events", []))), 202


@app.get("/_mock/health")
def health():  # type: ignore[no-untyped-def]
    return {"status": "ok"}
