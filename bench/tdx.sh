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
$py "$root/bench/ecdsa_report.py" "$work" "$cores" "$AV_BENCH_OUT" nistp256:2 nistp256

echo
echo "bench: in-process (verification only)"
"$build/bench/bench_verify" -p tdx,tdx-fresh -t 3 -s 2
