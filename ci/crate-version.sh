#!/usr/bin/env bash
# Prints the crate's version: the `version` of Cargo.toml's [package] table (beside this script's
# parent), without cargo, so that the Action can tell on a bare runner which release its ref is.
set -euo pipefail
manifest=${1:-"$(cd "$(dirname "$0")/.." && pwd)/Cargo.toml"}
version=$(awk '
  /^\[/ { in_package = ($0 ~ /^\[package\][[:space:]]*$/) }
  in_package && /^version[[:space:]]*=/ { sub(/^[^"]*"/, ""); sub(/".*/, ""); print; exit }
' "$manifest")
[ -n "$version" ] || { echo "crate-version.sh: no [package] version in $manifest" >&2; exit 1; }
echo "$version"
