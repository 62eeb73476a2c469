#!/usr/bin/env python3
"""Compares dropcap's and checkov's capability findings per file and prints time/memory ratios.

Usage: compare_checkov.py DROPCAP_JSON CHECKOV_JSON DROPCAP_TIME CHECKOV_TIME
(the *_TIME files are GNU `/usr/bin/time -v` output).

Each corpus file holds one workload object, so "found" is decided per (file, problem).
"""
import json
import os
import re
import sys

# problem: (checkov check, predicate on a dropcap finding)
PROBLEMS = [
    ("NET_RAW kept", "CKV_K8S_28", lambda f: f["rule"] == "DC009"),
    ("ALL not dropped", "CKV_K8S_37", lambda f: f["rule"] in ("DC007", "DC008")),
    ("capability added", "CKV_K8S_25",
     lambda f: f["rule"] in ("DC003", "DC004", "DC005", "DC006")
     or (f["rule"] == "DC009" and f["message"].startswith("adds"))),
    ("SYS_ADMIN added", "CKV_K8S_39",
     lambda f: f["rule"] == "DC003" and "SYS_ADMIN" in f["capabilities"]),
    ("privileged", "CKV_K8S_16", lambda f: f["rule"] == "DC002"),
    ("privilege escalation", "CKV_K8S_20", lambda f: f["rule"] == "DC011"),
]


def time_v(path):
    text = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    h, m, s = wall.groups()
    secs = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return secs, rss


def main():
    dc_json, ck_json, dc_time, ck_time = sys.argv[1:5]
    dc = json.load(open(dc_json))
    ck = json.load(open(ck_json))
    if isinstance(ck, list):
        ck = next(r for r in ck if r.get("check_type") == "kubernetes")
    dc_found = {p[0]: set() for p in PROBLEMS}
    for f in dc["findings"]:
        loc = f.get("location") or f["workload"].get("location")
        name = os.path.basename(loc["file"])
        for prob, _, pred in PROBLEMS:
            if pred(f):
                dc_found[prob].add(name)
    ck_found = {p[0]: set() for p in PROBLEMS}
    by_id = {cid: prob for prob, cid, _ in PROBLEMS}
    for f in ck["results"]["failed_checks"]:
        prob = by_id.get(f["check_id"])
        if prob:
            ck_found[prob].add(os.path.basename(f["file_path"]))

    dt, drss = time_v(dc_time)
    ct, crss = time_v(ck_time)
    files = dc.get("summary", {}).get("workloads", 0)
    print(f"workloads audited by dropcap: {files}")
    print(f"{'':10} {'wall s':>9} {'peak RSS MiB':>13}")
    print(f"{'dropcap':10} {dt:9.3f} {drss / 1024:13.1f}")
    print(f"{'checkov':10} {ct:9.3f} {crss / 1024:13.1f}")
    print(f"speed-up: {ct / max(dt, 1e-6):.0f}x faster; memory: {crss / max(drss, 1):.0f}x less")
    print()
    print(f"{'problem':22} {'checkov id':11} {'both':>6} {'checkov only':>13} {'dropcap only':>13}")
    missed = 0
    for prob, cid, _ in PROBLEMS:
        c, d = ck_found[prob], dc_found[prob]
        print(f"{prob:22} {cid:11} {len(c & d):6} {len(c - d):13} {len(d - c):13}")
        if prob != "capability added":
            missed += len(c - d)
        for ex in sorted(c - d)[:2]:
            print(f"    checkov only, e.g. {ex}")
        for ex in sorted(d - c)[:2]:
            print(f"    dropcap only, e.g. {ex}")
    print()
    print("\"capability added\": checkov fails any non-empty `add`; dropcap (CIS Kubernetes 5.2.9)")
    print("reports capabilities outside the runtime's default set, so adding back e.g.")
    print("NET_BIND_SERVICE after drop: [ALL] is not a finding. Those files appear as checkov only.")
    print(f"capability problems checkov found that dropcap missed (other rows): {missed}")


if __name__ == "__main__":
    main()
