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

# The two commands in turn, $runs times each (the page cache is warm after the first run);
# /usr/bin/time gives each run's wall and CPU (user + system) seconds. Medians are printed, and
# the median of the per-pair ratios, which holds when the shared machine's speed drifts.
measure() {
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S' -a -o "$out" "$@" >/dev/null
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$imgopt" analyze --image "$image" --format json >/dev/null
for _ in $(seq "$runs"); do
  measure "$tmp/skip" "$imgopt" analyze --image "$image" --format json --skip-packages
  measure "$tmp/packages" "$imgopt" analyze --image "$image" --format json
done
packages=$("$imgopt" analyze --image "$image" --format json | grep -c '"manager"' || true)

paste "$tmp/skip" "$tmp/packages" | awk -v n="$packages" '
  function median(a, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  { k++; sw[k] = $1; sc[k] = $2 + $3; pw[k] = $4; pc[k] = $5 + $6; rw[k] = $4 / $1; rc[k] = ($5 + $6) / ($2 + $3) }
  END {
    printf "runs: %d each, in turn; %d packages and databases found\n", k, n
    printf "imgopt analyze --skip-packages:  wall %.3f s, cpu %.3f s (medians)\n", median(sw, k), median(sc, k)
    printf "imgopt analyze (packages):       wall %.3f s, cpu %.3f s\n", median(pw, k), median(pc, k)
    printf "attribution adds:                wall %+.1f%%, cpu %+.1f%% (median of pair ratios; goal < 30%%)\n", (median(rw, k) - 1) * 100, (median(rc, k) - 1) * 100
  }'
