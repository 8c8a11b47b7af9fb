#!/usr/bin/env bash
# Build time of `imgopt build` against Docker's BuildKit (`docker build`, Debian's docker.io
# 20.10) and buildah (chroot isolation, vfs storage), on the same Dockerfiles of testdata/build/,
# cold (no cache) and warm (a rebuild with nothing changed), all measured in one run: the
# builders take turns run by run, so a drift of the machine's speed hits them alike.
#
#   benches/build_vs_docker.sh                 # RUNS=3 CASES="delete-20mb multistage chown-chmod user-switch apt-install"
#   RUNS=5 CASES=multistage benches/build_vs_docker.sh
#   IMGOPT=target/release/imgopt benches/build_vs_docker.sh   # no cargo build
#
# Cold: docker after `docker builder prune -af` (the base image stays loaded, unpacked); buildah in
# a fresh storage holding only the base; imgopt in a fresh store (IMGOPT_STORE) holding only the
# base (`imgopt load` unpacks it, as `docker load` does). Each builder leaves the image in its
# own store: nothing is exported.
# Warm: the same build again on the cache the previous build left. Times are wall seconds of the
# build command (/usr/bin/time); "peak" is the largest resident set of the command and the
# processes it waited for. docker's figure is the client's only: BuildKit runs inside dockerd.
# imgopt is skipped while `imgopt build` does not exist.
# Needs root, docker.io, buildah, busybox-static, debootstrap (apt-install): scripts/test installs them.
# Goals (issue 10): cold ≤ 0.7× docker on the busybox cases, ≤ 1.0× on apt-install; warm ≤ 0.3× docker.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
cases=${CASES:-delete-20mb multistage chown-chmod user-switch apt-install}
docker=/usr/bin/docker
target=${CARGO_TARGET_DIR:-$here/target}
work=$(mktemp -d /tmp/imgopt-build-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The bases, made by the test helpers (tests/common/bases.rs) as the tests make them, unless
# the tests made them already.
bases=${IMGOPT_TEST_BASES:-$target/tmp/bases}/v1
tests=()
[[ -f $bases/busybox/image.json ]] || tests+=(busybox_base_is_readable)
[[ " $cases " != *" apt-install "* || -f $bases/debian/image.json ]] || tests+=(debian_base_is_readable)
if ((${#tests[@]})); then
  (cd "$here" && cargo test --quiet --test build_fidelity -- --exact "${tests[@]}" >/dev/null)
fi
# IMGOPT=path names a built imgopt (no cargo build then).
imgopt=${IMGOPT:-}
if [[ -z $imgopt ]]; then
  (cd "$here" && cargo build --release --quiet)
  imgopt=$target/release/imgopt
fi

have_imgopt=false
"$imgopt" build --help >/dev/null 2>&1 && have_imgopt=true
$have_imgopt || echo "imgopt build is missing: imgopt is skipped" >&2

# dockerd: the one running, or one started here for the run (and stopped at the end).
if ! $docker version >/dev/null 2>&1; then
  setsid dockerd --iptables=false --bridge=none --pidfile "$work/dockerd.pid" >"$work/dockerd.log" 2>&1 &
  trap 'kill "$(cat "$work/dockerd.pid")" 2>/dev/null || true; sleep 2; rm -rf "$work"' EXIT
  for _ in $(seq 1 120); do $docker version >/dev/null 2>&1 && break; sleep 0.5; done
fi
for base in busybox debian; do
  [[ -f $bases/$base/docker-archive.tar ]] || continue
  $docker load -q -i "$bases/$base/docker-archive.tar" >/dev/null
done

base_of() { [[ $1 == apt-install ]] && echo debian || echo busybox; }
base_name() { [[ $1 == debian ]] && echo imgopt-test/debian:bookworm || echo imgopt-test/busybox:1; }

bah() { buildah --root "$1/root" --runroot "$1/runroot" --storage-driver vfs "${@:2}"; }
buildah_store() { # fresh buildah storage in $1 holding the case's base
  rm -rf "$1"
  local id
  id=$(bah "$1" pull -q "docker-archive:$bases/$2/docker-archive.tar")
  bah "$1" tag "$id" "$(base_name "$2")"
}
imgopt_store() { # fresh imgopt store in $1 holding the case's base
  rm -rf "$1"
  IMGOPT_STORE=$1 "$imgopt" load "docker-archive:$bases/$2/docker-archive.tar" -t "$(base_name "$2")" >/dev/null
}

# timed LABEL CMD...: appends "wall peak_kB" to $work/LABEL; a failed build stops the bench.
timed() {
  local label=$1
  shift
  if ! /usr/bin/time -f "%e %M" -o "$work/time.$$" "$@" >"$work/last.log" 2>&1; then
    echo "failed: $label: $*" >&2
    tail -20 "$work/last.log" >&2
    exit 1
  fi
  cat "$work/time.$$" >>"$work/$label"
  echo "  $label: $(cat "$work/time.$$") (s, peak kB)" >&2
}

for case in $cases; do
  ctx=$work/ctx-$case
  cp -a "$here/testdata/build/$case" "$ctx"
  base=$(base_of "$case")
  tag=imgopt-bench/$case:latest
  d_build=(env DOCKER_BUILDKIT=1 BUILDKIT_PROGRESS=plain "$docker" build --network host -t "$tag" "$ctx")
  for run in $(seq 1 "$runs"); do
    echo "$case: run $run of $runs" >&2
    # docker: cold after pruning the build cache, then warm.
    $docker rmi -f "$tag" >/dev/null 2>&1 || true
    $docker builder prune -af >/dev/null
    timed "$case.docker.cold" "${d_build[@]}"
    timed "$case.docker.warm" "${d_build[@]}"
    # buildah: cold in a fresh storage, then warm (--layers caches every step).
    buildah_store "$work/buildah" "$base"
    b_build=(buildah --root "$work/buildah/root" --runroot "$work/buildah/runroot" --storage-driver vfs
      bud --layers --isolation chroot --network host -t "$tag" "$ctx")
    timed "$case.buildah.cold" "${b_build[@]}"
    timed "$case.buildah.warm" "${b_build[@]}"
    bah "$work/buildah" rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$work/buildah"
    if $have_imgopt; then
      imgopt_store "$work/imgopt" "$base"
      # Into the store only, as docker build leaves its image in dockerd's (no export).
      i_build=(env IMGOPT_STORE="$work/imgopt" "$imgopt" build --network host -t "$tag" "$ctx")
      timed "$case.imgopt.cold" "${i_build[@]}"
      timed "$case.imgopt.warm" "${i_build[@]}"
      rm -rf "$work/imgopt"
    fi
  done
  $docker rmi -f "$tag" >/dev/null 2>&1 || true
done

# min and median of column $2 of file $1
stat_col() { awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s\n", v[1], m}'; }

echo
echo "Build times, $runs runs each (wall seconds: min / median; peak RSS median), one run of this script:"
printf '%-13s %-8s %-5s %8s %8s %10s %9s\n' case builder cache min median "peak MB" "/docker"
for case in $cases; do
  for mode in cold warm; do
    read -r _ docker_med < <(stat_col "$work/$case.docker.$mode" 1)
    for builder in docker buildah imgopt; do
      f=$work/$case.$builder.$mode
      [[ -f $f ]] || continue
      read -r min med < <(stat_col "$f" 1)
      read -r _ peak < <(stat_col "$f" 2)
      ratio=$(awk -v a="$med" -v b="$docker_med" 'BEGIN { printf "%.2fx", a / b }')
      peak_mb=$(awk -v k="$peak" 'BEGIN { printf "%.0f", k / 1024 }')
      [[ $builder == docker ]] && peak_mb="${peak_mb} (client)"
      printf '%-13s %-8s %-5s %8.2f %8.2f %10s %9s\n' "$case" "$builder" "$mode" "$min" "$med" "$peak_mb" "$ratio"
    done
  done
done
