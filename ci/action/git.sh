# shellcheck shell=bash
# Sourced by the action's steps: the pull request's base commit (BASE_SHA), fetched when the
# checkout is shallow. Returns 1, after saying why, when there is none to compare with.
base_commit_available() {
  [ -n "${BASE_SHA:-}" ] && [ "${BASE_SHA//0/}" != "" ] || return 1
  git rev-parse --git-dir >/dev/null 2>&1 || return 1
  git cat-file -e "$BASE_SHA^{commit}" 2>/dev/null && return 0
  git fetch -q --depth=1 origin "$BASE_SHA" 2>/dev/null && return 0
  echo "imgopt: base commit $BASE_SHA is not available (fetch-depth?)" >&2
  return 1
}
