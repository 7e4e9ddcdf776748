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
build=$1 rounds=$2 clients=$3 secs=$4
shift 4
py=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/attestd-ab.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
mk=$build/tests/mknitro
load=$build/bench/avload
one=
[ "${AB_ONESHOT:-0}" = 1 ] && one=-1
"$mk" init "$work/pki" >/dev/null
"$mk" sign "$work/pki" "$work/warm.b64" --lines 1
mkdir -p "$work/policies"
$py - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
pcr = lambda i: bytes((i * 16 + j + 1) & 0xff for j in range(48)).hex()
json.dump({"id": "bench-nitro", "version": 1,
           "evidence": {"aws-nitro": {"pcr%d" % i: [pcr(i)] for i in range(3)}}},
          open(os.path.join(w, "policies", "bench-nitro.json"), "w"))
line = open(os.path.join(w, "warm.b64")).read().strip()
with open(os.path.join(w, "warm.bodies"), "w") as f:
    f.write(json.dumps({"policy": "bench-nitro", "evidence": [
        {"type": "aws-nitro", "data": line}]}) + "\n")
PY
hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
	for spec in "$@"; do
		IFS='|' read -r label bin args <<<"$spec"
		rm -f "$work/port"
		# shellcheck disable=SC2086
		"$bin" --listen 127.0.0.1:0 --port-file "$work/port" \
		    --state-dir "$work/state" --policies "$work/policies" \
		    --trust-dir "$work/pki/trust" --rate-per-ip 0 \
		    --max-conns-per-ip 0 --log-level warn $args 2>"$work/log" &
		pid=$!
		for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
		port=$(cat "$work/port")
		"$load" -p "$port" -c "$clients" -d 1 -w 0 $one \
		    "$work/warm.bodies" >/dev/null || true
		c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		out=$("$load" -p "$port" -c "$clients" -d "$secs" -w 0 $one \
		    -e '"status":"affirming"' "$work/warm.bodies") || true
		c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
		pid=
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
