#!/usr/bin/env bash
# Quick start, command 2: install the build dependencies, build and run
# every test.  Stages:
#   1. gcc build with -Werror, full ctest (unit, vectors, fuzz replay, e2e);
#   2. ASan+UBSan build (separate build dir), full ctest again;
#   3. if clang is present: libFuzzer build (clang, -Werror: the library is
#      warning-clean under both compilers), each fuzz target run for
#      AV_FUZZ_SECONDS (default 20, less when AV_FUZZ_BUDGET seconds,
#      default 300, would not cover every target; at least 5) over a copy
#      of its seeds.
# Exits non-zero if any stage fails.  Environment knobs:
#   AV_TEST_STAGES   stages to run (default "main asan fuzz")
#   AV_FUZZ_SECONDS  seconds per fuzz target (default 20)
#   AV_FUZZ_BUDGET   seconds for all fuzz targets together (default 300)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
stages=${AV_TEST_STAGES:-main asan fuzz}
fuzz_s=${AV_FUZZ_SECONDS:-20}
fuzz_budget=${AV_FUZZ_BUDGET:-300}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/attestd-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

npass=0; nfail=0; nskip=0; failed_stages=()
t0=$SECONDS

say() { printf '\n=== %s (%ds) ===\n' "$*" $((SECONDS - t0)); }

# Run ctest in build dir $1 (extra args after), tee the output and add its
# counts to the totals.
run_ctest() {
	local dir=$1 name=$2 log total failed skipped rc
	shift 2
	log="$logdir/ctest-$name.log"
	(cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	total=$(sed -n 's/.* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
	failed=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
	skipped=$(grep -c '(Skipped)$' "$log")
	total=${total:-0}; failed=${failed:-0}
	if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1	# ctest itself failed (no tests, bad config)
	fi
	npass=$((npass + total - failed - skipped))
	nfail=$((nfail + failed))
	nskip=$((nskip + skipped))
	return "$rc"
}

stage_failed() { failed_stages+=("$1"); echo "test.sh: stage '$1' FAILED" >&2; }

say "setup"
if ! bash "$root/scripts/setup.sh"; then
	echo "test.sh: setup failed" >&2
	exit 1
fi

# ---- 1. main build: gcc, -Werror, every test ------------------------------
if [[ " $stages " == *" main "* ]]; then
	say "main build (-DAV_WERROR=ON)"
	b="$root/build"
	if cmake -S "$root" -B "$b" -DAV_WERROR=ON &&
	    cmake --build "$b" -j"$jobs"; then
		say "ctest (main)"
		run_ctest "$b" main || stage_failed main
	else
		nfail=$((nfail + 1)); stage_failed "main build"
	fi
fi

# ---- 2. ASan + UBSan -------------------------------------------------------
if [[ " $stages " == *" asan "* ]]; then
	say "ASan+UBSan build"
	b="$root/build-asan"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	if cmake -S "$root" -B "$b" -DAV_WERROR=ON -DAV_ASAN=ON -DAV_UBSAN=ON \
	    -DCMAKE_BUILD_TYPE=Debug &&
	    cmake --build "$b" -j"$jobs"; then
		say "ctest (ASan+UBSan)"
		run_ctest "$b" asan || stage_failed asan
	else
		nfail=$((nfail + 1)); stage_failed "asan build"
	fi
fi

# ---- 3. libFuzzer: a short run of each target over its seeds -------------
if [[ " $stages " == *" fuzz "* ]]; then
	if ! command -v clang >/dev/null; then
		say "libFuzzer: skipped (clang not installed)"
	else
		say "libFuzzer build (clang)"
		b="$root/build-fuzz"
		targets=()
		for f in "$root"/tests/fuzz/fuzz_*.c; do
			[ -e "$f" ] || continue
			n=$(basename "$f" .c)
			targets+=("$n")
		done
		if [ "${#targets[@]}" -gt 0 ] &&
		    [ $((fuzz_s * ${#targets[@]})) -gt "$fuzz_budget" ]; then
			fuzz_s=$((fuzz_budget / ${#targets[@]}))
			[ "$fuzz_s" -lt 5 ] && fuzz_s=5
		fi
		if [ "${#targets[@]}" -eq 0 ]; then
			echo "no fuzz targets"
		elif CC=clang cmake -S "$root" -B "$b" -DAV_FUZZ=ON \
		    -DAV_ASAN=ON -DAV_UBSAN=ON -DAV_WERROR=ON &&
		    cmake --build "$b" -j"$jobs" --target "${targets[@]}"; then
			for t in "${targets[@]}"; do
				name=${t#fuzz_}
				seeds=$(sed -n "s/^ *\"$name=\([^\"]*\)\".*/\1/p" \
				    "$root/tests/fuzz/CMakeLists.txt" | head -1)
				corpus="$logdir/corpus-$name"
				mkdir -p "$corpus"
				if [ -n "$seeds" ] && [ -d "$root/evidence/$seeds" ]; then
					find "$root/evidence/$seeds" -type f \
					    ! -name '*.expect' -exec cp {} "$corpus/" \;
				fi
				say "fuzz $t (${fuzz_s}s, $(ls "$corpus" | wc -l) seeds)"
				if "$b/tests/fuzz/$t" -max_total_time="$fuzz_s" \
				    -rss_limit_mb=2048 -print_final_stats=1 \
				    -artifact_prefix="$logdir/$t-" "$corpus" \
				    >"$logdir/$t.log" 2>&1; then
					tail -n 12 "$logdir/$t.log"
					npass=$((npass + 1))
				else
					tail -n 60 "$logdir/$t.log"
					for a in "$logdir/$t-"*; do
						[ -e "$a" ] || continue
						echo "crash input ($a), base64:"
						base64 -w0 "$a" | head -c 20000; echo
					done
					nfail=$((nfail + 1)); stage_failed "fuzz $t"
				fi
			done
		else
			nfail=$((nfail + 1)); stage_failed "fuzz build"
		fi
	fi
fi

say "done"
if [ "${#failed_stages[@]}" -ne 0 ]; then
	echo "failed stages: ${failed_stages[*]}"
fi
echo "summary: $npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ] && [ "${#failed_stages[@]}" -eq 0 ]
