#!/usr/bin/env bash
# container/compose.yaml as a user runs it: `app` must get 202 from the fake by its service name.
# Usage: container/test-compose.sh IMAGE (run by .ci/container, which sets podman up).
set -euo pipefail
cd "$(dirname "$0")"
export MARKETAP_IMAGE="$1"
project="marketap-mock-ci-$$"
compose=(podman-compose -p "$project" -f compose.yaml)
trap '"${compose[@]}" down -t 2 >/dev/null 2>&1 || true' EXIT
"${compose[@]}" up -d marketap >/dev/null 2>&1
output="$("${compose[@]}" run --rm app 2>&1)" || { echo "$output" >&2; echo "compose: app failed" >&2; exit 1; }
grep -q "marketap answered 202" <<<"$output" || { echo "$output" >&2; exit 1; }
echo "compose: app reached marketap by its service name (202)"
