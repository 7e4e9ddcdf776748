#!/usr/bin/env bash
# attestd SEV-SNP benchmark (a benchmark, not a test), beside bench/run.sh:
# starts a Release attestd on a free loopback port with a test AMD PKI
# (tests/mksnp; test ARKs through --trust-dir), drives it with bench/avload
# and reports verdicts/s and p50/p99 latency at 1, 2 and 8 clients for
#   snp-warm     one Milan v3 report with its VCEK, ASK, ARK and CRL in the
#                request, again and again (chain cache and CRL check warm:
#                one P-384 verification per report)
#   snp-fresh    a different report (REPORT_ID) every time, same chain
#   snp-invalid  a report with a bad signature (contraindicated verdict)
# then runs `openssl speed ecdsap384 ecdsap256` in the same run and prints
# the ratio of attestd's throughput to the crypto floor:
#   floor per core = 1 / (1 / P-384 verify rate + 1 / P-256 sign rate)
# multiplied by min(clients, cores) ("ratio", wall clock), and the floor's
# CPU time per verdict over attestd's ("cpu ratio", from /proc/PID/stat),
# which holds on a machine shared with other work.  Knobs as bench/run.sh:
# AV_BENCH_SECONDS (5), AV_BENCH_CLIENTS ("1 2 8"), AV_BUILD_DIR
# (build-bench), AV_BENCH_OUT (snp-bench-results.json in the build dir).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${AV_BUILD_DIR:-$root/build-bench}
secs=${AV_BENCH_SECONDS:-5}
clients=${AV_BENCH_CLIENTS:-1 2 8}

bench_build attestd mksnp avload
bench_workdir attestd-snp-bench

mk=$build/tests/mksnp
echo "bench: making SEV-SNP reports in $work"
"$mk" init "$work/snp"
"$mk" body "$work/snp" "$work/warm.bodies" --policy bench-snp
"$mk" body "$work/snp" "$work/fresh.bodies" --policy bench-snp --lines 2000
"$mk" body "$work/snp" "$work/invalid.bodies" --policy bench-snp --corrupt-sig
mkdir -p "$work/policies"
meas=$($py -c 'print(bytes(0xA0 + j for j in range(48)).hex())')
cat >"$work/policies/bench-snp.json" <<EOF
{"id": "bench-snp", "version": 1,
 "evidence": {"sev-snp": {"measurement": ["$meas"], "crl": "required",
   "min_tcb": {"snp": 8}, "vmpl": [0], "guest_policy": {"debug": false}}}}
EOF

bench_start_attestd "$build/attestd" "$work/attestd.log" \
    --trust-dir "$work/snp/trust"
echo "bench: attestd pid $pid on 127.0.0.1:$port, $cores cores"

bench_rows snp warm fresh invalid

bench_openssl_speed ecdsap384 ecdsap256

AV_BENCH_OUT=${AV_BENCH_OUT:-$build/snp-bench-results.json}
$py "$root/bench/ecdsa_report.py" "$work" "$cores" "$AV_BENCH_OUT" nistp384:1 nistp256
