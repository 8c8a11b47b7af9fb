#!/usr/bin/env bash
# What `imgopt rewrite` saves on real-world-style Dockerfiles (issue 11): every directory of
# testdata/rewrite/real/ (a Dockerfile written the way projects write them badly, and its small
# context), rewritten with `imgopt rewrite --measure --format json`, which builds the original and
# the proposal with imgopt's builder on the debootstrap Debian base (imgopt-test/debian:bookworm,
# tests/common/bases.rs) and compares the two images (src/rewrite/safety.rs). Prints, per file,
# the image bytes before, after the whole proposal (what `--write --unsafe` would take) and after
# what `--write` takes (the whole proposal when it keeps the image, else the proposal without the
# transforms that change it, else nothing), the savings, their medians, then every path the
# whole proposal changed outside the caches and docs table (src/model/caches.rs). The goal is
# on what `--write` takes: no path lost outside the caches table.
#
#   benches/rewrite_savings.sh                                # every case of testdata/rewrite/real
#   CASES="python-flask c-make" benches/rewrite_savings.sh
#   IMGOPT=target/release/imgopt benches/rewrite_savings.sh   # no cargo build
#   STORE=/var/tmp/imgopt-savings benches/rewrite_savings.sh  # keep the store (and its step cache)
#   SHOWN=50 benches/rewrite_savings.sh                       # unexpected paths listed per case
#
# The JSON of each run is kept in target/rewrite-savings/CASE.json. The figures are read from it
# with these jq expressions (override them if the report's shape differs):
#   JQ_BEFORE      content bytes of the original       .measurement.before.content_bytes
#   JQ_AFTER       content bytes of the proposal       .measurement.after.content_bytes
#   JQ_SAFE        of the proposal without the         .measurement.after_safe.content_bytes
#                  transforms that change the image    (absent when the whole proposal is safe)
#   JQ_UNEXPECTED  the safety check's differences      .measurement.safety.unexpected
#                  outside the caches and docs table   (a list of lines)
# A file with nothing to propose (exit 0) saves 0%.
# Needs root (the builder), debootstrap (the base, made once and cached), jq, and the network
# (deb.debian.org over http; pypi.org and registry.npmjs.org over https).
# Goal (issue 11): median saving ≥ 32% with no path lost outside the caches table (the
# "written" column).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}
real=$here/testdata/rewrite/real
jq_before=${JQ_BEFORE:-.measurement.before.content_bytes}
jq_after=${JQ_AFTER:-.measurement.after.content_bytes}
jq_safe=${JQ_SAFE:-.measurement.after_safe.content_bytes}
jq_unexpected=${JQ_UNEXPECTED:-.measurement.safety.unexpected}

command -v jq >/dev/null || { echo "rewrite_savings: jq is needed (apt-get install jq)" >&2; exit 2; }

imgopt=${IMGOPT:-}
if [[ -z $imgopt ]]; then
  (cd "$here" && cargo build --release --quiet)
  imgopt=$target/release/imgopt
fi
if ! "$imgopt" rewrite --help >/dev/null 2>&1; then
  echo "rewrite_savings: \`$imgopt rewrite\` does not exist in this build (issue 11): nothing to measure" >&2
  exit 2
fi

cases=${CASES:-$(cd "$real" && for d in */; do [[ -f $d/Dockerfile ]] && echo "${d%/}"; done)}
for case in $cases; do
  [[ -f $real/$case/Dockerfile ]] || { echo "rewrite_savings: no $real/$case/Dockerfile" >&2; exit 2; }
done

# The Debian base, made by the test helper as the tests make it, unless it is cached already.
bases=${IMGOPT_TEST_BASES:-$target/tmp/bases}/v1
if [[ ! -f $bases/debian/image.json ]]; then
  echo "making the Debian base (debootstrap, a few minutes, once)" >&2
  (cd "$here" && cargo test --quiet --test build_fidelity -- --exact debian_base_is_readable >/dev/null)
fi

work=$(mktemp -d /tmp/imgopt-rewrite-savings.XXXXXX)
trap 'rm -rf "$work"' EXIT
store=${STORE:-$work/store}
export IMGOPT_STORE=$store
"$imgopt" load "docker-archive:$bases/debian/docker-archive.tar" -t imgopt-test/debian:bookworm >/dev/null
results=$target/rewrite-savings
mkdir -p "$results"

human() { awk -v b="$1" 'BEGIN { split("B kB MB GB TB", u, " "); i = 1; while (b >= 1000 && i < 5) { b /= 1000; i++ }
  if (i == 1) printf "%d B", b; else printf "%.1f %s", b, u[i] }'; }

# The saving of $2 bytes against $1, in percent.
percent() { awk -v b="$1" -v a="$2" 'BEGIN { printf "%.1f%%", (b > 0 ? 100 * (b - a) / b : 0) }'; }

failed=0
shown=${SHOWN:-15}
: >"$work/savings"
: >"$work/unexpected"
: >"$work/written"
printf '%-18s %11s %11s %7s %11s %7s %10s %7s\n' case before "whole after" saving "written" saving unexpected seconds
for case in $cases; do
  json=$results/$case.json
  start=$(date +%s.%N)
  # Exit codes: 0 nothing to propose, 1 a proposal exists, 2 an error.
  status=0
  "$imgopt" rewrite --measure --format json -f "$real/$case/Dockerfile" "$real/$case" >"$json" 2>"$work/$case.log" || status=$?
  seconds=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  if ((status > 1)); then
    failed=$((failed + 1))
    printf '%-18s %s\n' "$case" "failed (exit $status, $seconds s); last lines of its output:"
    tail -15 "$work/$case.log" | sed 's/^/    /'
    continue
  fi
  if ((status == 0)); then
    echo "0" >>"$work/savings"
    echo "0" >>"$work/written"
    printf '%-18s %s\n' "$case" "nothing to propose (0%, $seconds s)"
    continue
  fi
  before=$(jq -r "$jq_before // empty" "$json" 2>/dev/null || true)
  after=$(jq -r "$jq_after // empty" "$json" 2>/dev/null || true)
  # Without a safe-only figure the whole proposal is what --write takes (or nothing is safe).
  safe=$(jq -r "$jq_safe // empty" "$json" 2>/dev/null || true)
  if [[ ! $before =~ ^[0-9]+$ || ! $after =~ ^[0-9]+$ ]]; then
    failed=$((failed + 1))
    printf '%-18s %s\n' "$case" "no figures at $jq_before / $jq_after in $json (its keys: $(jq -c 'keys' "$json" 2>/dev/null || echo 'not JSON'))"
    continue
  fi
  unexpected=$(jq -r "($jq_unexpected // []) | length" "$json")
  # The first few per case; the JSON has them all.
  jq -r "($jq_unexpected // []) | .[:$shown][]" "$json" | sed "s|^|$case: |" >>"$work/unexpected"
  ((unexpected <= shown)) || echo "$case: … $((unexpected - shown)) more in $json" >>"$work/unexpected"
  saving=$(percent "$before" "$after")
  echo "${saving%\%}" >>"$work/savings"
  # What --write takes: the whole proposal when it keeps the image, else the safe part, else nothing.
  if ((unexpected == 0)); then
    written=$after
  elif [[ $safe =~ ^[0-9]+$ ]]; then
    written=$safe
  else
    written=$before
  fi
  written_saving=$(percent "$before" "$written")
  echo "${written_saving%\%}" >>"$work/written"
  safe_columns=("$(human "$written")" "$written_saving")
  printf '%-18s %11s %11s %7s %11s %7s %10s %7s\n' "$case" "$(human "$before")" "$(human "$after")" "$saving" \
    "${safe_columns[@]}" "$unexpected" "$seconds"
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
measured=$(wc -l <"$work/savings")
if ((measured > 0)); then
  echo
  echo "median saving of what --write takes: $(median "$work/written")% over $measured Dockerfiles (goal: ≥ 32%)"
  echo "median saving of the whole proposals (--unsafe): $(median "$work/savings")%"
fi
echo
if [[ -s $work/unexpected ]]; then
  echo "paths the whole proposals changed outside the caches and docs table (left out of what --write takes):"
  sed 's/^/  /' "$work/unexpected"
else
  echo "no path changed outside the caches and docs table"
fi
[[ -n ${STORE:-} ]] && echo "store kept in $store ($(du -sh "$store" | cut -f1))"
((failed == 0)) || { echo "$failed of the cases failed" >&2; exit 1; }
