#!/usr/bin/env bash
# attestd benchmark (a benchmark, not a test): starts a Release attestd on a
# free loopback port, drives it with bench/avload (closed loop, keep-alive)
# and reports verdicts/s and p50/p99 latency at 1, 2 and 8 clients for
#   nitro-warm     one Nitro document again and again (chain cache warm)
#   nitro-cold     every document has a leaf never seen before (cache cold);
#                  each cold row (and each repeat) gets its own slice of the
#                  documents, sized by the row's busy cores, so no row
#                  reuses another row's leaves; a row that sends more
#                  verdicts than its slice holds reuses its own leaves, so
#                  every row reports its chain-cache miss fraction
#                  (misses / verdicts, from attestd's /metrics)
#   nitro-invalid  a document with a bad signature (contraindicated verdict)
# then runs `openssl speed ecdsap384 ecdsap256` in the same run and prints
# the ratio of attestd's throughput to the crypto floor:
#   floor per core = 1 / (verifies / P-384 verify rate + 1 / P-256 sign rate)
#   (verifies per verdict: warm 1, invalid 1, cold 1 + the chain's 2 on
#   each chain-cache miss, as counted by attestd's metrics),
# multiplied by min(clients, cores).  On a shared machine the wall-clock
# ratio moves with other load; the CPU ratio (openssl speed counts CPU
# time; attestd's CPU time comes from /proc/PID/stat) does not.  Results go to
# $AV_BENCH_OUT (default: bench-results.json in the build directory).
#
# Knobs: AV_BENCH_SECONDS (5 per point), AV_BENCH_CLIENTS ("1 2 8"),
# AV_BENCH_COLD_DOCS (3000), AV_BENCH_SOAK_SECONDS (0: off; e.g. 300 to
# watch attestd's RSS under warm load at 2 clients), AV_BUILD_DIR
# (default build-bench), AV_BENCH_ATTESTD_ARGS (extra attestd flags, e.g.
# "--thread-model pool"), AV_BENCH_ONE_SHOT=1 (a connection per request
# instead of keep-alive), AV_BENCH_REPEAT (1: run every row this many
# times, interleaved, and summarise each by its median and range),
# AV_BENCH_ADJACENT_FLOOR=1 (after each row, N `openssl speed` processes
# at once, N = the row's busy cores, for a second CPU ratio against a
# floor measured next to the row by as many processes as attestd keeps
# busy; each counts its own CPU time, which `-multi` does not).
# Loopback only.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${AV_BUILD_DIR:-$root/build-bench}
secs=${AV_BENCH_SECONDS:-5}
clients=${AV_BENCH_CLIENTS:-1 2 8}
cold_docs=${AV_BENCH_COLD_DOCS:-3000}
soak=${AV_BENCH_SOAK_SECONDS:-0}
extra=${AV_BENCH_ATTESTD_ARGS:-}
repeat=${AV_BENCH_REPEAT:-1}
adjacent=${AV_BENCH_ADJACENT_FLOOR:-0}
oneshot=
[ "${AV_BENCH_ONE_SHOT:-0}" = 1 ] && oneshot=-1

bench_build attestd mknitro avload
bench_workdir attestd-bench

mk=$build/tests/mknitro
load=$build/bench/avload
# Cold slices: rows with c clients get cold_docs * min(c, cores) / wsum
# documents, wsum = repeat * the sum of min(c, cores) over $clients.
wsum=0
for c in $clients; do wsum=$((wsum + (c < cores ? c : cores))); done
wsum=$((wsum * repeat))
for c in $clients; do
	if [ $((cold_docs * (c < cores ? c : cores) / wsum)) -lt 1 ]; then
		echo "bench: AV_BENCH_COLD_DOCS=$cold_docs is too few for a slice per cold row" >&2
		exit 1
	fi
done
echo "bench: making documents (cold: $cold_docs fresh leaves) in $work"
"$mk" init "$work/pki"
"$mk" sign "$work/pki" "$work/warm.b64" --lines 1
"$mk" sign "$work/pki" "$work/invalid.b64" --lines 1 --corrupt-sig
"$mk" sign "$work/pki" "$work/cold.b64" --lines "$cold_docs" --fresh-leaf
bench_nitro_bodies warm cold invalid
next_doc=0	# the first document of the next cold row's slice

# shellcheck disable=SC2086 # $extra: flags, split on spaces
bench_start_attestd "$build/attestd" "$work/attestd.log" \
    --trust-dir "$work/pki/trust" $extra
echo "bench: attestd pid $pid on 127.0.0.1:$port, $cores cores"

metric() {
	$py - "$port" "$1" <<'EOF'
import sys, urllib.request
t = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1]).read().decode()
for l in t.splitlines():
    if l.startswith(sys.argv[2] + " "):
        print(l.split()[1]); break
else:
    print(0)
EOF
}

: >"$work/results.jsonl"
for _ in $(seq "$repeat"); do
for scen in warm cold invalid; do
	want=$(bench_want "$scen")
	for c in $clients; do
		bodies=$work/$scen.bodies
		slice=
		if [ "$scen" = cold ]; then
			nd=$((cold_docs * (c < cores ? c : cores) / wsum))
			bodies=$work/cold.slice
			sed -n "$((next_doc + 1)),$((next_doc + nd))p" \
			    "$work/cold.bodies" >"$bodies"
			slice=", \"docs\": $nd, \"first_doc\": $next_doc"
			echo "  nitro-cold c=$c: documents $next_doc-$((next_doc + nd - 1))"
			next_doc=$((next_doc + nd))
		fi
		m0=$(metric attestd_chain_cache_misses_total)
		c0=$(bench_cputicks)
		out=$("$load" -p "$port" -c "$c" -d "$secs" -w 1 -e "$want" \
		    $oneshot "$bodies") || true
		c1=$(bench_cputicks)
		m1=$(metric attestd_chain_cache_misses_total)
		adj=
		if [ "$adjacent" = 1 ]; then
			n=$((c < cores ? c : cores))
			spids=
			for k in $(seq "$n"); do
				openssl speed -seconds 1 ecdsap384 ecdsap256 \
				    2>/dev/null >"$work/adj$k.txt" &
				spids="$spids $!"
			done
			# shellcheck disable=SC2086
			wait $spids || true
			adj=$($py - "$work" "$n" <<'PY'
import os, re, sys
n = int(sys.argv[2])
v384, s256 = [], []
for k in range(1, n + 1):
    sp = {}
    for l in open(os.path.join(sys.argv[1], "adj%d.txt" % k)):
        m = re.match(r"\s*(\d+) bits ecdsa \((nistp\d+)\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", l)
        if m:
            sp[m.group(2)] = (float(m.group(3)), float(m.group(4)))
    if "nistp256" in sp and "nistp384" in sp:
        s256.append(sp["nistp256"][0])
        v384.append(sp["nistp384"][1])
if len(v384) == n:
    print(', "adjacent": {"procs": %d, "p256_sign_s": %.1f, "p384_verify_s": %.1f}' % (
        n, sum(s256) / n, sum(v384) / n))
PY
)
		fi
		echo "{\"scenario\": \"nitro-$scen\", \"misses\": $((m1 - m0)), \"cpu_s\": $(((c1 - c0) * 1000 / hz))e-3$slice, \"result\": $out$adj}" \
		    >>"$work/results.jsonl"
		echo "  nitro-$scen c=$c: $out"
	done
done
done

bench_openssl_speed ecdsap384 ecdsap256

if [ "$soak" -gt 0 ]; then
	echo "bench: soak ${soak}s at 2 clients (RSS of attestd every 10 s)"
	: >"$work/rss.txt"
	"$load" -p "$port" -c 2 -d "$soak" -w 0 -e '"status":"affirming"' \
	    "$work/warm.bodies" >"$work/soak.json" &
	lpid=$!
	while kill -0 "$lpid" 2>/dev/null; do
		awk '/VmRSS/ {print $2}' "/proc/$pid/status" >>"$work/rss.txt"
		sleep 10
	done
	wait "$lpid" || true
fi

AV_BENCH_OUT=${AV_BENCH_OUT:-$build/bench-results.json}
AV_BENCH_COMMIT=$(git -C "$root" describe --always --dirty 2>/dev/null || true)
export AV_BENCH_COMMIT
echo "bench: commit $AV_BENCH_COMMIT, attestd args: ${extra:-none}${oneshot:+, a connection per request}"
$py - "$work" "$cores" "$AV_BENCH_OUT" <<'EOF'
import json, os, re, sys
w, cores, outp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
speed = {}
for l in open(os.path.join(w, "speed.txt")):
    m = re.match(r"\s*(\d+) bits ecdsa \((nistp\d+)\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", l)
    if m:
        speed[m.group(2)] = (float(m.group(3)), float(m.group(4)))
s256, v256 = speed["nistp256"]
s384, v384 = speed["nistp384"]
verifies = {"nitro-warm": 1, "nitro-cold": 3, "nitro-invalid": 1}
rows = []
print()
print("P-384 verify/s %.0f, P-256 sign/s %.0f (openssl speed, one core); %d cores" % (v384, s256, cores))
print("ratio = verdicts/s / floor/s (wall clock); cpu ratio = floor CPU per verdict / attestd CPU per verdict")
print("miss % = chain-cache misses / verdicts (100% = every verdict verified a chain never seen before)")
print("%-14s %7s %10s %9s %9s %10s %7s %10s %9s %7s %7s" % ("scenario", "clients", "verdicts/s", "p50 ms", "p99 ms", "floor/s", "ratio", "cpu ms/v", "cpu ratio", "errors", "miss %"))
warnings = []
for line in open(os.path.join(w, "results.jsonl")):
    r = json.loads(line)
    res = r["result"]
    done = res.get("total_incl_warmup") or 1
    # Chain verifies happen only on cache misses (a cold run that wraps
    # around its documents turns warm): count what the daemon reported.
    nv = verifies[r["scenario"]]
    if r["scenario"] == "nitro-cold":
        nv = 1 + 2 * min(1.0, r["misses"] / done)
    floor_s = nv / v384 + 1.0 / s256   # CPU s per verdict
    floor = min(res["clients"], cores) / floor_s
    ratio = res["rps"] / floor
    cpu_per = r["cpu_s"] / done
    cpu_ratio = floor_s / cpu_per if cpu_per > 0 else 0
    extra = {"cache_miss_fraction": r["misses"] / done}
    if "docs" in r:
        # More verdicts than documents: leaves of the slice were reused
        # (with several clients, which start at different offsets, reuse
        # can begin earlier; the miss fraction says how much).
        extra["slice_wrapped"] = done > r["docs"]
        if extra["slice_wrapped"]:
            warnings.append("warning: %s c=%d sent %d verdicts over a slice of %d documents "
                            "(it wrapped around): only %.0f%% were chain-cache misses" % (
                            r["scenario"], res["clients"], done, r["docs"],
                            100 * extra["cache_miss_fraction"]))
    adj_s = ""
    if "adjacent" in r:
        a = r["adjacent"]
        afloor_s = nv / a["p384_verify_s"] + 1.0 / a["p256_sign_s"]
        extra["cpu_ratio_adjacent"] = afloor_s / cpu_per if cpu_per > 0 else 0
        adj_s = "   adjacent floor %.3f ms (%d procs): cpu ratio %.0f%%" % (
            1e3 * afloor_s, a["procs"], 100 * extra["cpu_ratio_adjacent"])
    rows.append(dict(r, floor=floor, ratio=ratio, cpu_ms_per_verdict=1e3 * cpu_per,
                     cpu_ratio=cpu_ratio, verifies_per_verdict=nv, **extra))
    print("%-14s %7d %10.1f %9.3f %9.3f %10.1f %6.0f%% %10.3f %8.0f%% %7d %6.0f%%%s" % (
        r["scenario"], res["clients"], res["rps"], res["p50_ms"], res["p99_ms"],
        floor, 100 * ratio, 1e3 * cpu_per, 100 * cpu_ratio, res["errors"],
        100 * extra["cache_miss_fraction"], adj_s))
for wl in warnings:
    print(wl)
doc = {"cores": cores, "openssl": {"p384_verify_s": v384, "p384_sign_s": s384,
       "p256_verify_s": v256, "p256_sign_s": s256}, "rows": rows,
       "commit": os.environ.get("AV_BENCH_COMMIT", ""),
       "attestd_args": os.environ.get("AV_BENCH_ATTESTD_ARGS", ""),
       "one_shot": os.environ.get("AV_BENCH_ONE_SHOT", "0") == "1"}
rss = os.path.join(w, "rss.txt")
if os.path.exists(rss):
    kb = [int(x) for x in open(rss).read().split()]
    soak = json.load(open(os.path.join(w, "soak.json")))
    doc["soak"] = {"rss_kb": kb, "result": soak}
    print("soak: %d verdicts/s, p99 %.3f ms, errors %d; RSS first %d KiB, last %d KiB, max %d KiB" % (
        soak["rps"], soak["p99_ms"], soak["errors"], kb[0], kb[-1], max(kb)))
groups = {}
for r in rows:
    groups.setdefault((r["scenario"], r["result"]["clients"]), []).append(r)
if any(len(g) > 1 for g in groups.values()):
    med = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else \
        (sorted(v)[len(v) // 2 - 1] + sorted(v)[len(v) // 2]) / 2
    print()
    print("summary over %d runs per row: median (min-max)" % max(len(g) for g in groups.values()))
    print("%-14s %7s %22s %22s %22s %16s" % ("scenario", "clients", "verdicts/s", "p99 ms", "cpu ratio %", "miss %"))
    doc["summary"] = []
    for (scen, c), g in groups.items():
        rps = [x["result"]["rps"] for x in g]
        p99 = [x["result"]["p99_ms"] for x in g]
        cr = [100 * x["cpu_ratio"] for x in g]
        ca = [100 * x["cpu_ratio_adjacent"] for x in g if "cpu_ratio_adjacent" in x]
        mp = [100 * x["cache_miss_fraction"] for x in g]
        print("%-14s %7d %22s %22s %22s %16s%s" % (scen, c,
              "%.0f (%.0f-%.0f)" % (med(rps), min(rps), max(rps)),
              "%.2f (%.2f-%.2f)" % (med(p99), min(p99), max(p99)),
              "%.0f (%.0f-%.0f)" % (med(cr), min(cr), max(cr)),
              "%.0f (%.0f-%.0f)" % (med(mp), min(mp), max(mp)),
              "   adjacent %.0f (%.0f-%.0f)" % (med(ca), min(ca), max(ca)) if ca else ""))
        s = {"scenario": scen, "clients": c, "runs": len(g),
             "rps": rps, "p99_ms": p99, "cpu_ratio_pct": cr, "cache_miss_pct": mp}
        if ca:
            s["cpu_ratio_adjacent_pct"] = ca
            s["cpu_ratio_adjacent_pct_median"] = med(ca)
            s["cpu_ratio_adjacent_pct_range"] = [min(ca), max(ca)]
        doc["summary"].append(s)
json.dump(doc, open(outp, "w"), indent=1)
print("results: " + outp)
EOF
