#!/usr/bin/env python3
"""Draws the hand-judged sample of docs/precision.md: imgopt's findings (default rules) on the
corpus's whole files, spread over rules: rules in a seeded random order, one finding at random
from each in turn, until N are drawn. Prints `file:line:col CODE message` and the lines around.

Usage: IMGOPT_CORPUS=../shared/corpus python3 benches/precision_sample.py [--seed 13] [--n 64]
Needs a built imgopt (`cargo build --release`, or a debug build).
"""
import collections
import json
import os
import random
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.environ.get("IMGOPT_CORPUS") or sys.exit("set IMGOPT_CORPUS (e.g. ../shared/corpus)")
arg = lambda name, default: int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default
seed, n = arg("--seed", 13), arg("--n", 64)
imgopt = os.path.join(root, "target", "release", "imgopt")
if not os.path.exists(imgopt):
    imgopt = os.path.join(root, "target", "debug", "imgopt")

manifest = json.load(open(os.path.join(corpus, "manifest.json")))
files = sorted(os.path.join(corpus, "dockerfiles", e["file"]) for e in manifest if e["kind"] == "file")
out = subprocess.run([imgopt, "lint", "--isolated", "--exit-zero", "--output-format", "json", *files],
                     capture_output=True, text=True)
by_rule = collections.defaultdict(list)
for f in json.loads(out.stdout)["files"]:
    for d in f["diagnostics"]:
        start = d["location"]["start"]
        by_rule[d["code"]].append((f["path"], start["line"], start["column"], d["message"]))

# The rules' order comes from the seed; each rule draws from its own generator (seeded with the
# seed and its code), so a change to one rule's findings changes only that rule's draws.
pools = {code: sorted(found) for code, found in sorted(by_rule.items())}
order = sorted(pools)
random.Random(seed).shuffle(order)
rngs = {code: random.Random(f"{seed}-{code}") for code in order}
drawn = []
while len(drawn) < n and any(pools.values()):
    for code in order:
        if pools[code] and len(drawn) < n:
            drawn.append((code, pools[code].pop(rngs[code].randrange(len(pools[code])))))
print(f"seed {seed}: {len(drawn)} findings of {sum(len(v) for v in by_rule.values())} over {len(by_rule)} rules")
for k, (code, (path, line, col, message)) in enumerate(drawn, 1):
    text = open(path, encoding="utf-8", errors="replace").read().splitlines()
    print(f"\n#{k} {os.path.basename(path)}:{line}:{col} {code} {message}")
    for i in range(max(0, line - 3), min(len(text), line + 3)):
        print(f"   {i + 1:4} {'>' if i + 1 == line else ' '} {text[i][:160]}")
