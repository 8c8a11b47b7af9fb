#!/usr/bin/env bash
# notes.sh TAG [CHANGELOG]: the release's notes. Checks that TAG is `v` + Cargo.toml's version
# (the tag names what is built) and prints that version's section of CHANGELOG.md without its
# heading; fails, saying why, when the tag and the version differ or the section is missing or
# empty, so that the release workflow stops before building anything.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tag=${1:?usage: notes.sh TAG [CHANGELOG]}
changelog=${2:-$root/CHANGELOG.md}
version=$(bash "$root/ci/crate-version.sh")
if [ "$tag" != "v$version" ]; then
  echo "notes.sh: the tag $tag is not v$version, the version in Cargo.toml; bump Cargo.toml or tag v$version" >&2
  exit 1
fi
notes=$(awk -v version="$version" '
  /^## / { if (found) exit; found = index($0, "## [" version "]") == 1; next }
  /^\[[^]]+\]: / { if (found) exit }
  found { print }
' "$changelog")
if [ -z "${notes//[[:space:]]/}" ]; then
  echo "notes.sh: $changelog has no section \"## [$version] - DATE\" with content; rename [Unreleased] to it" >&2
  exit 1
fi
# Without the blank lines that open and close the section.
printf '%s\n' "$notes" | sed -e '/./,$!d' | awk '{ lines[NR] = $0 } END { n = NR; while (n > 0 && lines[n] ~ /^[[:space:]]*$/) n--; for (i = 1; i <= n; i++) print lines[i] }'
