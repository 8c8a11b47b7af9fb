#!/usr/bin/env bash
# The action's size review (input `size-review: true`, on a pull request): each Dockerfile the
# pull request changed is built at the base commit and at the head with `imgopt diff` (one store,
# IMGOPT_STORE, restored by actions/cache: the base's steps come from its cache). The comparison
# tables go to the job summary, its findings (lines that grow the image by more than
# INPUT_SIZE_ANNOTATE_MIN, cleanups that free nothing) become annotations, and the gates
# INPUT_MAX_GROWTH and INPUT_MAX_SIZE decide exit-code (1 when one failed, 2 on an error). A
# Dockerfile new in the pull request is compared with no image (every line added).
# With INPUT_SUGGEST=true the rewriter's measured proposal (what `imgopt rewrite --write` would
# take) is also posted as review suggestions on the lines of the pull request's diff, with
# GITHUB_TOKEN through GITHUB_API_URL; a pull request from a fork (read-only token) or a refused
# call leaves them in the summary only.
# Outputs: size-before, size-after, size-growth (content bytes, summed over the Dockerfiles
# reviewed), exit-code.
set -euo pipefail
# Paths from the pull request are file names, never pathspec magic (`:!x`).
export GIT_LITERAL_PATHSPECS=1

# shellcheck source=ci/action/git.sh
. "$(dirname "$0")/git.sh"

imgopt=${IMGOPT:-imgopt}
out=${GITHUB_OUTPUT:-/dev/null}
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
export IMGOPT_STORE=${IMGOPT_STORE:-${RUNNER_TEMP:-/tmp}/imgopt-store}
work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/imgopt-size.XXXXXX")

finish() {
  {
    echo "size-before=${1:-}"
    echo "size-after=${2:-}"
    echo "size-growth=${3:-}"
    echo "exit-code=${4:-0}"
  } >>"$out"
  exit 0
}

if ! base_commit_available; then
  echo "::notice title=imgopt size review::No base commit to compare with (size review runs on pull requests); skipped"
  finish
fi

# The builder needs root: on a hosted runner that is sudo (which needs no password there). The
# store, the logins (docker/login-action writes ~/.docker/config.json) and PATH go along.
as_root=()
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then
  as_root=(sudo env "IMGOPT_STORE=$IMGOPT_STORE" "HOME=$HOME" "PATH=$PATH")
  for var in DOCKER_CONFIG REGISTRY_AUTH_FILE XDG_RUNTIME_DIR; do
    [ -n "${!var:-}" ] && as_root+=("$var=${!var}")
  done
fi

# Dockerfiles the pull request added or changed, by the names BuildKit and podman use.
git -c core.quotePath=false diff --no-renames --name-only --diff-filter=AM "$BASE_SHA" HEAD |
  grep -E '(^|/)(Dockerfile|Containerfile)([.][^/]*)?$|[.]([Dd]ockerfile|Containerfile)$' >"$work/dockerfiles" || true
if ! [ -s "$work/dockerfiles" ]; then
  echo "imgopt: the pull request changes no Dockerfile; no size review"
  finish
fi

# The rewriter's measured proposal for a Dockerfile (exit 1 means there is one); with a third
# argument, its review suggestions are written to that file too.
rewrite_proposal() {
  echo
  local rc=0 review_flag=()
  [ -n "${3:-}" ] && review_flag=(--review "$3")
  "${as_root[@]}" "$imgopt" rewrite --measure --format markdown "${review_flag[@]}" -f "$1" "$2" 2>>"$work/rewrite.log" || rc=$?
  # 0: nothing to propose, 1: a proposal (shown above); 2: it could not be measured.
  if [ "$rc" -gt 1 ]; then
    echo "> imgopt rewrite could not measure a proposal for \`$1\` (see the log)."
  fi
}

# Posts the suggestions of review file $2 for Dockerfile $1 that fall on lines of the pull
# request's diff (GitHub takes comments there only), as one review: a change whose parts are not
# all on such lines is left out whole (a part alone would break the file). The line numbers are
# those of the file the rewriter read: posted only when it is the head commit's version (a merge
# checkout with other changes to the file would move them). Prints what happened.
post_suggestions() {
  local dockerfile=$1 review=$2 ranges payload code head_blob range_base
  if [ -n "${HEAD_REPO:-}" ] && [ "$HEAD_REPO" != "${GITHUB_REPOSITORY:-}" ]; then
    echo "> Suggestions not posted: a pull request from a fork gets a read-only token; the proposal is above."
    return
  fi
  if [ "$(jq '.comments | length' "$review")" = 0 ]; then
    return
  fi
  head_blob=$(git rev-parse -q --verify "${HEAD_SHA:-}:$dockerfile" 2>/dev/null ||
    { git fetch -q --depth=1 origin "${HEAD_SHA:-}" 2>/dev/null && git rev-parse -q --verify "$HEAD_SHA:$dockerfile" 2>/dev/null; } || true)
  if [ -z "$head_blob" ] || [ "$head_blob" != "$(git hash-object -- "$dockerfile")" ]; then
    echo "> Suggestions not posted: the checked-out \`$dockerfile\` is not the pull request head's version (a merge with other changes to it), so their lines would not match; the proposal is above."
    return
  fi
  # The head side of each hunk of the pull request's diff (from where the head branched off).
  range_base=$(git merge-base "$BASE_SHA" "$HEAD_SHA" 2>/dev/null || echo "$BASE_SHA")
  ranges=$(git -c core.quotePath=false diff -U3 "$range_base" "$HEAD_SHA" -- "$dockerfile" |
    sed -n 's/^@@ -[0-9,]* +\([0-9]*\)\(,\([0-9]*\)\)\{0,1\} @@.*/\1 \3/p' |
    jq -R -s -c '[split("\n")[] | select(length > 0) | split(" ") | (.[0] | tonumber) as $s
      | ((if .[1] == "" then 1 else (.[1] | tonumber) end)) as $n | select($n > 0) | [$s, $s + $n - 1]]')
  payload=$work/review-post.json
  jq --argjson ranges "$ranges" --arg sha "$HEAD_SHA" '
    def inside: . as $c | any($ranges[]; .[0] <= ($c.start_line // $c.line) and $c.line <= .[1]);
    ([ .comments[] | select(inside | not) | .group ] | unique) as $partial
    | { commit_id: $sha, event: "COMMENT", body: .body,
        comments: [ .comments[] | select(.group as $g | $partial | index($g) | not) | del(.group) ] }' \
    "$review" >"$payload"
  if [ "$(jq '.comments | length' "$payload")" = 0 ]; then
    echo "> No suggestion falls on the lines this pull request changes; the proposal is above."
    return
  fi
  # The token goes in a header file, not on curl's command line.
  (umask 077 && printf 'Authorization: Bearer %s\n' "${GITHUB_TOKEN:-}" >"$work/auth-header")
  code=$(curl -sS -o "$work/review-response.json" -w '%{http_code}' -X POST \
    -H @"$work/auth-header" -H "Accept: application/vnd.github+json" \
    -H "X-GitHub-Api-Version: 2022-11-28" \
    --data-binary "@$payload" \
    "${GITHUB_API_URL:-https://api.github.com}/repos/${GITHUB_REPOSITORY:-}/pulls/${PR_NUMBER:-}/reviews" || echo 000)
  rm -f "$work/auth-header"
  if [ "$code" = 200 ] || [ "$code" = 201 ]; then
    echo "> Posted $(jq '.comments | length' "$payload") suggestion(s) as a review of this pull request."
  else
    local why
    why=$(jq -r '.message // empty' "$work/review-response.json" 2>/dev/null | tr -d '\r\n' | head -c 300 || true)
    echo "::notice title=imgopt size review::Could not post the rewrite's suggestions (HTTP $code); they are in the job summary" >&2
    echo "> Suggestions not posted (HTTP $code${why:+: $why}); the proposal is above."
  fi
}

status=0 before=0 after=0 n=0
{
  echo
  echo "## imgopt size review (base ${BASE_SHA:0:12} → head)"
} >>"$summary"
while IFS= read -r dockerfile; do
  n=$((n + 1))
  context=${INPUT_SIZE_CONTEXT:-$(dirname "$dockerfile")}
  diff=(diff --base "$BASE_SHA" -f "$dockerfile" --annotate-min "${INPUT_SIZE_ANNOTATE_MIN:-1MB}")
  [ -n "${INPUT_MAX_GROWTH:-}" ] && diff+=(--max-growth "$INPUT_MAX_GROWTH")
  [ -n "${INPUT_MAX_SIZE:-}" ] && diff+=(--max-size "$INPUT_MAX_SIZE")
  diff+=("$context")
  echo "::group::imgopt diff $dockerfile"
  code=0
  "${as_root[@]}" "$imgopt" "${diff[@]}" --format json >"$work/$n.json" 2>"$work/$n.log" || code=$?
  cat "$work/$n.log"
  echo "::endgroup::"
  if [ "$code" -ge 2 ] || ! jq -e .totals "$work/$n.json" >/dev/null 2>&1; then
    echo "::error title=imgopt size review::imgopt diff failed for $dockerfile (exit $code); see the log"
    status=2
    continue
  fi
  # Built and cached now: the other formats cost an analysis each.
  {
    echo
    "${as_root[@]}" "$imgopt" "${diff[@]}" --format markdown 2>/dev/null || true
  } >>"$summary"
  "${as_root[@]}" "$imgopt" "${diff[@]}" --format github 2>/dev/null || true
  sed -n 's/^gate failed: //p' "$work/$n.log" | while IFS= read -r failure; do
    echo "::error file=$dockerfile,title=imgopt size gate::$failure"
    printf '\n> [!CAUTION]\n> Gate failed: %s\n' "$failure" >>"$summary"
  done
  [ "$code" = 1 ] && [ "$status" = 0 ] && status=1
  before=$((before + $(jq '.totals.content_bytes.before' "$work/$n.json")))
  after=$((after + $(jq '.totals.content_bytes.after' "$work/$n.json")))
  if [ "${INPUT_SUGGEST:-false}" = true ]; then
    rm -f "$work/$n.review.json"
    rewrite_proposal "$dockerfile" "$context" "$work/$n.review.json" >>"$summary"
    [ -s "$work/$n.review.json" ] && post_suggestions "$dockerfile" "$work/$n.review.json" >>"$summary"
  else
    rewrite_proposal "$dockerfile" "$context" >>"$summary"
  fi
done <"$work/dockerfiles"

finish "$before" "$after" "$((after - before))" "$status"
