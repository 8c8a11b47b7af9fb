#!/usr/bin/env bash
# Time per entry / instruction as inputs grow (issue 15): analyze on images of growing depth,
# lint and `analyze -f` on Dockerfiles of 1k, 10k and 100k instructions. Prints one line per
# size; a linear pass keeps the per-item time flat (largest/smallest within 2x).
# Usage: bash benches/scaling.sh   (builds imgopt in release first)
set -euo pipefail
cd "$(dirname "$0")/.."
nice -n 10 cargo build --release --quiet
bin=target/release/imgopt
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

per() { python3 -c "import sys; t=float(sys.argv[1]); n=int(sys.argv[2]); print(f'{t:8.3f} s  {t/n*1e6:9.2f} us/item')" "$1" "$2"; }
timed() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); python3 -c "print($e-$s)"; }

echo "analyze: 20,000 entries, growing depth"
for depth in 10 100 1000 2000; do
  python3 - "$work/img-$depth" "$depth" <<'PY'
import hashlib, io, json, os, sys, tarfile
out, depth = sys.argv[1], int(sys.argv[2])
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    dirs = ["/".join(["d"] * (i + 1)) for i in range(depth)]
    for d in dirs:
        ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
    n = 0
    while n < 20000 - depth:
        d = dirs[n % depth]; ti = tarfile.TarInfo(f"{d}/f{n}"); ti.size = 0; t.addfile(ti); n += 1
layer = buf.getvalue()
def blob(b):
    h = hashlib.sha256(b).hexdigest(); p = os.path.join(out, "blobs/sha256", h)
    os.makedirs(os.path.dirname(p), exist_ok=True); open(p, "wb").write(b); return h, len(b)
lh, ls = blob(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lh]}}).encode()
ch, cs = blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + ch, "size": cs},
  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:" + lh, "size": ls}]}).encode()
mh, ms = blob(man)
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(out, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [
  {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + mh, "size": ms}]}))
PY
  printf '  depth %5d: ' "$depth"; per "$(timed $bin analyze --image "oci:$work/img-$depth")" 20000
done

for n in 1000 10000 100000; do
  python3 -c "import sys; n=int(sys.argv[1]); print('FROM alpine:3'); print('ENV a=b\nRUN a\n' * (n // 2), end='')" "$n" > "$work/d$n"
done
echo "lint --isolated: instructions"
for n in 1000 10000 100000; do printf '  %6d: ' "$n"; per "$(timed timeout 300 $bin lint --isolated "$work/d$n")" "$n"; done
echo "analyze -f (Dockerfile mapping on the depth-10 image): instructions"
for n in 1000 10000 100000; do printf '  %6d: ' "$n"; per "$(timed timeout 300 $bin analyze --image "oci:$work/img-10" -f "$work/d$n")" "$n"; done
