#!/usr/bin/env bash
# A/B comparison of attestd builds or flags on the warm Nitro load of
# bench/run.sh: for ROUNDS rounds, start each variant in turn, drive it
# with bench/avload for SECS seconds (after a 1 s warm-up) and print
# verdicts/s, p50/p99 and attestd's CPU time per verdict (/proc/PID/stat).
# Alternating the variants on the same machine is what makes CPU time
# comparable on a machine shared with other work.
#
#   bench/ab.sh BUILD_DIR ROUNDS CLIENTS SECS "label|attestd binary|flags" ...
#
# BUILD_DIR provides tests/mknitro and bench/avload.  AB_ONESHOT=1: a
# connection per request (avload -1) instead of keep-alive.  Loopback only.
set -euo pipefail
if [ $# -lt 5 ]; then
	sed -n '2,13p' "$0" >&2
	exit 64
fi
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=$1 rounds=$2 clients=$3 secs=$4
shift 4
bench_workdir attestd-ab
mk=$build/tests/mknitro
load=$build/bench/avload
one=
[ "${AB_ONESHOT:-0}" = 1 ] && one=-1
"$mk" init "$work/pki" >/dev/null
"$mk" sign "$work/pki" "$work/warm.b64" --lines 1
bench_nitro_bodies warm
for r in $(seq "$rounds"); do
	for spec in "$@"; do
		IFS='|' read -r label bin args <<<"$spec"
		# shellcheck disable=SC2086 # $args: flags, split on spaces
		bench_start_attestd "$bin" "$work/log" \
		    --trust-dir "$work/pki/trust" $args
		"$load" -p "$port" -c "$clients" -d 1 -w 0 $one \
		    "$work/warm.bodies" >/dev/null || true
		c0=$(bench_cputicks)
		out=$("$load" -p "$port" -c "$clients" -d "$secs" -w 0 $one \
		    -e '"status":"affirming"' "$work/warm.bodies") || true
		c1=$(bench_cputicks)
		bench_stop_attestd
		$py -c '
import json, sys
r = json.loads(sys.argv[1])
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / float(sys.argv[4])
n = r["total_incl_warmup"] or 1
print("%-16s round %s c=%d: %7.1f verdicts/s  p50 %.3f  p99 %.3f ms  "
      "cpu %.3f ms/verdict  errors %d" % (sys.argv[5], sys.argv[6],
      r["clients"], r["rps"], r["p50_ms"], r["p99_ms"], 1e3 * cpu / n,
      r["errors"]))' "$out" "$c0" "$c1" "$hz" "$label" "$r"
	done
done
