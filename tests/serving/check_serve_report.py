#!/usr/bin/env python3
"""Checks a pnmvp serve report, its requests CSV and its Perfetto trace
against the contract of docs/SERVING.md (issue #13): check_serve_report.py
REPORT.json REQUESTS.csv TRACE.json N_REQUESTS; prints ok."""
import csv
import json
import sys

rep, rcsv, trace, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
r = json.load(open(rep))
assert r["schema"] == "pnmvp.serve.v1", r["schema"]
for k in ["requests", "completed", "output_tokens", "ttft_ms", "tbt_ms", "e2e_ms", "output_tokens_per_s",
          "requests_per_s", "goodput_requests_per_s", "energy_per_output_token_mj", "energy_breakdown_mj",
          "calibration", "wall_s", "link_bytes", "nic_bytes", "over_time"]:
    assert k in r, k
for k in ["ttft_ms", "tbt_ms", "e2e_ms"]:
    for p in ["mean", "p50", "p90", "p99"]:
        assert p in r[k], (k, p)
    assert r[k]["p50"] <= r[k]["p90"] <= r[k]["p99"], r[k]
for k in ["verified_steps", "max_step_error", "p50_step_error"]:
    assert k in r["calibration"], k
assert r["requests"] == n and r["completed"] == n, (r["requests"], r["completed"])
assert 0 < r["goodput_requests_per_s"] <= r["requests_per_s"] + 1e-12
e = r["energy_breakdown_mj"]
assert abs(sum(e.values()) - r["energy_per_output_token_mj"]) < 1e-9 * max(1, r["energy_per_output_token_mj"])
for k in ["gpu_compute", "hbm", "link", "engine"]:
    assert e.get(k, 0) > 0, (k, e)
assert r["over_time"] and {"t_ms", "batch", "queue", "hbm_occupancy", "cxl_occupancy"} <= set(r["over_time"][0])
rows = list(csv.DictReader(open(rcsv)))
assert len(rows) == n, len(rows)
assert sum(int(x["completed"]) for x in rows) == n
import statistics  # noqa: E402
assert abs(statistics.median(float(x["ttft_ms"]) for x in rows) - r["ttft_ms"]["p50"]) < 1e-3, "CSV and report disagree"
t = json.load(open(trace))
names = [ev.get("name") for ev in t["traceEvents"]]
assert names.count("prefill") >= n and names.count("decode") >= 1, (names.count("prefill"), names.count("decode"))
print("ok")
