#!/usr/bin/env bash
# Instruction counts of the in-process verification benchmark (a
# benchmark, not a test): runs bench_verify under valgrind's callgrind,
# which counts the instructions of each measured loop (the program dumps
# them at CALLGRIND_DUMP_STATS_AT points), and prints instructions per
# verification, per floor verification, and their ratio.  Instruction
# counts do not depend on the load of a shared machine, unlike time.
#
#   bench/callgrind.sh [PLATFORM,...] [ITERATIONS]
#
# Defaults: every platform but gpu8 (80 M instructions a request: run it
# alone with fewer iterations, `bench/callgrind.sh gpu8 20`), 200
# iterations.  AV_BUILD_DIR (build-bench); AV_BENCH_VERIFY=PATH runs that
# bench_verify binary instead of building one (an older build, to compare);
# AV_CALLGRIND_KEEP=1 keeps the dumps (the folder is printed).
# Each dump's count is its "summary:" line (the sum of the self costs,
# what callgrind_annotate calls PROGRAM TOTALS): the "totals:" line of a
# dump taken with CALLGRIND_DUMP_STATS_AT inside a loop carries a few
# million instructions that do not grow with the iterations.
# Under valgrind OpenSSL does not see SHA-NI or some other CPU extensions,
# so hashing weighs more here than on the machine itself: read the ratio
# as a lower bound and check it against bench_verify's CPU-time ratio.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AV_BUILD_DIR:-$root/build-bench}
plats=${1:-nitro,snp,tdx,tdx-fresh,tpm-rsa,tpm-rsa-fresh,tpm-p256,tpm-p256-fresh}
n=${2:-200}

if ! command -v valgrind >/dev/null 2>&1; then
	echo "bench: valgrind not installed; skipped"
	exit 0
fi
bin=${AV_BENCH_VERIFY:-}
if [ -z "$bin" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$(nproc)" --target bench_verify >/dev/null
	bin=$build/bench/bench_verify
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/attestd-callgrind.XXXXXX")
if [ -n "${AV_CALLGRIND_KEEP:-}" ]; then
	# keep the dumps for callgrind_annotate (build RelWithDebInfo, or
	# Release with -DCMAKE_C_FLAGS=-g, for names and lines)
	echo "bench: callgrind dumps kept in $work"
else
	trap 'rm -rf "$work"' EXIT
fi
valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
    "$bin" -p "$plats" -n "$n" -w 20 \
    >/dev/null 2>"$work/valgrind.log"

/usr/bin/python3 - "$work" <<'EOF'
import glob, re, sys
runs = []
for f in sorted(glob.glob(sys.argv[1] + "/cg.*.*"),
                key=lambda s: int(s.rsplit(".", 1)[1])):
    desc = tot = None
    for l in open(f):
        if l.startswith("desc: Trigger: Client Request: "):
            desc = l.partition("Client Request: ")[2].strip()
        elif l.startswith("summary:"):
            tot = int(l.split()[1])
    if desc and tot:
        kind, rest = desc.split(" ", 1)
        name, iters = rest.rsplit(" ", 1)
        runs.append((kind, name, int(iters), tot))
floor = {n: t / i for k, n, i, t in runs if k == "floor"}
need = {"nitro": (1, "P-384 verify"), "snp": (1, "P-384 verify"),
        "tdx": (2, "P-256 verify"), "tdx-fresh": (2, "P-256 verify"),
        "tpm-rsa": (1, "RSA-2048 verify"),
        "tpm-rsa-fresh": (1, "RSA-2048 verify"),
        "tpm-p256": (1, "P-256 verify"),
        "tpm-p256-fresh": (1, "P-256 verify"), "gpu8": (8, "P-384 verify")}
print("%-14s %12s %14s %7s" % ("platform", "Ir/verify", "floor Ir", "ratio"))
for k, n, i, t in runs:
    if k != "verify":
        continue
    per = t / i
    cnt, alg = need[n]
    fl = cnt * floor[alg]
    print("%-14s %12.0f %14.0f %6.1f%%  (%d x %s)" % (n, per, fl,
          100 * fl / per, cnt, alg))
EOF
