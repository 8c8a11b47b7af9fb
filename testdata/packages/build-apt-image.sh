#!/usr/bin/env bash
# Build the apt test image (testdata/packages/apt/Dockerfile) into an OCI archive.
#
#   build-apt-image.sh [--uncompressed] [--base IMAGE] CACHE_DIR OUT.tar
#
# OUT.tar is an OCI archive (`oci-archive:OUT.tar`) with gzip layers, as a registry serves them;
# with --uncompressed a `docker save` archive (`docker-archive:OUT.tar`) of plain tars, which the
# tests read faster in a debug build.
# The base is IMAGE (a buildah reference: the tests pass the Debian minbase of
# tests/common/bases.rs, made once per run) or, without --base, a debootstrap minbase made once
# and kept as CACHE_DIR/minbase-bookworm.tar. The image is built with buildah (vfs storage,
# chroot isolation) in a store under CACHE_DIR that is removed afterwards.
# Needs: debootstrap, buildah (apt); the Debian mirror and PyPI. Run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
uncompressed=false
base=
while [[ ${1:-} == --* ]]; do
  case $1 in
    --uncompressed) uncompressed=true ;;
    --base)
      base=$2
      shift
      ;;
    *)
      echo "unknown option $1" >&2
      exit 2
      ;;
  esac
  shift
done
cache=$1
out=$2
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
mirror=${IMGOPT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

rootfs_tar=$cache/minbase-bookworm.tar
if [[ -z $base && ! -f $rootfs_tar ]]; then
  tmp=$(mktemp -d "$cache/debootstrap.XXXXXX")
  debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/log" 2>&1 || {
    tail -20 "$tmp/log" >&2
    exit 1
  }
  # The downloaded .debs are debootstrap's, not the base image's.
  rm -f "$tmp/root"/var/cache/apt/archives/*.deb
  tar -C "$tmp/root" --numeric-owner -cf "$tmp/rootfs.tar" .
  mv "$tmp/rootfs.tar" "$rootfs_tar"
  rm -rf "$tmp"
fi

store=$(mktemp -d "$cache/buildah.XXXXXX")
b() { buildah --root "$store/root" --runroot "$store/runroot" --storage-driver vfs "$@"; }
trap 'b rmi -a -f >/dev/null 2>&1 || true; rm -rf "$store"' EXIT
export BUILDAH_ISOLATION=chroot
if [[ -n $base ]]; then
  # Pulled as it is: a commit would add a layer.
  b tag "$(b pull -q "$base")" imgopt-minbase
else
  c=$(b from scratch)
  b add "$c" "$rootfs_tar" / >/dev/null
  b config --cmd /bin/bash "$c"
  b commit -q --rm "$c" imgopt-minbase >/dev/null
fi

context=$store/context
mkdir -p "$context/ca"
cp "$here/apt/Dockerfile" "$context/Dockerfile"
# pip reaches PyPI over HTTPS: the image trusts what this machine trusts.
cp /usr/local/share/ca-certificates/*.crt "$context/ca/" 2>/dev/null || true
b build -q --layers --network host -f "$context/Dockerfile" -t imgopt-apt "$context" >"$store/build.log" 2>&1 || {
  tail -30 "$store/build.log" >&2
  exit 1
}
if $uncompressed; then
  # buildah 1.28 writes gzip layers to an oci-archive even when told not to compress.
  b push -q --disable-compression imgopt-apt "docker-archive:$out.tmp:imgopt-apt:latest"
else
  b push -q imgopt-apt "oci-archive:$out.tmp:latest"
fi

# What the image itself says, for the tests to check imgopt against: per dpkg package its
# Installed-Size (KiB) and the bytes `du` counts for the regular files `dpkg -L` lists (each
# inode once); per pip distribution the bytes of the files its RECORD lists.
c=$(b from imgopt-apt)
b run "$c" -- /bin/bash -c "$(cat "$here/apt/facts.sh")" >"$out.facts.tmp"
b rm "$c" >/dev/null
mv "$out.facts.tmp" "$out.facts"
mv "$out.tmp" "$out"
