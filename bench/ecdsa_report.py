#!/usr/bin/python3
# attestd benchmark report for bench/snp.sh and bench/tdx.sh (not a test):
# reads $work/speed.txt (openssl speed ecdsa...) and $work/results.jsonl
# (bench_rows in bench/lib.sh), prints verdicts/s, latency and the ratios
# to the crypto floor, and writes the rows as JSON.
#
#   ecdsa_report.py WORK CORES OUT VERIFY_CURVE:N SIGN_CURVE
#
# floor per verdict (CPU s) = N / VERIFY_CURVE verify rate + 1 / SIGN_CURVE
# sign rate (the verdict's signature), e.g. "nistp384:1 nistp256" for an
# SEV-SNP report, "nistp256:2 nistp256" for a TDX quote.
import json
import os
import re
import sys

w, cores, outp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
vcurve, nverify = sys.argv[4].split(":")
scurve = sys.argv[5]
speed = {}
for l in open(os.path.join(w, "speed.txt")):
    m = re.match(r"\s*(\d+) bits ecdsa \((nistp\d+)\)\s+\S+s\s+\S+s\s+"
                 r"([\d.]+)\s+([\d.]+)", l)
    if m:
        speed[m.group(2)] = (float(m.group(3)), float(m.group(4)))
verify_s = speed[vcurve][1]
sign_s = speed[scurve][0]
vname, sname = "P-" + vcurve[5:], "P-" + scurve[5:]
print()
print("%s verify/s %.0f, %s sign/s %.0f (openssl speed, one core); "
      "%d cores" % (vname, verify_s, sname, sign_s, cores))
print("%-12s %7s %10s %9s %9s %10s %7s %9s %9s %7s" % ("scenario",
      "clients", "verdicts/s", "p50 ms", "p99 ms", "floor/s", "ratio",
      "cpu ms/v", "cpu ratio", "errors"))
rows = []
floor_s = int(nverify) / verify_s + 1.0 / sign_s      # CPU s per verdict
for line in open(os.path.join(w, "results.jsonl")):
    r = json.loads(line)
    res = r["result"]
    floor = min(res["clients"], cores) / floor_s
    ratio = res["rps"] / floor
    done = res.get("total_incl_warmup") or 1
    cpu_per = r["cpu_s"] / done
    cpu_ratio = floor_s / cpu_per if cpu_per > 0 else 0
    rows.append(dict(r, floor=floor, ratio=ratio,
                     cpu_ms_per_verdict=1e3 * cpu_per, cpu_ratio=cpu_ratio))
    print("%-12s %7d %10.1f %9.3f %9.3f %10.1f %6.0f%% %9.3f %8.0f%% %7d" % (
        r["scenario"], res["clients"], res["rps"], res["p50_ms"],
        res["p99_ms"], floor, 100 * ratio, 1e3 * cpu_per, 100 * cpu_ratio,
        res["errors"]))
openssl = {"p%s_verify_s" % vcurve[5:]: verify_s,
           "p%s_sign_s" % scurve[5:]: sign_s}
json.dump({"cores": cores, "openssl": openssl, "rows": rows},
          open(outp, "w"), indent=1)
print("results: " + outp)
