#!/usr/bin/env python3
"""Writes N lines of mixed-vendor traffic for `tocsin normalize` benchmarks.

usage: mixed-corpus.py N OUT [CORPUS_DIR]

Cycles through the representative lines of every vendor in CORPUS_DIR (default
benches/corpus), varying the last octet of IPv4 addresses and appending nothing else, so the
lines stay valid for their vendor while not repeating byte for byte.
"""
import os, random, re, sys

n = int(sys.argv[1])
out = sys.argv[2]
corpus = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "../../benches/corpus")
lines = []
for name in sorted(os.listdir(corpus)):
    if name.endswith(".log"):
        with open(os.path.join(corpus, name), encoding="utf-8") as f:
            lines.extend(l.rstrip("\n") for l in f if l.strip())
if not lines:
    sys.exit(f"no corpus lines in {corpus}")
ip = re.compile(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})\b")
rng = random.Random(7)
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        line = lines[i % len(lines)]
        f.write(ip.sub(lambda m: m.group(1) + str(rng.randint(1, 254)), line) + "\n")
print(f"{n} lines from {len(lines)} templates -> {out}")
