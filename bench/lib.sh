# bench/lib.sh: what the HTTP benchmark scripts (bench/run.sh, snp.sh,
# tdx.sh, tpm.sh, ab.sh) share.  Sourced, not run:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Safe under `set -euo pipefail`.  Sourcing sets root (the repository),
# py (Debian's python3), cores (nproc) and hz (clock ticks per second);
# the functions below use those and the caller's build, work, pid, port,
# secs and clients.  Loopback only; the only process any of them stops is
# the attestd they started ($pid).
# shellcheck shell=bash
# shellcheck disable=SC2154 # build, clients, secs: set by the caller

# shellcheck disable=SC2034 # root, py, cores and hz are for the callers
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py=/usr/bin/python3
cores=$(nproc)
hz=$(getconf CLK_TCK)

# bench_build TARGET...: configure $build as a Release build of $root and
# build the named targets in it, quietly.
bench_build() {
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$build" -j"$cores" --target "$@" >/dev/null
}

# bench_workdir PREFIX: make a fresh work directory $work under
# ${TMPDIR:-/tmp} named PREFIX.XXXXXX, and remove it (after stopping the
# attestd in $pid, if any) when the script exits.
bench_workdir() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	pid=
	trap bench_cleanup EXIT
}

# bench_cleanup: the EXIT trap set by bench_workdir.
bench_cleanup() {
	bench_stop_attestd
	rm -rf "$work"
}

# bench_start_attestd BINARY LOG [FLAG...]: start BINARY (an attestd) in
# the background on a free loopback port, with state in $work/state,
# policies from $work/policies, no per-IP limits, log level warn and the
# extra FLAGs (after ours, so they win), its stderr to LOG.  Waits up to
# 10 s for its port file; sets pid and port.  Exits with attestd's log if
# it did not start.
bench_start_attestd() {
	local bin=$1 log=$2
	shift 2
	rm -f "$work/port"
	"$bin" --listen 127.0.0.1:0 --port-file "$work/port" \
	    --state-dir "$work/state" --policies "$work/policies" \
	    --rate-per-ip 0 --max-conns-per-ip 0 --log-level warn "$@" \
	    2>"$log" &
	pid=$!
	for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
	if [ ! -s "$work/port" ]; then
		echo "bench: attestd did not start" >&2
		cat "$log" >&2
		exit 1
	fi
	port=$(cat "$work/port")
}

# bench_stop_attestd: stop the attestd in $pid (SIGTERM, then wait for
# it), if one is running, and clear pid.
bench_stop_attestd() {
	if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}

# bench_cputicks: attestd's CPU time so far (user + system, in clock
# ticks: divide by $hz), from /proc/$pid/stat.
bench_cputicks() {
	awk '{print $14 + $15}' "/proc/$pid/stat"
}

# bench_want SCENARIO: the string avload expects in every response: a
# contraindicated verdict for the scenario "invalid", else affirming.
bench_want() {
	if [ "$1" = invalid ]; then
		echo '"status":"contraindicated"'
	else
		echo '"status":"affirming"'
	fi
}

# bench_rows PREFIX SCENARIO...: for each SCENARIO and each client count
# in $clients, drive attestd on $port with $work/SCENARIO.bodies through
# avload for $secs seconds (after 1 s of warm-up) and append a row
#   {"scenario": "PREFIX-SCENARIO", "cpu_s": ..., "result": {avload's}}
# to $work/results.jsonl (emptied first); prints avload's result per row.
bench_rows() {
	local prefix=$1 scen c c0 c1 out
	shift
	: >"$work/results.jsonl"
	for scen in "$@"; do
		for c in $clients; do
			c0=$(bench_cputicks)
			out=$("$build/bench/avload" -p "$port" -c "$c" \
			    -d "$secs" -w 1 -e "$(bench_want "$scen")" \
			    "$work/$scen.bodies") || true
			c1=$(bench_cputicks)
			echo "{\"scenario\": \"$prefix-$scen\", \"cpu_s\": $(((c1 - c0) * 1000 / hz))e-3, \"result\": $out}" \
			    >>"$work/results.jsonl"
			echo "  $prefix-$scen c=$c: $out"
		done
	done
}

# bench_openssl_speed ALGORITHM...: `openssl speed -seconds 3` of the
# ALGORITHMs (one process, CPU time) into $work/speed.txt, for the
# script's report to parse.
bench_openssl_speed() {
	echo "bench: openssl speed (same machine, same run)"
	openssl speed -seconds 3 "$@" 2>/dev/null >"$work/speed.txt"
}

# bench_nitro_bodies NAME...: the policy bench-nitro (PCR0-2 of
# tests/mknitro's test documents) in $work/policies, and for each NAME a
# request body per document of $work/NAME.b64 in $work/NAME.bodies.
bench_nitro_bodies() {
	mkdir -p "$work/policies"
	$py - "$work" "$@" <<'PY'
import json, sys, os
w = sys.argv[1]
pcr = lambda i: bytes((i * 16 + j + 1) & 0xff for j in range(48)).hex()
json.dump({"id": "bench-nitro", "version": 1,
           "evidence": {"aws-nitro": {"pcr%d" % i: [pcr(i)] for i in range(3)}}},
          open(os.path.join(w, "policies", "bench-nitro.json"), "w"))
for name in sys.argv[2:]:
    with open(os.path.join(w, name + ".b64")) as f, \
         open(os.path.join(w, name + ".bodies"), "w") as out:
        for line in f:
            out.write(json.dumps({"policy": "bench-nitro", "evidence": [
                {"type": "aws-nitro", "data": line.strip()}]}) + "\n")
PY
}
