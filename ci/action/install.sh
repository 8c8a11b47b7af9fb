#!/usr/bin/env bash
# The action's install steps.
#   install.sh plan     -> outputs `dir` (where imgopt lives, cached by actions/cache) and `key`
#   install.sh install  -> puts imgopt in $dir/bin (unless the cache restored it); outputs `imgopt`
# Which imgopt: IMGOPT_VERSION (the `version` input) if set; else the release the action's own ref
# names (`@v0.3.0`, or a moving `@v0`/`@v0.3` tag whose Cargo.toml is at 0.3.x); else (a branch,
# a commit, `uses: ./`) the action's source. The ref is read from where the runner checked the
# action out (.../_actions/OWNER/REPO/REF), else from IMGOPT_ACTION_REF (github.action_ref, which
# a composite action sees only through a step's env, and which names the outer action's ref when
# imgopt's is nested in another composite action).
# A release: the asset imgopt-$VERSION-$TARGET.tar.gz is downloaded from
# $IMGOPT_RELEASE_BASE_URL/v$VERSION/ and checked against the .sha256 file published beside it
# (IMGOPT_TARGET overrides the target this runner is given). Source: the action's own source
# (IMGOPT_SOURCE) is built with `cargo install --locked`.
set -euo pipefail

mode=${1:?usage: install.sh plan|install}
source_dir=${IMGOPT_SOURCE:?IMGOPT_SOURCE: the action directory}
release_base=${IMGOPT_RELEASE_BASE_URL:-https://github.com/imgopt/imgopt/releases/download}
out=${GITHUB_OUTPUT:-/dev/stdout}

# The release for this run, or nothing for a build from source; says why on stderr.
release_version() {
  local ref=${IMGOPT_ACTION_REF:-} crate
  if [[ "$source_dir" =~ /_actions/[^/]+/[^/]+/([^/]+)/?$ ]]; then
    ref=${BASH_REMATCH[1]}
  fi
  if [ -n "${IMGOPT_VERSION:-}" ]; then
    echo "${IMGOPT_VERSION#v}"
    return
  fi
  crate=$(bash "$source_dir/ci/crate-version.sh" "$source_dir/Cargo.toml") || return 1
  if [ "$ref" = "v$crate" ]; then
    echo "imgopt: release $crate, the action's ref $ref" >&2
    echo "$crate"
  elif [[ "$ref" =~ ^v[0-9]+(\.[0-9]+)?$ ]] && [[ "$crate" == "${ref#v}".* ]]; then
    echo "imgopt: release $crate, the version at the action's ref $ref" >&2
    echo "$crate"
  elif [[ "$ref" =~ ^v[0-9] ]]; then
    echo "imgopt: the action's ref $ref does not match its Cargo.toml version $crate; building from source" >&2
  else
    echo "imgopt: building from source (the action's ref ${ref:-(none: a local action)} is not a version tag)" >&2
  fi
}
version=$(release_version)

# Linux releases are static (musl) binaries: one runs on any distribution.
target() {
  if [ -n "${IMGOPT_TARGET:-}" ]; then
    echo "$IMGOPT_TARGET"
    return
  fi
  case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-musl ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    *) echo "imgopt: no release build for ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}; leave \`version\` empty and use the action from a branch or commit to build from source" >&2
       return 1 ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# What identifies the build: the release, or a digest of the sources cargo compiles.
key() {
  if [ -n "$version" ]; then
    local t
    t=$(target) || return 1
    echo "imgopt-release-$version-$t"
  else
    local digest
    digest=$(cd "$source_dir" && find Cargo.toml Cargo.lock build.rs src -type f | LC_ALL=C sort | xargs cat | sha256 | cut -c1-16)
    echo "imgopt-source-$digest-${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}"
  fi
}

download() {
  local dir=$1 t asset tmp
  t=$(target)
  asset="imgopt-$version-$t.tar.gz"
  tmp=$(mktemp -d)
  echo "imgopt: downloading $release_base/v$version/$asset"
  for file in "$asset" "$asset.sha256"; do
    if ! curl -fsSL --retry 3 -o "$tmp/$file" "$release_base/v$version/$file"; then
      echo "::error title=imgopt install::could not download $release_base/v$version/$file (is v$version released for $t?)" >&2
      rm -rf "$tmp"
      return 1
    fi
  done
  local want got
  want=$(awk '{print $1; exit}' "$tmp/$asset.sha256")
  got=$(sha256 "$tmp/$asset" | awk '{print $1}')
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    echo "::error title=imgopt install::checksum mismatch for $asset: $asset.sha256 says ${want:-nothing}, the download is $got; not installed" >&2
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$dir/bin"
  tar -xzf "$tmp/$asset" -C "$tmp"
  local binary
  binary=$(find "$tmp" -type f -name imgopt | head -n1)
  if [ -z "$binary" ]; then
    echo "::error title=imgopt install::$asset holds no imgopt binary" >&2
    rm -rf "$tmp"
    return 1
  fi
  install -m 0755 "$binary" "$dir/bin/imgopt"
  rm -rf "$tmp"
}

case "$mode" in
  plan)
    k=$(key)
    { echo "key=$k"; echo "dir=${IMGOPT_HOME:-$HOME/.imgopt-action}/$k"; } >>"$out"
    ;;
  install)
    dir=${IMGOPT_DIR:?IMGOPT_DIR: from the plan step}
    if [ -x "$dir/bin/imgopt" ]; then
      echo "imgopt: using the cached $("$dir/bin/imgopt" --version)"
    elif [ -n "$version" ]; then
      download "$dir"
    else
      command -v cargo >/dev/null || { echo "::error title=imgopt install::cargo is needed to build imgopt from source (or set \`version\`)" >&2; exit 1; }
      cargo install --locked --quiet --path "$source_dir" --root "$dir"
    fi
    "$dir/bin/imgopt" --version
    echo "$dir/bin" >>"${GITHUB_PATH:-/dev/null}"
    echo "imgopt=$dir/bin/imgopt" >>"$out"
    ;;
  *) echo "usage: install.sh plan|install" >&2; exit 2 ;;
esac
