#!/usr/bin/env bash
# The release's packaging steps, as .github/workflows/release.yml runs them on each runner and
# tests/action.rs runs them for this machine's target:
#   package.sh build TARGET [OUT]         cargo build --profile dist --target TARGET, then pack it
#   package.sh pack TARGET BINARY [OUT]   pack an imgopt binary built elsewhere
# Packing writes OUT/imgopt-VERSION-TARGET.tar.gz (a directory of that name holding imgopt, the
# README, the changelog and the licenses) and OUT/imgopt-VERSION-TARGET.tar.gz.sha256 ("DIGEST  NAME",
# as sha256sum prints it), where the Action and `cargo binstall` look for them. OUT defaults to
# target/release-assets. VERSION is Cargo.toml's.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

usage() {
  echo "usage: package.sh build TARGET [OUT] | package.sh pack TARGET BINARY [OUT]" >&2
  exit 2
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

pack() {
  local target=$1 binary=$2 out=$3 version name
  [ -f "$binary" ] && [ -x "$binary" ] || { echo "package.sh: $binary is not an executable file" >&2; exit 1; }
  version=$(bash "$root/ci/crate-version.sh")
  name="imgopt-$version-$target"
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  mkdir "$stage/$name"
  cp "$binary" "$stage/$name/imgopt"
  chmod 0755 "$stage/$name/imgopt"
  for doc in README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE; do
    cp "$root/$doc" "$stage/$name/"
  done
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
  (cd "$out" && sha256 "$name.tar.gz" >"$name.tar.gz.sha256")
  echo "$out/$name.tar.gz"
}

case "${1:-}" in
  build)
    [ $# -ge 2 ] && [ $# -le 3 ] || usage
    target=$2
    (cd "$root" && cargo build --profile dist --locked --target "$target")
    target_dir=${CARGO_TARGET_DIR:-target}
    case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac
    pack "$target" "$target_dir/$target/dist/imgopt" "${3:-$root/target/release-assets}"
    ;;
  pack)
    [ $# -ge 3 ] && [ $# -le 4 ] || usage
    pack "$2" "$3" "${4:-$root/target/release-assets}"
    ;;
  *) usage ;;
esac
