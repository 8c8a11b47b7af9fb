#!/usr/bin/env bash
# The action's lint step (run from the workspace):
#   lint.sh                 lint; annotations (findings on lines the change touched first), the
#                           findings table in the job summary, SARIF to a file; outputs findings,
#                           sarif-file, upload (whether the token may upload SARIF) and exit-code.
#   lint.sh upload-failed   the SARIF upload failed: say so, keep the job's verdict to the findings.
# Inputs come as INPUT_* variables; BASE_SHA is the commit the change is compared with, HEAD_REPO
# the pull request's head repository (another one than GITHUB_REPOSITORY means a fork).
set -euo pipefail

out=${GITHUB_OUTPUT:-/dev/null}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}

if [ "${1:-}" = upload-failed ]; then
  msg="The SARIF upload to code scanning failed (a read-only token?). The findings are in the annotations and the job summary."
  echo "::warning title=imgopt::$msg"
  printf '\n> [!NOTE]\n> %s\n' "$msg" >>"$summary"
  exit 0
fi

# shellcheck source=ci/action/git.sh
. "$(dirname "$0")/git.sh"

imgopt=${IMGOPT:-imgopt}
work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/imgopt.XXXXXX")

# `paths` and `args` are split on whitespace, as a shell would without quotes.
read -r -d '' -a paths <<<"${INPUT_PATHS:-.}" || true
read -r -d '' -a extra <<<"${INPUT_ARGS:-}" || true
((${#paths[@]})) || paths=(.)
lint=(lint)
[ -n "${INPUT_CONFIG:-}" ] && lint+=(--config "$INPUT_CONFIG")
[ -n "${INPUT_FAILURE_THRESHOLD:-}" ] && lint+=(--failure-threshold "$INPUT_FAILURE_THRESHOLD")
lint+=("${extra[@]}")

# One run decides the verdict (0 clean, 1 findings at the threshold, 2 error) and counts.
code=0
"$imgopt" "${lint[@]}" --format json -- "${paths[@]}" >"$work/findings.json" || code=$?
if [ "$code" -ge 2 ]; then
  echo "::error title=imgopt::imgopt lint failed (exit $code); see the log above"
  exit "$code"
fi
findings=$(jq '.summary.findings' "$work/findings.json")

# Lines the change added or modified, as `path<TAB>line`, paths relative to here.
changed_lines() {
  base_commit_available || return 0
  git -c core.quotePath=false diff --no-color --no-ext-diff --relative --unified=0 "$BASE_SHA" HEAD |
    awk '/^\+\+\+ / { f = substr($0, 5); sub(/^b\//, "", f); next }
         /^@@ / { split($3, a, ","); start = substr(a[1], 2) + 0; n = (a[2] == "" ? 1 : a[2] + 0)
                  for (i = 0; i < n; i++) print f "\t" (start + i) }'
}

# GitHub shows about 10 annotations of each level per step: those on changed lines go first.
order_annotations() {
  awk 'FILENAME == ARGV[1] { split($0, kv, "\t"); changed[kv[1] "\t" kv[2]] = 1; next }
       {
         first = 0
         if (match($0, /^::[a-z]+ file=[^,]*,line=[0-9]+,endLine=[0-9]+/)) {
           props = substr($0, 1, RLENGTH)
           file = props; sub(/^::[a-z]+ file=/, "", file); sub(/,line=[0-9]+,endLine=[0-9]+$/, "", file)
           gsub(/%2C/, ",", file); gsub(/%3A/, ":", file); gsub(/%0D/, "\r", file); gsub(/%0A/, "\n", file); gsub(/%25/, "%", file)
           from = props; sub(/.*,line=/, "", from); sub(/,endLine=.*/, "", from)
           to = props; sub(/.*,endLine=/, "", to)
           for (i = from + 0; i <= to + 0; i++) if ((file "\t" i) in changed) { first = 1; break }
         }
         if (first) { print; on_change++ } else rest[++n] = $0
       }
       END { for (i = 1; i <= n; i++) print rest[i]
             printf "imgopt: %d finding(s) on changed lines shown first\n", on_change > "/dev/stderr" }' "$1" "$2"
}

format=${INPUT_FORMAT:-github}
if [ "$format" = github ]; then
  changed_lines >"$work/changed.tsv"
  "$imgopt" "${lint[@]}" --exit-zero --format github -- "${paths[@]}" >"$work/annotations.txt"
  order_annotations "$work/changed.tsv" "$work/annotations.txt"
else
  "$imgopt" "${lint[@]}" --exit-zero --format "$format" -- "${paths[@]}"
fi

"$imgopt" "${lint[@]}" --exit-zero --format markdown -- "${paths[@]}" >>"$summary"

upload=false
sarif_file=
if [ "${INPUT_SARIF:-true}" = true ]; then
  sarif_file="$work/imgopt.sarif"
  "$imgopt" "${lint[@]}" --exit-zero --format sarif -- "${paths[@]}" >"$sarif_file"
  upload=true
  # A pull request from a fork (or from Dependabot) runs with a read-only token: code scanning
  # would refuse the upload, so the annotations and the summary carry the findings alone.
  if [ -n "${HEAD_REPO:-}" ] && [ "$HEAD_REPO" != "${GITHUB_REPOSITORY:-}" ] || [ "${GITHUB_ACTOR:-}" = "dependabot[bot]" ]; then
    upload=false
    msg="Pull request from ${HEAD_REPO:-a read-only context}: the token cannot upload SARIF, so the findings are in the annotations and the job summary only."
    echo "::notice title=imgopt::$msg"
    printf '\n> [!NOTE]\n> %s\n' "$msg" >>"$summary"
  fi
fi

{
  echo "findings=$findings"
  echo "sarif-file=$sarif_file"
  echo "upload=$upload"
  echo "exit-code=$code"
} >>"$out"
