#!/usr/bin/env bash
# attestd TPM quote benchmark (a benchmark, not a test), beside
# bench/run.sh: takes real quotes from a private swtpm
# (tests/tools/swtpm-quote.sh: RSA-2048 RSASSA and ECDSA P-256 AKs, three
# PCR banks), starts a Release attestd on a free loopback port with a
# policy enrolling those AKs and listing a PCR, drives it with bench/avload
# and reports verdicts/s and p50/p99 latency at 1, 2 and 8 clients for
#   tpm-rsa      the RSA-2048 AK's quote again and again
#   tpm-ecc      the P-256 AK's quote again and again
#   tpm-invalid  the RSA quote with a flipped signature bit
# then, in the same run, `openssl speed rsa2048 ecdsap256` (the floor:
# one AK signature verification plus one ES256 verdict signature per
# request, per core, times min(clients, cores)) and tpm2_checkquote on the
# same quote files, one process per check as tools use it.  "ratio" is
# wall clock; "cpu ratio" is the floor's CPU time per verdict over
# attestd's (from /proc/PID/stat), which holds on a machine shared with
# other work.
# Knobs: AV_BENCH_SECONDS (5), AV_BENCH_CLIENTS ("1 2 8"),
# AV_BENCH_CHECKQUOTE (100 runs), AV_BUILD_DIR (build-bench), AV_BENCH_OUT
# (tpm-bench-results.json in the build dir).  Loopback only; the swtpm and
# attestd started here are the only processes stopped.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
build=${AV_BUILD_DIR:-$root/build-bench}
secs=${AV_BENCH_SECONDS:-5}
clients=${AV_BENCH_CLIENTS:-1 2 8}
ncq=${AV_BENCH_CHECKQUOTE:-100}

for t in swtpm tpm2_quote tpm2_checkquote openssl; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "bench: $t not installed; TPM benchmark skipped"
		exit 0
	fi
done

bench_build attestd avload
bench_workdir attestd-tpm-bench

nonce=$(od -An -tx1 -N32 -v /dev/urandom | tr -d ' \n')
echo "bench: quotes from a private swtpm in $work"
bash "$root/tests/tools/swtpm-quote.sh" "$work/q" "$nonce" >/dev/null
for k in rsa ecc; do
	openssl pkey -pubin -in "$work/q/$k.pem" -outform DER \
	    -out "$work/q/$k.spki"
done
mkdir -p "$work/policies"
$py - "$work" <<'EOF'
import base64, hashlib, json, os, sys
w = sys.argv[1]
q = os.path.join(w, "q")
rd = lambda n: open(os.path.join(q, n), "rb").read()
b64 = lambda b: base64.b64encode(b).decode()
sizes = {"sha1": 20, "sha256": 32, "sha384": 48}
pcrs = {}
for bank, n in sizes.items():
    v = rd("pcrs.%s.bin" % bank)
    pcrs[bank] = {str(i): v[i * n:(i + 1) * n].hex() for i in range(24)}
json.dump({"id": "bench-tpm", "version": 1, "evidence": {"tpm": {
    "enrolled_aks": [hashlib.sha256(rd(k + ".spki")).hexdigest()
                     for k in ("rsa", "ecc")],
    "pcrs": {"sha256": {"0": pcrs["sha256"]["0"]}}}}},
    open(os.path.join(w, "policies", "bench-tpm.json"), "w"))
def body(k, sig):
    return json.dumps({"policy": "bench-tpm", "evidence": [{
        "type": "tpm", "data": b64(rd(k + ".msg")), "signature": b64(sig),
        "ak_pub": b64(rd(k + ".pub")), "pcrs": pcrs}]}) + "\n"
open(os.path.join(w, "rsa.bodies"), "w").write(body("rsa", rd("rsa.sig")))
open(os.path.join(w, "ecc.bodies"), "w").write(body("ecc", rd("ecc.sig")))
bad = bytearray(rd("rsa.sig"))
bad[-1] ^= 1
open(os.path.join(w, "invalid.bodies"), "w").write(body("rsa", bytes(bad)))
EOF

bench_start_attestd "$build/attestd" "$work/attestd.log"
echo "bench: attestd pid $pid on 127.0.0.1:$port, $cores cores"

bench_rows tpm rsa ecc invalid

echo "bench: tpm2_checkquote x $ncq per quote (same quote files)"
: >"$work/checkquote.txt"
for k in rsa ecc; do
	t0=$(date +%s.%N)
	for _ in $(seq "$ncq"); do
		tpm2_checkquote -u "$work/q/$k.pub" -m "$work/q/$k.msg" \
		    -s "$work/q/$k.sig" -f "$work/q/pcrs.serialized" \
		    -g sha256 -q "$nonce" >/dev/null
	done
	t1=$(date +%s.%N)
	echo "$k $t0 $t1" >>"$work/checkquote.txt"
done

bench_openssl_speed rsa2048 ecdsap256

AV_BENCH_OUT=${AV_BENCH_OUT:-$build/tpm-bench-results.json}
$py - "$work" "$cores" "$ncq" "$AV_BENCH_OUT" <<'EOF'
import json, os, re, sys
w, cores, ncq, outp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rsa_v = p256_s = p256_v = None
for l in open(os.path.join(w, "speed.txt")):
    m = re.match(r"\s*rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", l)
    if m:
        rsa_v = float(m.group(2))
    m = re.match(r"\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", l)
    if m:
        p256_s, p256_v = float(m.group(1)), float(m.group(2))
cq = {}
for l in open(os.path.join(w, "checkquote.txt")):
    k, t0, t1 = l.split()
    cq[k] = ncq / (float(t1) - float(t0))
print()
print("RSA-2048 verify/s %.0f, P-256 verify/s %.0f, P-256 sign/s %.0f "
      "(openssl speed, one core); %d cores" % (rsa_v, p256_v, p256_s, cores))
print("tpm2_checkquote: rsa %.1f/s, ecc %.1f/s (one process per check)" %
      (cq["rsa"], cq["ecc"]))
print("%-12s %7s %10s %9s %9s %10s %7s %9s %9s %9s %7s" % ("scenario",
      "clients", "verdicts/s", "p50 ms", "p99 ms", "floor/s", "ratio",
      "cpu ms/v", "cpu ratio", "vs check", "errors"))
rows = []
for line in open(os.path.join(w, "results.jsonl")):
    r = json.loads(line)
    res = r["result"]
    verify = p256_v if r["scenario"] == "tpm-ecc" else rsa_v
    floor_s = 1.0 / verify + 1.0 / p256_s      # CPU s per verdict
    floor = min(res["clients"], cores) / floor_s
    ratio = res["rps"] / floor
    done = res.get("total_incl_warmup") or 1
    cpu_per = r["cpu_s"] / done
    cpu_ratio = floor_s / cpu_per if cpu_per > 0 else 0
    ck = cq["ecc" if r["scenario"] == "tpm-ecc" else "rsa"]
    rows.append(dict(r, floor=floor, ratio=ratio, checkquote_per_s=ck,
                     cpu_ms_per_verdict=1e3 * cpu_per, cpu_ratio=cpu_ratio))
    print("%-12s %7d %10.1f %9.3f %9.3f %10.1f %6.0f%% %9.3f %8.0f%% %8.0fx %7d" % (
        r["scenario"], res["clients"], res["rps"], res["p50_ms"],
        res["p99_ms"], floor, 100 * ratio, 1e3 * cpu_per, 100 * cpu_ratio,
        res["rps"] / ck, res["errors"]))
json.dump({"cores": cores, "openssl": {"rsa2048_verify_s": rsa_v,
           "p256_verify_s": p256_v, "p256_sign_s": p256_s},
           "tpm2_checkquote_per_s": cq, "rows": rows}, open(outp, "w"),
          indent=1)
print("results: " + outp)
EOF
