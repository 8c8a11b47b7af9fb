#!/bin/sh
# Query a JSON health endpoint and print its status field.
set -eu
if [ "${1:-}" = "--help" ]; then
    echo "usage: check.sh URL"
    exit 0
fi
url=${1:?usage: check.sh URL}
curl -fsS --max-time 5 "$url" | jq -r '.status // "unknown"'
