#!/usr/bin/env bash
# What bytes-per-package attribution costs on top of `imgopt analyze`: wall time on the apt test
# image (a debootstrap Debian minbase, wget with its Recommends, python3-pip, a pip install:
# 6 layers, ~410 MB of content, 121 dpkg packages) with and without `--skip-packages`.
#
#   benches/packages.sh [IMAGE_REF]
#
# Without an argument the image is built once with testdata/packages/build-apt-image.sh (buildah,
# debootstrap, the Debian mirror and PyPI; run as root) and kept under
# ${IMGOPT_BENCH_DIR:-/tmp/imgopt-bench}. Goal (issue 17): attribution adds under 30%.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=${IMGOPT_BENCH_DIR:-/tmp/imgopt-bench}
runs=${RUNS:-7}
mkdir -p "$work"
if [[ $# -ge 1 ]]; then
  image=$1
else
  archive=$work/apt.tar
  [[ -f $archive ]] || bash "$here/testdata/packages/build-apt-image.sh" "$work" "$archive"
  image=oci-archive:$archive
fi

(cd "$here" && cargo build --release --quiet)
imgopt=$here/target/release/imgopt

# Best of $runs wall-clock seconds; the page cache is warm after the first run.
best() {
  local best=
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 ${best:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$best"
}

"$imgopt" analyze --image "$image" --format json >/dev/null
t_skip=$(best "$imgopt" analyze --image "$image" --format json --skip-packages)
t_packages=$(best "$imgopt" analyze --image "$image" --format json)
packages=$("$imgopt" analyze --image "$image" --format json | grep -c '"manager"' || true)

awk -v s="$t_skip" -v p="$t_packages" -v n="$packages" 'BEGIN {
  printf "imgopt analyze --skip-packages:  %.3f s\n", s
  printf "imgopt analyze (packages):       %.3f s  (+%.1f%%, goal < 30%%; %d packages and databases)\n", p, (p / s - 1) * 100, n
}'
