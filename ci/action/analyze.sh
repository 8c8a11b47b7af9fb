#!/usr/bin/env bash
# The action's image step: `imgopt analyze --image $INPUT_IMAGE`, with the gates of `.dive-ci`
# when the workspace has one. The per-layer table goes to the job summary; outputs image-size,
# invisible-bytes and exit-code (1 when a gate failed).
set -euo pipefail

imgopt=${IMGOPT:-imgopt}
image=${INPUT_IMAGE:?INPUT_IMAGE: the image to analyze}
out=${GITHUB_OUTPUT:-/dev/null}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/imgopt-analyze.XXXXXX")

analyze=(analyze --image "$image")
[ -f .dive-ci ] && analyze+=(--ci-config .dive-ci)

code=0
"$imgopt" "${analyze[@]}" --format json >"$work/analyze.json" || code=$?
if [ "$code" -ge 2 ] || ! jq -e .totals "$work/analyze.json" >/dev/null 2>&1; then
  echo "::error title=imgopt::imgopt analyze --image $image failed (exit $code)"
  exit 2
fi
"$imgopt" "${analyze[@]}" --format table || true
{
  echo
  "$imgopt" "${analyze[@]}" --format markdown || true
} >>"$summary"

{
  echo "image-size=$(jq '.totals.uncompressed_bytes' "$work/analyze.json")"
  echo "invisible-bytes=$(jq '.totals.reclaimable_bytes' "$work/analyze.json")"
  echo "exit-code=$code"
} >>"$out"
