#!/usr/bin/env bash
# The action's install steps.
#   install.sh plan     -> outputs `dir` (where imgopt lives, cached by actions/cache) and `key`
#   install.sh install  -> puts imgopt in $dir/bin (unless the cache restored it); outputs `imgopt`
# With IMGOPT_VERSION set, the release asset imgopt-$VERSION-$TARGET.tar.gz is downloaded from
# $IMGOPT_RELEASE_BASE_URL/v$VERSION/ and checked against the .sha256 file published beside it;
# otherwise the action's own source (IMGOPT_SOURCE) is built with `cargo install --locked`.
set -euo pipefail

mode=${1:?usage: install.sh plan|install}
version=${IMGOPT_VERSION#v}
source_dir=${IMGOPT_SOURCE:?IMGOPT_SOURCE: the action directory}
release_base=${IMGOPT_RELEASE_BASE_URL:-https://github.com/imgopt/imgopt/releases/download}
out=${GITHUB_OUTPUT:-/dev/stdout}

target() {
  case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-gnu ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-gnu ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    *) echo "imgopt: no release build for ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}; leave \`version\` empty to build from source" >&2
       return 1 ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

# What identifies the build: the release, or a digest of the sources cargo compiles.
key() {
  if [ -n "$version" ]; then
    echo "imgopt-release-$version-$(target)"
  else
    local digest
    digest=$(cd "$source_dir" && find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort | xargs cat | sha256 | cut -c1-16)
    echo "imgopt-source-$digest-${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}"
  fi
}

download() {
  local dir=$1 t asset tmp
  t=$(target)
  asset="imgopt-$version-$t.tar.gz"
  tmp=$(mktemp -d)
  echo "imgopt: downloading $release_base/v$version/$asset"
  curl -fsSL --retry 3 -o "$tmp/$asset" "$release_base/v$version/$asset"
  curl -fsSL --retry 3 -o "$tmp/$asset.sha256" "$release_base/v$version/$asset.sha256"
  local want got
  want=$(awk '{print $1; exit}' "$tmp/$asset.sha256")
  got=$(sha256 "$tmp/$asset" | awk '{print $1}')
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    echo "::error title=imgopt install::checksum mismatch for $asset: expected ${want:-nothing}, got $got" >&2
    rm -rf "$tmp"
    return 1
  fi
  mkdir -p "$dir/bin"
  tar -xzf "$tmp/$asset" -C "$tmp"
  install -m 0755 "$(find "$tmp" -type f -name imgopt | head -n1)" "$dir/bin/imgopt"
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
