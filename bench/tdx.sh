#!/usr/bin/env bash
# attestd Intel TDX benchmark (a benchmark, not a test), beside
# bench/run.sh: makes TDX quotes with the test signer (tests/lib/avt_tdx:
# test root -> PCK platform CA -> PCK, QE report, signed TCB info and QE
# identity, CRLs) through `bench_verify --bodies`, starts a Release attestd
# on a free loopback port with the test root as a `tdx` trust anchor,
# drives it with bench/avload and reports verdicts/s and p50/p99 latency
# at 1, 2 and 8 clients for
#   tdx-warm     one quote with its collateral in the request, again and
#                again (PCK chain, CRLs and collateral cached: two P-256
#                verifications per quote, QE report and quote)
#   tdx-fresh    64 quotes of one TD (different report_data) in turn
#   tdx-invalid  a quote whose signature does not verify (contraindicated)
# then, in the same run, `openssl speed ecdsap256` and the ratio of
# attestd's throughput to the crypto floor:
#   CPU per verdict = 2 / P-256 verify rate + 1 / P-256 sign rate (the
#   ES256 verdict), floor = min(clients, cores) / that
# "ratio" is wall clock; "cpu ratio" is the floor's CPU time per verdict
# over attestd's (from /proc/PID/stat), which holds on a machine shared
# with other work.  Last, the in-process figures (bench_verify -p tdx,
# tdx-fresh: verification only, no HTTP, no verdict).
# Knobs: AV_BENCH_SECONDS (5), AV_BENCH_CLIENTS ("1 2 8"), AV_BUILD_DIR
# (build-bench), AV_BENCH_OUT (tdx-bench-results.json in the build dir).
# Loopback only; the attestd started here is the only process stopped.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${AV_BUILD_DIR:-$root/build-bench}
secs=${AV_BENCH_SECONDS:-5}
clients=${AV_BENCH_CLIENTS:-1 2 8}

bench_build attestd avload bench_verify
bench_workdir attestd-tdx-bench

echo "bench: making TDX quotes and collateral in $work"
"$build/bench/bench_verify" -p tdx,tdx-fresh --bodies "$work"
cp "$work/tdx.body" "$work/warm.bodies"
cp "$work/tdx-fresh.body" "$work/fresh.bodies"
cp "$work/tdx-invalid.body" "$work/invalid.bodies"

bench_start_attestd "$build/attestd" "$work/attestd.log" \
    --trust-dir "$work/trust"
echo "bench: attestd pid $pid on 127.0.0.1:$port, $cores cores"

bench_rows tdx warm fresh invalid

bench_openssl_speed ecdsap256

AV_BENCH_OUT=${AV_BENCH_OUT:-$build/tdx-bench-results.json}
$py - "$work" "$cores" "$AV_BENCH_OUT" <<'EOF'
import json, os, re, sys
w, cores, outp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p256_s = p256_v = None
for l in open(os.path.join(w, "speed.txt")):
    m = re.match(r"\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", l)
    if m:
        p256_s, p256_v = float(m.group(1)), float(m.group(2))
print()
print("P-256 verify/s %.0f, P-256 sign/s %.0f (openssl speed, one core); "
      "%d cores" % (p256_v, p256_s, cores))
print("%-12s %7s %10s %9s %9s %10s %7s %9s %9s %7s" % ("scenario",
      "clients", "verdicts/s", "p50 ms", "p99 ms", "floor/s", "ratio",
      "cpu ms/v", "cpu ratio", "errors"))
rows = []
floor_s = 2.0 / p256_v + 1.0 / p256_s      # CPU s per verdict
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
json.dump({"cores": cores, "openssl": {"p256_verify_s": p256_v,
           "p256_sign_s": p256_s}, "rows": rows}, open(outp, "w"), indent=1)
print("results: " + outp)
EOF

echo
echo "bench: in-process (verification only)"
"$build/bench/bench_verify" -p tdx,tdx-fresh -t 3 -s 2
