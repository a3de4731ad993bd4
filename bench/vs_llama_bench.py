#!/usr/bin/env python3
"""onprem bench beside llama.cpp's own llama-bench, on the same file, threads and lengths.

Usage: bench/vs_llama_bench.py ONPREM LLAMA_BENCH MODEL.gguf [-p 512] [-n 32] [-t 2] [-rounds 3]

LLAMA_BENCH is a llama-bench binary you built yourself beside the project (this repository neither
holds nor builds llama.cpp). Set ONPREM_ISA to pick our table to match the llama.cpp build (avx2
against a build without AVX-512). The two programs run in alternation, `rounds` times, each with
its own repetitions, so that a machine that slows down slows both; the script prints every round
and the ratio of the medians. Unlike node-llama-cpp (side_by_side.mjs), llama-bench has no
JavaScript loop in its decode, so no correction is needed.
"""
import json
import statistics
import subprocess
import sys


def arg(args, flag, default):
    return int(args[args.index(flag) + 1]) if flag in args else default


def ours(onprem, model, p, n, t):
    out = subprocess.run([onprem, "bench", "-m", model, "-p", str(p), "-n", str(n), "-t", str(t), "-r", "3", "--json"],
                         check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    return j["pp_tokens_per_s"], j["tg_tokens_per_s"], j["tg_bandwidth_fraction"]


def theirs(llama_bench, model, p, n, t):
    tests = []
    if p > 0:
        tests.append(["-p", str(p), "-n", "0"])
    if n > 0:
        tests.append(["-p", "0", "-n", str(n)])
    pp = tg = 0.0
    for extra in tests:
        out = subprocess.run([llama_bench, "-m", model, "-t", str(t), "-r", "3", "-o", "json"] + extra, check=True,
                             capture_output=True, text=True).stdout
        for row in json.loads(out):
            if row["n_prompt"] > 0:
                pp = row["avg_ts"]
            else:
                tg = row["avg_ts"]
    return pp, tg


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    onprem, llama_bench, model, rest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    p, n, t, rounds = arg(rest, "-p", 512), arg(rest, "-n", 32), arg(rest, "-t", 2), arg(rest, "-rounds", 3)
    rows = []
    print(f"{model}, {t} threads, pp{p} / tg{n}")
    print("round  onprem pp  llama pp   onprem tg  llama tg  (onprem tg, share of read bandwidth)")
    for r in range(rounds):
        opp, otg, frac = ours(onprem, model, p, n, t)
        lpp, ltg = theirs(llama_bench, model, p, n, t)
        rows.append((opp, lpp, otg, ltg))
        print(f"{r + 1:5d}  {opp:9.1f}  {lpp:8.1f}   {otg:9.2f}  {ltg:8.2f}  ({100 * frac:.0f} %)")
    med = [statistics.median(c) for c in zip(*rows)]
    if p > 0:
        print(f"prefill ratio (medians): {med[0] / med[1]:.2f}x")
    if n > 0:
        print(f"decode ratio (medians):  {med[2] / med[3]:.2f}x")


if __name__ == "__main__":
    main()
