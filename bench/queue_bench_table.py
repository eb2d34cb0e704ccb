#!/usr/bin/env python3
"""Median table and ratios for the queue benchmark.

Reads two files of JSON lines (one object per round): atelier_queue_bench's and
the plainjob peer's, and prints a Markdown table of medians, ours/peer ratios
and the issue's targets. Standard library only.

    queue_bench_table.py ATELIER.jsonl PLAINJOB.jsonl
"""
import json
import statistics
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def median(rounds, key):
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else float("nan")


def fmt(x, digits=0):
    if x != x:  # NaN
        return "n/a"
    return f"{x:,.{digits}f}"


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    ours, peer = load(argv[1]), load(argv[2])
    if not ours or not peer:
        sys.exit("no results to summarize")

    enq_o, enq_p = median(ours, "enqueue_jobs_per_s"), median(peer, "enqueue_jobs_per_s")
    drn_o, drn_p = median(ours, "drain_jobs_per_s"), median(peer, "drain_jobs_per_s")
    p99_o, p99_p = median(ours, "dispatch_p99_ms"), median(peer, "dispatch_p99_ms")
    enq_ratio, drn_ratio = enq_o / enq_p, drn_o / drn_p
    # The store's share of an enqueue, closest to what the peer's addMany() covers.
    submit_only = statistics.median(r["jobs"] / (r["enqueue_submit_ms"] / 1000) for r in ours)

    def ok(flag):
        return "yes" if flag else "**no**"

    rows = [
        ("enqueue (jobs/s)", fmt(enq_o), fmt(enq_p), f"{enq_ratio:.2f}x", ">= 1x", ok(enq_ratio >= 1)),
        ("enqueue, submit_run only (jobs/s)", fmt(submit_only), "", "", "", ""),
        ("drain, 2 workers (jobs/s)", fmt(drn_o), fmt(drn_p), f"{drn_ratio:.2f}x", ">= 3x",
         ok(drn_ratio >= 3)),
        ("dispatch p50 (ms)", fmt(median(ours, "dispatch_p50_ms"), 1),
         fmt(median(peer, "dispatch_p50_ms"), 3), "", "", ""),
        ("dispatch p99 (ms)", fmt(p99_o, 1), fmt(p99_p, 3), "", "< 20 ms", ok(p99_o < 20)),
        ("dispatch max (ms)", fmt(median(ours, "dispatch_max_ms"), 1), "", "", "", ""),
        ("idle pickup p50 (ms)", fmt(median(ours, "idle_pickup_p50_ms"), 1),
         fmt(median(peer, "idle_pickup_p50_ms"), 3), "", "", ""),
        ("idle pickup p99 (ms)", fmt(median(ours, "idle_pickup_p99_ms"), 1),
         fmt(median(peer, "idle_pickup_p99_ms"), 3), "", "", ""),
        ("drain, DB span (jobs/s)", fmt(median(ours, "drain_db_jobs_per_s")), "", "", "", ""),
        ("`atelier submit` CLI (ms)", fmt(median(ours, "cli_submit_ms"), 1), "", "", "", ""),
    ]
    print(f"\nmedians of {len(ours)} atelier and {len(peer)} plainjob rounds, "
          f"{ours[0]['jobs']} jobs, {ours[0]['workers']} workers, {ours[0]['chains']} chains\n")
    print("| metric | atelier | plainjob | ratio | target | met |")
    print("|---|---:|---:|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nper round (enqueue / drain jobs/s, dispatch p99 ms):")
    for name, rounds in (("atelier", ours), ("plainjob", peer)):
        per = ", ".join(f"{r['enqueue_jobs_per_s']} / {r['drain_jobs_per_s']} / {r['dispatch_p99_ms']}"
                        for r in rounds)
        print(f"  {name}: {per}")
    bad = [r for r in ours if not r.get("ok", False)]
    if bad:
        print(f"\nWARNING: {len(bad)} atelier round(s) reported ok=false (see notes)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
